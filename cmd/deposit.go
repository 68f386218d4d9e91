package cmd

import (
	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/transfer"
)

// newDepositCmd is anchor deposit: operations record the fiat that arrived.
func newDepositCmd(f *Factory) *cobra.Command {
	opts := &TxOptions{IO: f.IO, Backend: f.TransfersBackend}
	var a transfer.Action
	received := &cobra.Command{
		Use:     "received ID --amount A --external-id REF [--by NAME]",
		Short:   "Record the fiat that arrived for a deposit: fees are computed, it goes to pending_anchor",
		Example: "  anchor deposit received 7c1e... --amount 100.00 --external-id WIRE-2231",
		Args:    withChecks(idArg("transaction"), func() error { return checkAmount(a.Amount) }),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = transfer.ActReceived
			return act(cmd, opts, args[0], a)
		},
	}
	received.Flags().StringVar(&a.Amount, "amount", "", "amount that arrived (at most 7 decimals)")
	received.Flags().StringVar(&a.ExternalID, "external-id", "", "bank reference of the incoming transfer")
	received.Flags().StringVar(&opts.By, "by", "", byHelp)
	_ = received.MarkFlagRequired("amount")
	_ = received.MarkFlagRequired("external-id")
	cmd := &cobra.Command{Use: "deposit", Short: "Deposit operations: record incoming fiat"}
	cmd.AddCommand(received)
	return cmd
}
