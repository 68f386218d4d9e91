package cmd

import (
	"fmt"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/transfer"
)

// hashRE is a Stellar transaction hash as --stellar-tx takes it.
var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// newWithdrawCmd is anchor withdraw: operations record the user's Stellar payment and the fiat
// sent.
func newWithdrawCmd(f *Factory) *cobra.Command {
	opts := &TxOptions{IO: f.IO, Backend: f.TransfersBackend}
	var recv, paid transfer.Action
	received := &cobra.Command{
		Use:     "received ID --amount A --stellar-tx HASH [--by NAME]",
		Short:   "Record the user's Stellar payment for a withdrawal: fees are computed, it goes to pending_anchor",
		Example: "  anchor withdraw received 7c1e... --amount 50 --stellar-tx 3389e9f0...",
		Args: withChecks(idArg("transaction"), func() error { return checkAmount(recv.Amount) }, func() error {
			if !hashRE.MatchString(recv.StellarID) {
				return usageError{fmt.Errorf("--stellar-tx %q is not a Stellar transaction hash (64 hex digits)", recv.StellarID)}
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			recv.Name = transfer.ActWithdrawReceived
			return act(cmd, opts, args[0], recv)
		},
	}
	received.Flags().StringVar(&recv.Amount, "amount", "", "amount received on Stellar")
	received.Flags().StringVar(&recv.StellarID, "stellar-tx", "", "hash of the Stellar transaction")
	received.Flags().StringVar(&opts.By, "by", "", byHelp)
	_ = received.MarkFlagRequired("amount")
	_ = received.MarkFlagRequired("stellar-tx")
	paidCmd := &cobra.Command{
		Use:     "paid ID --external-id REF [--by NAME]",
		Short:   "Record that the fiat was sent: the withdrawal is completed",
		Example: "  anchor withdraw paid 7c1e... --external-id WIRE-9921",
		Args:    idArg("transaction"),
		RunE: func(cmd *cobra.Command, args []string) error {
			paid.Name = transfer.ActPaid
			return act(cmd, opts, args[0], paid)
		},
	}
	paidCmd.Flags().StringVar(&paid.ExternalID, "external-id", "", "bank reference of the outgoing transfer")
	paidCmd.Flags().StringVar(&opts.By, "by", "", byHelp)
	_ = paidCmd.MarkFlagRequired("external-id")
	cmd := &cobra.Command{Use: "withdraw", Short: "Withdrawal operations: record the Stellar payment, and the fiat sent"}
	cmd.AddCommand(received, paidCmd)
	return cmd
}
