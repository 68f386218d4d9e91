// Package cmd is anchor's command tree. NewRootCmd builds a fresh tree each time (no globals),
// so tests can build as many as they like.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK      = 0
	ExitFailure = 1
	// ExitUsage is for bad command lines: unknown commands and flags, malformed arguments, and
	// for `toml validate` a file that cannot be read.
	ExitUsage = 2
	// ExitUnavailable: a dependency could not be reached (Horizon, a domain, the server's socket),
	// so the command could not check or act.
	ExitUnavailable = 3
)

// unavailable reports errors of a dependency that could not be reached.
func unavailable(err error) bool {
	var fe *stellartoml.FetchError
	return errors.Is(err, horizon.ErrUnavailable) || errors.Is(err, admin.ErrUnreachable) || (errors.As(err, &fe) && fe.Unreachable)
}

// idArg validates a command's one argument as an anchor id or a prefix of one (at least 4
// characters; customers and transactions are UUIDs), so that a mistyped id is a usage error
// found before anything is read. The command then resolves a prefix to the one id it names.
func idArg(what string) cobra.PositionalArgs {
	return cobra.MatchAll(cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		if !uuidRE.MatchString(args[0]) {
			return usageError{fmt.Errorf("%q is not a %s id (like 7c1e4f2a-1b2c-4d3e-8f90-0123456789ab, or a unique prefix such as 7c1e)", args[0], what)}
		}
		return nil
	})
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F][0-9a-fA-F-]{3,35}(\.\.\.)?$`)

// ExitError carries an exit code with an error; a nil Err exits silently.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks an error in how the command was called.
type usageError struct{ error }

// Version is set at build time with -ldflags "-X github.com/anchorkit/anchor/cmd.Version=...";
// a plain go build or go install reports the module version or VCS revision from the build info.
var Version = "dev"

func version() string {
	if Version != "dev" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// Main runs anchor with the process's arguments and returns the exit code.
func Main() int {
	f := NewFactory()
	root := NewRootCmd(f)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore default handling so a second one ends the process.
		<-ctx.Done()
		stop()
	}()
	err := root.ExecuteContext(ctx)
	return printError(f, root, err)
}

func printError(f *Factory, root *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(f.IO.ErrOut, "anchor: "+oneLine(ee.Err.Error()))
		}
		return ee.Code
	}
	if unavailable(err) {
		fmt.Fprintln(f.IO.ErrOut, "anchor: "+oneLine(err.Error()))
		return ExitUnavailable
	}
	// Held by the two-person rule: done as far as one person may (exit 0), said on stdout.
	var held interface{ Proposed() bool }
	if errors.As(err, &held) && held.Proposed() {
		fmt.Fprintln(f.IO.Out, oneLine(err.Error()))
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(f.IO.ErrOut, "anchor: "+oneLine(err.Error()))
		fmt.Fprintln(f.IO.ErrOut, "Try: anchor --help  (or: anchor COMMAND --help)")
		return ExitUsage
	}
	fmt.Fprintln(f.IO.ErrOut, "anchor: "+oneLine(err.Error()))
	return ExitFailure
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "anchor",
		Short: "Run a Stellar fiat anchor: SEP-1, 10, 12, 6, 24 and 38, the treasury and the tools around them",
		Long: `anchor runs everything wallets need to deposit and withdraw an anchor's token: the
stellar.toml (SEP-1), web authentication (SEP-10), KYC (SEP-12), transfers (SEP-6, and SEP-24
with anchor's own pages) and quotes (SEP-38); moves the money on-chain (credit, burn,
reconcile); and gives compliance, operations and the business's programs their tools.

Configuration comes from flags, then ANCHOR_* environment variables, then the config file
(anchor.yaml, or --config / ANCHOR_CONFIG), then defaults.`,
		Example: `  anchor init --dir ./anchor --home-domain localhost:8000 --network testnet
  anchor serve --config ./anchor/anchor.yaml
  anchor toml validate http://localhost:8000`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			if fl := cmd.Flags().Lookup("config"); fl != nil && fl.Changed {
				f.ConfigExplicit = true
			}
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	root.PersistentFlags().StringVarP(&f.ConfigFile, "config", "c", "", "config file (env: ANCHOR_CONFIG; default ./anchor.yaml)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newInitCmd(f, nil),
		newConfigCmd(f),
		newServeCmd(f, nil),
		newTOMLCmd(f),
		newKYCCmd(f),
		newTxCmd(f),
		newDepositCmd(f),
		newWithdrawCmd(f),
		newCreditCmd(f),
		newBurnCmd(f),
		newReconcileCmd(f),
		newPaymentCmd(f),
		newApproveCmd(f),
		newApprovalsCmd(f),
		newSubmitCmd(f),
		newSignCmd(f),
		newBackupCmd(f),
		newRestoreCmd(f),
		newStoreCmd(f),
		newDoctorCmd(f),
		newAccountCmd(f),
		newAPIKeyCmd(f),
		newEventsCmd(f),
		newQuoteCmd(f),
		newDevCmd(f),
	)
	strictGroups(root)
	completions(f, root)
	return root
}

// strictGroups makes every command group refuse an unknown subcommand with a usage error (exit
// 2) and a suggestion, where cobra would print the group's help and exit 0, which a script would
// take for success. A group called alone still prints its help.
func strictGroups(c *cobra.Command) {
	for _, s := range c.Commands() {
		strictGroups(s)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.SuggestionsMinimumDistance = 2
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{errors.New(msg)}
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
}

// configFlags maps config keys to the flags of cmd that override them.
func configFlags(cmd *cobra.Command, keys map[string]string) map[string]*pflag.Flag {
	out := map[string]*pflag.Flag{}
	for key, name := range keys {
		out[key] = cmd.Flags().Lookup(name)
	}
	return out
}

// safe shows a value that came from outside (a wallet, the ledger) on a terminal, escaped.
func safe(s string) string { return iostreams.Safe(s) }
