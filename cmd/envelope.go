package cmd

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/treasury"
)

func newSignCmd(f *Factory) *cobra.Command {
	var network, out string
	cmd := &cobra.Command{
		Use:   "sign FILE [--key-prompt] [--network testnet|public|PASSPHRASE] [--out FILE]",
		Short: "Add a signature to an envelope prepared with --xdr-out, offline",
		Long: `Show what the envelope does (source, operations, validity, hash), then add the signature of a
key typed at a hidden prompt (or read from standard input) and write the envelope back to FILE
(or --out). Nothing is contacted: run it on an air-gapped machine with the file and this binary.
The network comes from --network, or from the configuration when one is found. Repeat with each
signer's key, then run anchor submit FILE where anchor runs.`,
		Example: "  anchor sign credit-7c1e.xdr --network public\n  anchor submit credit-7c1e.xdr",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			passphrase := ""
			if network == "" {
				cfg, err := f.Config(nil)
				if err != nil {
					return usageError{errors.New("no configuration here to take the network from: give --network testnet|public|PASSPHRASE")}
				}
				passphrase = cfg.NetworkPassphrase
			} else {
				p, ok := config.Networks[network]
				if !ok {
					p = network
				}
				passphrase = p
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			env, err := treasury.ReadEnvelope(string(raw), passphrase)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			printEnvelope(f, env, passphrase)
			kp, err := promptKey(f, "signing")
			if err != nil {
				return err
			}
			signed, err := env.Sign(passphrase, kp)
			if err != nil {
				return err
			}
			dst := args[0]
			if out != "" {
				dst = out
			}
			if err := os.WriteFile(dst, []byte(signed+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "signed by %s (%d signature(s) now); wrote %s\n", kp.Address(), env.Signatures+1, dst)
			return nil
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "testnet, public, or a network passphrase (default: the configuration's)")
	cmd.Flags().StringVar(&out, "out", "", "write the signed envelope here instead of over FILE")
	cmd.Flags().Bool("key-prompt", true, "read the key at a hidden prompt (the only way: keys are never taken from flags)")
	return cmd
}

func printEnvelope(f *Factory, env *treasury.Envelope, passphrase string) {
	w := f.IO.ErrOut
	fmt.Fprintf(w, "network:     %s\nsource:      %s (sequence %d)\n", passphrase, env.Source, env.Seq)
	for _, o := range env.Operations {
		fmt.Fprintf(w, "operation:   %s\n", o)
	}
	if !env.MaxTime.IsZero() {
		fmt.Fprintf(w, "valid until: %s\n", env.MaxTime.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "hash:        %s\nsignatures:  %d\n", env.Hash, env.Signatures)
}

func newSubmitCmd(f *Factory) *cobra.Command {
	var by string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "submit FILE [--dry-run]",
		Short: "Weigh an envelope's signatures, then submit it, exactly once",
		Long: `Submit a transaction envelope that anchor prepared (credit, burn or set-home-domain with
--xdr-out) and that was signed elsewhere (anchor sign, multisig, an air-gapped machine). First
the signatures are weighed against each account's signers and thresholds on the network: the
report says, per account, the weight needed and present and who has not signed yet; a short
envelope is refused (exit 1) and nothing is sent. Only an envelope whose hash is one of anchor's
stored actions is accepted; it is then resumed like any other action, so submitting the same
file twice does nothing more. --dry-run prints the report only.`,
		Example: "  anchor submit credit-7c1e.xdr --dry-run\n  anchor submit credit-7c1e.xdr",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				w, err := c.Weights(cmd.Context(), strings.TrimSpace(string(b)))
				if err != nil {
					return err
				}
				for _, a := range w.Accounts {
					mark := "enough"
					if a.Present < a.Needed {
						mark = "SHORT"
					}
					fmt.Fprintf(f.IO.Out, "%s: weight %d of %d (%s threshold): %s\n", a.Account, a.Present, a.Needed, a.Level, mark)
					for _, s := range a.Signers {
						state := "not signed"
						if s.Signed {
							state = "signed"
						}
						fmt.Fprintf(f.IO.Out, "  %s weight %d: %s\n", s.Key, s.Weight, state)
					}
				}
				if w.Unknown > 0 {
					fmt.Fprintf(f.IO.Out, "%d signature(s) match no signer: the network would refuse the envelope\n", w.Unknown)
				}
				if !w.Enough {
					return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s is short of signatures: %s; nothing was submitted (add them with anchor sign %s)", args[0], w.Short(), args[0])}
				}
				if dryRun {
					fmt.Fprintln(f.IO.Out, "dry run: the signatures are enough; nothing was submitted")
					return nil
				}
				op, err := c.Submit(cmd.Context(), string(b), reviewer(by))
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "%s: %s %s\n", op.ID, op.State, op.Hash)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "weigh the signatures and submit nothing")
	return cmd
}
