package cmd

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/views"
	"github.com/anchorkit/anchor/internal/web"
)

// ConfigShowOptions are the flags of anchor config show.
type ConfigShowOptions struct {
	IO   *iostreams.IOStreams
	Load func() (*config.Config, error)
	JSON bool
}

func newConfigCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	cmd.AddCommand(newConfigShowCmd(f, nil))
	return cmd
}

func newConfigShowCmd(f *Factory, runF func(*ConfigShowOptions) error) *cobra.Command {
	opts := &ConfigShowOptions{IO: f.IO, Load: func() (*config.Config, error) { return f.RawConfig(nil) }}
	cmd := &cobra.Command{
		Use:   "show [--json]",
		Short: "Print the effective configuration, where each value came from, with secrets redacted",
		Example: `  anchor config show --config ./anchor/anchor.yaml
  ANCHOR_LISTEN=127.0.0.1:9000 anchor config show --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return configShowRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// configKeyJSON is one key of `config show --json`; the field names are a contract.
// configShowJSON is `config show --json` (docs/json.md, ConfigShow).
type configShowJSON struct {
	File          string          `json:"file"`
	Keys          []configKeyJSON `json:"keys"`
	Documentation any             `json:"documentation"`
	Principals    any             `json:"principals"`
	Assets        any             `json:"assets"`
}

// configKeyJSON is one key of `config show --json`.
type configKeyJSON struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Env    string `json:"env"`
}

func configShowRun(opts *ConfigShowOptions) error {
	cfg, err := opts.Load()
	if err != nil {
		return err
	}
	eff := cfg.Effective()
	if opts.JSON {
		out := configShowJSON{File: cfg.File, Keys: []configKeyJSON{}, Documentation: views.ConfigTree(cfg.Documentation),
			Principals: views.ConfigTree(cfg.Principals), Assets: views.ConfigTree(cfg.Assets)}
		for _, k := range eff {
			out.Keys = append(out.Keys, configKeyJSON{Key: k[0], Value: k[1], Source: k[2], Env: config.EnvName(k[0])})
		}
		if err := writeJSON(opts.IO.Out, out); err != nil {
			return err
		}
	} else {
		file := cfg.File
		if file == "" {
			file = "(none)"
		}
		fmt.Fprintf(opts.IO.Out, "# config file: %s\n", file)
		tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
		for _, k := range eff {
			fmt.Fprintf(tw, "%s\t%q\t# %s\n", k[0], k[1], k[2])
		}
		tw.Flush()
		fmt.Fprintf(opts.IO.Out, "documentation.org_name\t%q\n", cfg.Documentation.OrgName)
		for i, a := range cfg.Assets {
			fmt.Fprintf(opts.IO.Out, "assets[%d]\t%s:%s deposit=%v withdraw=%v\n", i, a.Code, a.Issuer, a.Deposit.Enabled, a.Withdraw.Enabled)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	// The pages' logo and texts are checked as anchor serve checks them at start.
	_, err = web.NewBrand(cfg)
	return err
}
