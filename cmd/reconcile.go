package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/views"
)

func newReconcileCmd(f *Factory) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "reconcile [--json]",
		Short: "Check the store against the ledger; exit 1 on any difference (for cron)",
		Long: `For each asset, compare the tokens held outside the distribution account on the network
(issued supply from Horizon minus the distribution balance) with what the store says went out
(confirmed credits and payments, less withdrawals and unmatched payments received), and check
that every movement of the distribution account is tied to a credit, payment, burn, withdrawal
or recorded unmatched payment (mints from the issuer excepted). An unmatched payment no operator
has settled yet (anchor payment return|resolve) is money someone is owed or must explain: it is
listed too. Any difference or unsettled payment is listed and the exit code is 1.`,
		Example: "  anchor reconcile\n  anchor reconcile --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				rep, err := c.Reconcile(cmd.Context())
				if err != nil {
					return err
				}
				if jsonOut {
					if err := writeJSON(f.IO.Out, views.NewReport(rep)); err != nil {
						return err
					}
				} else {
					for _, a := range rep.Assets {
						mark := "balanced"
						if !a.Balanced {
							mark = "DIFFERENCE " + a.Difference
						}
						fmt.Fprintf(f.IO.Out, "%s: outstanding on chain %s, in the store %s (credited %s, withdrawals received %s, unmatched %s; burned %s): %s\n",
							a.Asset, a.OutOnChain, a.OutInStore, a.Credited, a.WithdrawnIn, a.UnmatchedIn, a.Burned, mark)
					}
					for _, m := range rep.Untied {
						fmt.Fprintf(f.IO.Out, "untied: %s %s %s from %s to %s: %s\n", m.Hash, m.Amount, m.Asset, m.From, m.To, m.Reason)
					}
					for _, u := range rep.Unsettled {
						fmt.Fprintf(f.IO.Out, "unsettled payment %s: %s %s from %s (%s): anchor payment return %s, or anchor payment resolve %s\n",
							u.PagingToken, u.Amount, u.Asset, u.From, safe(u.Reason), u.PagingToken, u.PagingToken)
					}
				}
				if !rep.OK {
					return &ExitError{Code: ExitFailure, Err: errors.New("the store and the ledger disagree")}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}
