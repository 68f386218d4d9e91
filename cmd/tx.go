package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

// TxOptions are shared by the transaction commands.
type TxOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (admin.Transfers, func() error, error)
	JSON    bool
	By      string

	unmatched func(context.Context) ([]treasury.Unmatched, error)
}

func withTx(ctx context.Context, opts *TxOptions, fn func(admin.Transfers) error) error {
	b, closeFn, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	err = fn(b)
	if errors.Is(err, transfer.ErrNotFound) || errors.Is(err, kyc.ErrNotFound) {
		return errors.New("transaction not found")
	}
	return err
}

// withTxID runs fn with the transaction id that arg (a whole id or a unique prefix) names.
func withTxID(ctx context.Context, opts *TxOptions, arg string, fn func(admin.Transfers, string) error) error {
	return withTx(ctx, opts, func(b admin.Transfers) error {
		id, err := b.ResolveTransferID(ctx, arg)
		if err != nil {
			return err
		}
		return fn(b, id)
	})
}

func newTxCmd(f *Factory) *cobra.Command {
	opts := &TxOptions{IO: f.IO, Backend: f.TransfersBackend, unmatched: func(ctx context.Context) ([]treasury.Unmatched, error) {
		c, closeFn, err := f.crediter(ctx)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		return c.UnmatchedPayments(ctx)
	}}
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Operate transactions (SEP-6 and SEP-24): list, show, hold, release, fail, refund",
		Long: `Operate transactions, SEP-6 and SEP-24 alike. Every move goes through the transaction state
machine, which refuses illegal moves, and is recorded with its time, operator and reason. These
commands work while anchor serve runs (through its admin socket) and when it does not.`,
	}
	cmd.AddCommand(newTxListCmd(opts), newTxShowCmd(opts),
		newTxActionCmd(opts, "hold", transfer.ActHold, "Put a transaction on hold for review", true),
		newTxActionCmd(opts, "release", transfer.ActRelease, "Release a held transaction to where it was", false),
		newTxActionCmd(opts, "fail", transfer.ActFail, "Move a transaction to error (the reason is shown to the wallet)", true),
		newTxActionCmd(opts, "price", transfer.ActPrice, "Price an exchange whose money arrived while no price could be had (at the current rate)", false),
		newTxRefundCmd(opts))
	return cmd
}

