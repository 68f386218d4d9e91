package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/transfer"
)

func newBurnCmd(f *Factory) *cobra.Command {
	var r admin.ActionRequest
	var withdrawals bool
	var ox offline
	cmd := &cobra.Command{
		Use:   "burn --amount A [--asset CODE] [--ref REF] | --withdrawals",
		Short: "Return tokens from the distribution account to the issuer, exactly once",
		Long: `Pay tokens from the distribution account back to the issuer, which takes them out of
circulation. The payment is stored before it is submitted and never made twice for one --ref
(default: the asset and the amount, whatever the day): repeating the command after an unknown
outcome resumes the stored burn, a repeat of a confirmed one is refused, and another --ref burns
the same amount again on purpose. A burn that failed on the ledger is retried as a new attempt.
--withdrawals burns, per asset, what completed withdrawals collected and no
earlier burn covered; each burn records the withdrawals it covers, so none is burned twice, and
each asset stands alone (one asset's failure does not stop the others).`,
		Example: "  anchor burn --amount 1500\n  anchor burn --withdrawals",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 || withdrawals == (r.Amount != "") {
				return usageError{errors.New("give --amount or --withdrawals")}
			}
			if err := dryRunAlone(r.DryRun, true, ox.out, ox.prompt); err != nil {
				return err
			}
			if err := ox.check(cmd); err != nil {
				return err
			}
			return checkAmount(r.Amount)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkValidFor(ox); err != nil {
				return err
			}
			c, closeFn, err := f.crediter(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			if withdrawals {
				ops, err := c.BurnWithdrawals(cmd.Context(), r.DryRun)
				if err != nil {
					return err
				}
				if r.DryRun {
					for _, op := range ops {
						if err := reportOp(f, "burn", op, ""); err != nil {
							return err
						}
					}
					if len(ops) == 0 {
						fmt.Fprintln(f.IO.ErrOut, "nothing to burn: every completed withdrawal is covered")
					}
					return nil
				}
				if len(ops) == 0 {
					fmt.Fprintln(f.IO.ErrOut, "nothing to burn: every completed withdrawal is covered")
				}
				for _, op := range ops {
					fmt.Fprintf(f.IO.Out, "burn %s: %s %s %s for %d withdrawal(s)\n", op.ID, op.State, transfer.FormatAmount(op.Amount), op.Asset, len(op.TransferIDs))
				}
				return nil
			}
			r.Kind = "burn"
			op, err := runAction(cmd.Context(), f, c, r, "distribution", reviewer(""), ox)
			if err != nil || op == nil {
				return err
			}
			return reportOp(f, "burn", op, ox.out)
		},
	}
	cmd.Flags().StringVar(&r.Amount, "amount", "", "amount to burn")
	cmd.Flags().StringVar(&r.Asset, "asset", "", "asset code (default: the first configured asset)")
	cmd.Flags().StringVar(&r.Ref, "ref", "", "reference that makes this burn unique")
	cmd.Flags().BoolVar(&r.DryRun, "dry-run", false, "show the transaction(s) that would be submitted now and do nothing")
	cmd.Flags().BoolVar(&withdrawals, "withdrawals", false, "burn what completed withdrawals collected")
	ox.flags(cmd, "the burn", "the distribution key")
	return cmd
}
