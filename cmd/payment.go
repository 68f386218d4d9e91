package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

func newPaymentCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "payment",
		Short: "Settle payments that matched no withdrawal: list, return, resolve",
		Long: `Payments into a distribution account that match no withdrawal (no or unknown memo, wrong
asset, short or excess amount, a withdrawal no longer waiting) are recorded by the watcher and
never credited. Each stays unsettled, and keeps anchor reconcile red, until an operator returns it
to its sender or resolves it: tied to the withdrawal it was meant for, or acknowledged with a note.
Payments that matched a withdrawal are on that withdrawal (anchor tx show).`,
	}
	cmd.AddCommand(newPaymentListCmd(f), newPaymentReturnCmd(f), newPaymentResolveCmd(f))
	return cmd
}

func newPaymentListCmd(f *Factory) *cobra.Command {
	var unsettled, jsonOut bool
	var pg page
	cmd := &cobra.Command{
		Use:     "list [--unmatched] [--limit N | --all] [--json]",
		Short:   "List unmatched payments and how each was settled, newest first",
		Example: "  anchor payment list --unmatched\n  anchor payment list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			limit, err := pg.max()
			if err != nil {
				return err
			}
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				// Read newest first and only until the page is full; --json is written as it
				// is read, so an export of any size keeps memory flat.
				if jsonOut {
					arr := jsonArray{w: f.IO.Out}
					if err := c.EachPayment(cmd.Context(), unsettled, limit, func(u *treasury.Unmatched) bool {
						return arr.add(views.NewPayment(*u)) == nil
					}); err != nil {
						return err
					}
					return arr.close()
				}
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tAT\tFROM\tASSET\tAMOUNT\tMEMO\tSTATE\tREASON")
				n := 0
				err := c.EachPayment(cmd.Context(), unsettled, limit, func(u *treasury.Unmatched) bool {
					n++
					printPayment(tw, u)
					return true
				})
				if err != nil {
					return err
				}
				tw.Flush()
				pageFooter(f.IO.ErrOut, n, limit, "payment")
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&unsettled, "unmatched", false, "only the payments not settled yet (those reconcile reports)")
	addPageFlags(cmd, &pg, "payment")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func printPayment(tw io.Writer, u *treasury.Unmatched) {
	memo := u.MemoType
	if u.Memo != "" {
		memo += " " + u.Memo
	}
	state := u.State()
	if s := u.Settlement; s != nil && s.WithdrawalID != "" {
		state += " → " + s.WithdrawalID
	}
	code, _, _ := strings.Cut(u.Asset, ":")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.PagingToken, u.At.UTC().Format(time.RFC3339), safe(u.From), safe(code), safe(u.Amount), safe(memo), state, safe(u.Reason))
}

// paymentIDRE is a Horizon paging token: a decimal operation id.
var paymentIDRE = regexp.MustCompile(`^[0-9]{1,20}$`)

// completePayments completes unsettled payment ids.
func completePayments(f *Factory) cobra.CompletionFunc {
	return completeWith(f, func(ctx context.Context, c Crediter) ([]string, error) {
		list, err := c.UnmatchedPayments(ctx)
		var ids []string
		for _, u := range list {
			if u.Settlement == nil {
				ids = append(ids, u.PagingToken)
			}
		}
		return ids, err
	})
}

func paymentArg(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return err
	}
	if !paymentIDRE.MatchString(args[0]) {
		return usageError{fmt.Errorf("%q is not a payment id (the number anchor payment list shows)", args[0])}
	}
	return nil
}

func newPaymentReturnCmd(f *Factory) *cobra.Command {
	var by string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "return PAYMENT_ID [--dry-run]",
		Short: "Send an unmatched payment back to its sender, exactly once",
		Long: `Pay the same amount of the same asset back to the sender, from the account that received it
(signed with distribution_secret), with a return memo holding the hash of the original
transaction so that the sender's wallet can tell what it is. Like every treasury action, the
payment is stored before it is submitted and running the command again resumes it, never paying
twice; the payment is settled in the same store transaction that records the return as
confirmed. A payment already resolved another way is never returned.`,
		Example: "  anchor payment return 4398046515201\n  anchor payment return 4398046515201 --dry-run",
		Args:    paymentArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				op, err := c.ReturnPayment(cmd.Context(), args[0], reviewer(by), dryRun)
				if err != nil {
					return err
				}
				if op.AlreadyDone {
					fmt.Fprintf(f.IO.Out, "payment %s: already returned at %s: %s\n", args[0], op.UpdatedAt.UTC().Format(time.RFC3339), op.Hash)
					return nil
				}
				return reportOp(f, "return", op, "")
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the return payment that would be submitted, and do nothing")
	cmd.ValidArgsFunction = completePayments(f)
	return cmd
}

func newPaymentResolveCmd(f *Factory) *cobra.Command {
	var by string
	var r admin.ResolveRequest
	cmd := &cobra.Command{
		Use:   "resolve PAYMENT_ID (--withdrawal TX_ID | --note TEXT)",
		Short: "Settle an unmatched payment: tie it to a withdrawal, or acknowledge it with a note",
		Long: `--withdrawal ties the payment to the withdrawal it was meant for (a missing or mistyped memo,
an amount the customer agreed to change): the withdrawal records it as its payment (amount_in,
fee and amount_out from the amount received) and moves on to pending_anchor, as if the watcher
had matched it. --note acknowledges a payment that needs nothing more from anchor (a top-up of
the distribution account, a refund made off-chain) and records why. Either way the payment is
settled, with who and when, and reconcile stops reporting it.`,
		Example: "  anchor payment resolve 4398046515201 --withdrawal 7c1e\n  anchor payment resolve 4398046515201 --note \"treasury top-up, ticket 118\"",
		Args: withChecks(paymentArg, func() error {
			if (r.Withdrawal == "") == (strings.TrimSpace(r.Note) == "") {
				return usageError{errors.New("give --withdrawal TX_ID or --note TEXT (one of them)")}
			}
			if r.Withdrawal != "" && !uuidRE.MatchString(r.Withdrawal) {
				return usageError{fmt.Errorf("--withdrawal %q is not a transaction id", r.Withdrawal)}
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.Withdrawal != "" {
				id, err := resolveTransferID(cmd.Context(), f, r.Withdrawal)
				if err != nil {
					return err
				}
				r.Withdrawal = id
			}
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				u, err := c.ResolvePayment(cmd.Context(), args[0], reviewer(by), r)
				if err != nil {
					return err
				}
				how := "resolved: " + u.Settlement.Note
				if u.Settlement.WithdrawalID != "" {
					how = "tied to withdrawal " + u.Settlement.WithdrawalID
				}
				if u.AlreadyDone {
					fmt.Fprintf(f.IO.Out, "payment %s: already %s (at %s by %s); nothing changed\n", u.PagingToken, safe(how), u.Settlement.At.UTC().Format(time.RFC3339), safe(u.Settlement.By))
					return nil
				}
				if u.Settlement.WithdrawalID != "" {
					how += ", which received it and is now pending_anchor"
				}
				fmt.Fprintf(f.IO.Out, "payment %s: %s\n", u.PagingToken, safe(how))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&r.Withdrawal, "withdrawal", "", "the withdrawal this payment pays (id or unique prefix)")
	cmd.Flags().StringVar(&r.Note, "note", "", "why the payment needs nothing more")
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.ValidArgsFunction = completePayments(f)
	return cmd
}