func newTxListCmd(opts *TxOptions) *cobra.Command {
	var status, kind, account, reference string
	var stuck time.Duration
	var unmatched bool
	var pg page
	cmd := &cobra.Command{
		Use:     "list [--status S] [--kind deposit|withdrawal|deposit-exchange|withdrawal-exchange] [--account G..] [--reference REF] [--stuck-for 24h] [--limit N | --all] [--unmatched] [--json]",
		Short:   "List transactions, newest first (the newest 50 unless --limit or --all)",
		Example: "  anchor tx list --status pending_anchor\n  anchor tx list --reference 4811930273381907001\n  anchor tx list --stuck-for 24h --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if unmatched {
				list, err := opts.unmatched(cmd.Context())
				if err != nil {
					return err
				}
				if opts.JSON {
					out := make([]views.Payment, 0, len(list))
					for _, u := range list {
						out = append(out, views.NewPayment(u))
					}
					return writeJSON(opts.IO.Out, out)
				}
				tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "AT\tFROM\tASSET\tAMOUNT\tMEMO\tSTELLAR_TX\tREASON")
				for _, u := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", u.At.Format(time.RFC3339), safe(u.From), safe(u.Asset), safe(u.Amount), safe(u.MemoType), safe(u.Memo), safe(u.TxHash), safe(u.Reason))
				}
				tw.Flush()
				fmt.Fprintf(opts.IO.ErrOut, "%d unmatched payment(s)\n", len(list))
				return nil
			}
			if status != "" && !validStatus(transfer.Status(status)) {
				return usageError{fmt.Errorf("--status %q is not a transaction status (%s)", status, statusList())}
			}
			if kind != "" && kind != "deposit" && kind != "withdrawal" && kind != "deposit-exchange" && kind != "withdrawal-exchange" {
				return usageError{fmt.Errorf("--kind %q is not deposit, withdrawal, deposit-exchange or withdrawal-exchange", kind)}
			}
			limit, err := pg.max()
			if err != nil {
				return err
			}
			return withTx(cmd.Context(), opts, func(b admin.Transfers) error {
				// The store is read newest first and only until the page is full; --json is
				// written as it is read, so an export of any size keeps memory flat.
				f := transfer.OpsFilter{Status: transfer.Status(status), Kind: transfer.Kind(kind), Account: account, Reference: reference, StuckFor: stuck, Limit: limit}
				if opts.JSON {
					arr := jsonArray{w: opts.IO.Out}
					err := b.OperatorEach(cmd.Context(), f, func(t *transfer.Transaction) bool { return arr.add(views.NewTx(t)) == nil })
					if err != nil {
						return err
					}
					return arr.close()
				}
				tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tASSET\tAMOUNT_IN\tACCOUNT\tUPDATED")
				n := 0
				err := b.OperatorEach(cmd.Context(), f, func(t *transfer.Transaction) bool {
					n++
					in := ""
					if t.AmountIn != nil {
						in = transfer.FormatAmount(*t.AmountIn)
					}
					if in != "" && t.Exchange() {
						a, _, _ := t.Assets()
						in += " " + quotes.Code(a)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.WireKind(), t.Status, t.AssetCode, in, safe(t.Account), t.UpdatedAt.UTC().Format(time.RFC3339))
					return true
				})
				if err != nil {
					return err
				}
				tw.Flush()
				pageFooter(opts.IO.ErrOut, n, limit, "transaction")
				return nil
			})
		},
	}
	addPageFlags(cmd, &pg, "transaction")
	cmd.Flags().StringVar(&status, "status", "", "only this status")
	cmd.Flags().StringVar(&kind, "kind", "", "deposit or withdrawal (exchanges included), or deposit-exchange or withdrawal-exchange")
	cmd.Flags().StringVar(&account, "account", "", "only this account")
	cmd.Flags().StringVar(&reference, "reference", "", "the deposit a bank transfer's reference names, or the transaction with this external id")
	cmd.Flags().DurationVar(&stuck, "stuck-for", 0, "only unfinished transactions unchanged for at least this long")
	cmd.Flags().BoolVar(&unmatched, "unmatched", false, "list payments into the withdrawal accounts that matched no withdrawal")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// statusList names every transaction status, for an error that refuses another.
