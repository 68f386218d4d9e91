package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
)

func newBurnCmd(f *Factory) *cobra.Command {
	var r admin.ActionRequest
	cmd := &cobra.Command{
		Use:   "burn --amount A [--asset CODE] [--ref REF]",
		Short: "Return tokens from the distribution account to the issuer, exactly once per --ref",
		Long: `Pay tokens from the distribution account back to the issuer, which takes them out of
circulation. The payment is stored before it is submitted and never made twice for one --ref
(default: the asset, the amount and today's date); give another --ref to burn the same amount
again the same day.`,
		Example: "  anchor burn --amount 1500",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, closeFn, err := f.crediter(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			r.Kind = "burn"
			op, err := c.RunAction(cmd.Context(), r)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "burn %s: %s %s\n", op.ID, op.State, op.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&r.Amount, "amount", "", "amount to burn")
	cmd.Flags().StringVar(&r.Asset, "asset", "", "asset code (default: the first configured asset)")
	cmd.Flags().StringVar(&r.Ref, "ref", "", "reference that makes this burn unique")
	_ = cmd.MarkFlagRequired("amount")
	return cmd
}
