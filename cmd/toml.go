package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/sep1"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

func newTOMLCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "toml",
		Short: "Generate and validate stellar.toml files (SEP-1)",
	}
	cmd.AddCommand(newTOMLGenerateCmd(f, nil), newTOMLValidateCmd(f, nil))
	return cmd
}

// TOMLGenerateOptions are the flags of anchor toml generate.
type TOMLGenerateOptions struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Output string
}

func newTOMLGenerateCmd(f *Factory, runF func(*TOMLGenerateOptions) error) *cobra.Command {
	opts := &TOMLGenerateOptions{IO: f.IO, Config: func() (*config.Config, error) { return f.Config(nil) }}
	cmd := &cobra.Command{
		Use:   "generate [-o FILE]",
		Short: "Render the stellar.toml that anchor serve publishes, from the configuration",
		Example: `  anchor toml generate --config ./anchor/anchor.yaml
  anchor toml generate -o public/.well-known/stellar.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return tomlGenerateRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to FILE instead of standard output")
	return cmd
}

func tomlGenerateRun(opts *TOMLGenerateOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if err := cfg.Require("anchor toml generate", "signing_secret"); err != nil {
		return err
	}
	body, err := sep1.Render(cfg)
	if err != nil {
		return err
	}
	if opts.Output == "" || opts.Output == "-" {
		_, err = opts.IO.Out.Write(body)
		return err
	}
	if err := os.WriteFile(opts.Output, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Wrote %s\n", opts.Output)
	return nil
}

// TOMLValidateOptions are the flags of anchor toml validate.
type TOMLValidateOptions struct {
	IO      *iostreams.IOStreams
	Target  string
	Strict  bool
	JSON    bool
	Timeout time.Duration
	// HTTP fetches URLs and domains; a client with Timeout when nil.
	HTTP *http.Client
}

func newTOMLValidateCmd(f *Factory, runF func(context.Context, *TOMLValidateOptions) error) *cobra.Command {
	opts := &TOMLValidateOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "validate FILE|URL|DOMAIN [--strict] [--json]",
		Short: "Check a stellar.toml against every SEP-1 rule",
		Long: `Check a stellar.toml file, URL or domain against SEP-1. For a domain, fetch
https://DOMAIN/.well-known/stellar.toml (http only for localhost) and also check how it is served:
status 200, Content-Type text/plain or application/toml, Access-Control-Allow-Origin: * and the
100 KB limit. "-" reads standard input.

Exit codes: 0 valid; 1 findings of error severity (or any finding with --strict); 2 could not read.`,
		Example: `  anchor toml validate ./stellar.toml
  anchor toml validate http://localhost:8000
  anchor toml validate stellar.org --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("validate takes one FILE, URL or DOMAIN")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tomlValidateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "treat warnings as errors")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the findings as a JSON array")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Second, "timeout for fetching a URL or domain")
	return cmd
}

func tomlValidateRun(ctx context.Context, opts *TOMLValidateOptions) error {
	data, served, source, err := readTOMLTarget(ctx, opts)
	var fe *stellartoml.FetchError
	switch {
	case errors.As(err, &fe) && fe.Unreachable:
		return &ExitError{Code: ExitUnavailable, Err: err} // could not check
	case errors.As(err, &fe) && fe.Status != 0:
		return &ExitError{Code: ExitFailure, Err: err} // checked: the domain serves no stellar.toml
	case err != nil:
		return &ExitError{Code: ExitUsage, Err: err}
	}
	findings := served
	if data != nil {
		findings = append(findings, stellartoml.Validate(data)...)
	}
	if findings == nil {
		findings = []stellartoml.Finding{}
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(opts.IO.Out, f.String())
		}
		nErr, nWarn := 0, 0
		for _, f := range findings {
			if f.Severity == stellartoml.SeverityError {
				nErr++
			} else {
				nWarn++
			}
		}
		verdict := "valid"
		if stellartoml.HasErrors(findings, opts.Strict) {
			verdict = "invalid"
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: %s (%d error(s), %d warning(s))\n", source, verdict, nErr, nWarn)
	}
	if stellartoml.HasErrors(findings, opts.Strict) {
		return &ExitError{Code: ExitFailure}
	}
	return nil
}

// readTOMLTarget reads a file, stdin, URL or domain. For URLs and domains it also returns the
// findings about how the file was served.
func readTOMLTarget(ctx context.Context, opts *TOMLValidateOptions) ([]byte, []stellartoml.Finding, string, error) {
	t := opts.Target
	if t == "-" {
		b, err := io.ReadAll(io.LimitReader(opts.IO.In, stellartoml.MaxSize+1))
		return b, nil, "<stdin>", err
	}
	if !strings.Contains(t, "://") {
		if fi, err := os.Stat(t); err == nil {
			if fi.IsDir() {
				return nil, nil, t, fmt.Errorf("%s is a directory", t)
			}
			fh, err := os.Open(t)
			if err != nil {
				return nil, nil, t, err
			}
			defer fh.Close()
			b, err := io.ReadAll(io.LimitReader(fh, stellartoml.MaxSize+1))
			return b, nil, t, err
		}
		if strings.ContainsAny(t, "/\\") || strings.HasSuffix(t, ".toml") {
			return nil, nil, t, fmt.Errorf("%s: no such file", t)
		}
	}
	hc := opts.HTTP
	if hc == nil {
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		hc = &http.Client{Timeout: timeout}
	}
	f, err := stellartoml.Fetch(ctx, hc, t)
	if err != nil {
		return nil, nil, t, err
	}
	return f.Body, f.Findings, f.URL, nil
}