func statusList() string {
	names := make([]string, len(transfer.Statuses))
	for i, x := range transfer.Statuses {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

func validStatus(s transfer.Status) bool {
	for _, x := range transfer.Statuses {
		if x == s {
			return true
		}
	}
	return false
}

func newTxShowCmd(opts *TxOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show ID [--json]",
		Short:   "Show a transaction, its history and the moves allowed from here",
		Example: "  anchor tx show 7c1e...",
		Args:    idArg("transaction"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTxID(cmd.Context(), opts, args[0], func(b admin.Transfers, id string) error {
				d, err := b.Detail(cmd.Context(), id)
				if err != nil {
					return err
				}
				if opts.JSON {
					return writeJSON(opts.IO.Out, views.NewTxDetail(d))
				}
				printTx(opts, *d)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func printTx(opts *TxOptions, d transfer.Detail) {
	t, w := d.Transaction, opts.IO.Out
	fmt.Fprintf(w, "id:        %s\nkind:      %s\nstatus:    %s\nasset:     %s:%s\naccount:   %s", t.ID, t.WireKind(), t.Status, t.AssetCode, t.AssetIssuer, safe(t.Account))
	if t.Memo != "" {
		fmt.Fprintf(w, " (memo %s)", safe(t.Memo))
	}
	fmt.Fprintln(w)
	in, fee, out := amt(t.AmountIn), amt(t.AmountFee), amt(t.AmountOut)
	var quote string
	if t.Exchange() { // amounts in different assets: say which
		ia, oa, fa := t.Assets()
		in, out, fee = withAsset(in, ia), withAsset(out, oa), withAsset(fee, fa)
		if q := t.Quote; q != nil {
			quote = q.ID + " (until " + q.ExpiresAt.UTC().Format(time.RFC3339) + ")"
		}
	}
	for _, kv := range [][2]string{{"amount_in", in}, {"amount_fee", fee}, {"amount_out", out}, {"quote", quote}, {"price", t.Price},
		{"reference", t.Reference}, {"withdraw_memo", t.WithdrawMemo}, {"external_id", t.ExternalTransactionID},
		{"stellar_tx", t.StellarTransactionID}, {"message", t.Message}, {"claimed_customer", t.ClaimedCustomerID}, {"waiting", d.Waiting}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%-10s %s\n", kv[0]+":", safe(kv[1]))
		}
	}
	fmt.Fprintln(w, "\nhistory:")
	for _, m := range t.History {
		from := string(m.From)
		if from == "" {
			from = "(created)"
		}
		fmt.Fprintf(w, "  %s  %s → %s  by %s", m.At.UTC().Format(time.RFC3339), from, m.To, safe(m.Actor))
		if m.Reason != "" {
			fmt.Fprintf(w, "  (%s)", safe(m.Reason))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "\nallowed moves:")
	if len(d.Allowed) == 0 {
		fmt.Fprint(w, " none (final)")
	}
	for _, s := range d.Allowed {
		fmt.Fprint(w, " ", s)
	}
	fmt.Fprintln(w)
}

func withAsset(amount, asset string) string {
	if amount == "" {
		return ""
	}
	return amount + " " + quotes.Code(asset)
}

func amt(v *int64) string {
	if v == nil {
		return ""
	}
	return transfer.FormatAmount(*v)
}

func act(cmd *cobra.Command, opts *TxOptions, arg string, a transfer.Action) error {
	a.By = reviewer(opts.By)
	return withTxID(cmd.Context(), opts, arg, func(b admin.Transfers, id string) error {
		// A receipt recorded already with the same reference is a repeat (a retried script), not
		// an error: say so and change nothing.
		if a.Name == transfer.ActReceived || a.Name == transfer.ActWithdrawReceived {
			if d, err := b.Detail(cmd.Context(), id); err == nil {
				t := d.Transaction
				if (a.Name == transfer.ActReceived && t.FundsReceivedAt != nil && t.ExternalTransactionID == a.ExternalID) ||
					(a.Name == transfer.ActWithdrawReceived && t.AmountIn != nil && t.StellarTransactionID == a.StellarID) {
					fmt.Fprintf(opts.IO.Out, "transaction %s: already recorded (%s); nothing changed\n", t.ID, t.Status)
					return nil
				}
			}
		}
		t, err := b.Act(cmd.Context(), id, a)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "transaction %s: %s\n", t.ID, t.Status)
		return nil
	})
}

func newTxActionCmd(opts *TxOptions, use, action, short string, needReason bool) *cobra.Command {
	var reason string
	reasonUse := "[--reason TEXT]"
	if needReason {
		reasonUse = "--reason TEXT"
	}
	cmd := &cobra.Command{
		Use:   use + " ID " + reasonUse + " [--by NAME]",
		Short: short,
		Args:  idArg("transaction"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return act(cmd, opts, args[0], transfer.Action{Name: action, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the history)")
	cmd.Flags().StringVar(&opts.By, "by", "", byHelp)
	if needReason {
		_ = cmd.MarkFlagRequired("reason")
	}
	return cmd
}

func newTxRefundCmd(opts *TxOptions) *cobra.Command {
	var a transfer.Action
	cmd := &cobra.Command{
		Use:     "refund ID --payment-id REF [--amount A] [--fee F] [--reason TEXT] [--by NAME]",
		Short:   "Record the refund of a transaction (default: the whole amount received)",
		Example: "  anchor tx refund 7c1e... --payment-id WIRE-8812 --fee 1.50",
		Args: withChecks(idArg("transaction"), func() error { return checkAmountFlag("--amount", a.Amount, false) },
			func() error { return checkAmountFlag("--fee", a.Fee, true) }),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = transfer.ActRefund
			return act(cmd, opts, args[0], a)
		},
	}
	cmd.Flags().StringVar(&a.PaymentID, "payment-id", "", "id of the refund payment (bank reference or Stellar hash)")
	cmd.Flags().StringVar(&a.Amount, "amount", "", "amount refunded (default: amount_in)")
	cmd.Flags().StringVar(&a.Fee, "fee", "", "fee charged for the refund")
	cmd.Flags().StringVar(&a.Reason, "reason", "", "why")
	cmd.Flags().StringVar(&opts.By, "by", "", byHelp)
	_ = cmd.MarkFlagRequired("payment-id")
	return cmd
}
