package cmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/views"
)

// withQuotes runs fn on the running server's socket, or on the store when none runs.
func withQuotes(ctx context.Context, f *Factory, fn func(admin.Quotes) error) error {
	cfg, c, st, err := f.reach(ctx)
	switch {
	case err != nil:
		return err
	case c != nil:
		return fn(admin.QuotesClient{Client: c})
	}
	defer st.Close()
	return fn(admin.LocalQuotes{Store: st, Transfers: &transfer.Service{Store: st, Config: cfg}})
}

func newQuoteCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quote",
		Short: "SEP-38 firm quotes: list them and see which transaction used each",
		Long: `Firm quotes are the prices wallets asked for with SEP-38 POST /quote, bound to their account
and kept with their expiry; a deposit-exchange or withdrawal-exchange (or a SEP-24 transaction)
that names one uses it, and no other transaction can. docs/quotes.md explains the prices.`,
	}
	var account string
	var jsonOut bool
	var pg page
	list := &cobra.Command{
		Use:     "list [--account G...] [--limit N | --all] [--json]",
		Short:   "List firm quotes, newest first (the newest 50 unless --limit or --all)",
		Example: "  anchor quote list\n  anchor quote list --account GABC... --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			limit, err := pg.max()
			if err != nil {
				return err
			}
			return withQuotes(cmd.Context(), f, func(qs admin.Quotes) error {
				list, err := qs.ListQuotes(cmd.Context(), quotes.Filter{Account: account, Limit: limit})
				if err != nil {
					return err
				}
				if jsonOut {
					return writeJSON(f.IO.Out, views.Of(list, time.Now()))
				}
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tSELL\tBUY\tACCOUNT")
				for _, q := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s %s\t%s\n", q.ID, views.Time(q.CreatedAt), views.Time(q.ExpiresAt),
						safe(q.SellAmount), safe(q.SellAsset), safe(q.BuyAmount), safe(q.BuyAsset), safe(q.Account))
				}
				tw.Flush()
				fmt.Fprintf(f.IO.ErrOut, "%d quote(s)\n", len(list))
				return nil
			})
		},
	}
	list.Flags().StringVar(&account, "account", "", "only the quotes of this Stellar account")
	list.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	addPageFlags(list, &pg, "quote")
	show := &cobra.Command{
		Use:     "show ID [--json]",
		Short:   "Show a firm quote and the transaction that used it",
		Example: "  anchor quote show 5b2e...",
		Args:    idArg("quote"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withQuotes(cmd.Context(), f, func(qs admin.Quotes) error {
				id, err := resolveQuote(cmd.Context(), qs, args[0])
				if err != nil {
					return err
				}
				q, err := qs.ShowQuote(cmd.Context(), id)
				if err != nil {
					return err
				}
				if jsonOut {
					return writeJSON(f.IO.Out, views.NewQuote(q))
				}
				v := views.NewQuote(q)
				used := v.UsedBy
				if used == "" {
					used = "(unused)"
				}
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				for _, kv := range [][2]string{{"id", v.ID}, {"account", v.Account}, {"memo", v.Memo}, {"context", v.Context},
					{"sell", v.SellAmount + " " + v.SellAsset + " " + v.SellDeliveryMethod}, {"buy", v.BuyAmount + " " + v.BuyAsset + " " + v.BuyDeliveryMethod},
					{"price", v.Price}, {"total_price", v.TotalPrice}, {"fee", v.Fee.Total + " " + v.Fee.Asset},
					{"created_at", v.CreatedAt}, {"expires_at", v.ExpiresAt}, {"used_by", used}} {
					fmt.Fprintf(tw, "%s\t%s\n", kv[0], safe(strings.TrimSpace(kv[1])))
				}
				return tw.Flush()
			})
		},
	}
	show.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}

// resolveQuote turns a unique prefix of a quote id into the id.
func resolveQuote(ctx context.Context, qs admin.Quotes, arg string) (string, error) {
	if len(arg) == 36 {
		return arg, nil
	}
	list, err := qs.ListQuotes(ctx, quotes.Filter{})
	if err != nil {
		return "", err
	}
	var found []string
	for _, q := range list {
		if strings.HasPrefix(q.ID, strings.ToLower(arg)) {
			found = append(found, q.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", quotes.ErrNotFound
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%q names %d quotes; give more of the id", arg, len(found))
}
