package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/devwallet"
)

// walletOpts are the flags every anchor dev wallet command shares.
type walletOpts struct {
	path, domain, horizon, friendbot string
	wait                             time.Duration
	json, quiet                      bool
}

func (o *walletOpts) open(ctx context.Context) (*devwallet.Wallet, error) {
	w, err := devwallet.Open(ctx, o.path, o.domain, o.horizon, o.wait)
	if err != nil {
		return nil, err
	}
	w.Friendbot = o.friendbot
	return w, nil
}

// printCall prints a SEP answer as JSON (--json), its id alone (-q), or as text.
func (o *walletOpts) printCall(f *Factory, c *devwallet.Call, id string, text func()) error {
	switch {
	case o.json:
		var out bytes.Buffer
		if err := json.Indent(&out, c.Raw, "", "  "); err != nil {
			return err
		}
		fmt.Fprintln(f.IO.Out, out.String())
	case o.quiet:
		fmt.Fprintln(f.IO.Out, id)
	default:
		text()
	}
	return nil
}

func newDevWalletCmd(f *Factory) *cobra.Command {
	o := &walletOpts{}
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "A scripted wallet: sign in, KYC, deposit, trust, withdraw, against any anchor",
		Long: `A Stellar wallet for demos, smoke tests and support. It talks to any anchor by its home domain,
over the network and the SEPs only (stellar.toml, SEP-10, SEP-12, SEP-6, SEP-24, SEP-38, and Horizon
for its own payments), exactly as a wallet app would. Its key lives in the wallet file (--wallet, mode 0600),
created on first use; login funds it with friendbot on testnet or anchor's Horizon stand-in.`,
		Example: `  anchor dev wallet login --domain localhost:8000
  anchor dev wallet trust --asset USDX
  anchor dev wallet kyc put --field first_name=Jane --field last_name=Doe --field email_address=jane@example.com
  anchor dev wallet deposit --asset USDX --amount 100
  anchor dev wallet withdraw --asset USDX --interactive     # SEP-24: open the URL, then pay
  anchor dev wallet status 7c1e... --watch`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.path, "wallet", "anchor-wallet.json", "the wallet file (key and session; mode 0600)")
	pf.StringVar(&o.domain, "domain", "", "the anchor's home domain (remembered in the wallet file)")
	pf.StringVar(&o.horizon, "horizon", "", "Horizon URL (default: the anchor's HORIZON_URL)")
	pf.StringVar(&o.friendbot, "friendbot", "", "friendbot URL (default: the stand-in's, or friendbot.stellar.org on testnet)")
	pf.DurationVar(&o.wait, "wait", 0, "keep trying this long while the anchor or Horizon does not answer yet (a server starting)")
	pf.BoolVar(&o.json, "json", false, "print the anchor's JSON answer")
	pf.BoolVarP(&o.quiet, "quiet", "q", false, "print only the id (customer or transaction), for scripts")
	cmd.AddCommand(newWalletLoginCmd(f, o), newWalletTrustCmd(f, o), newWalletKYCCmd(f, o), newWalletDepositCmd(f, o),
		newWalletWithdrawCmd(f, o), newWalletPayCmd(f, o), newWalletQuoteCmd(f, o), newWalletStatusCmd(f, o), newWalletTransactionsCmd(f, o))
	return cmd
}

func newWalletLoginCmd(f *Factory, o *walletOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "login [--domain D]",
		Short: "Create the key if needed, fund it (testnet, stand-in), and sign in with SEP-10",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			funded, err := w.Login(cmd.Context())
			if err != nil {
				return err
			}
			note := ""
			if funded {
				note = " (new account, funded by friendbot)"
			}
			fmt.Fprintf(f.IO.Out, "%s%s signed in to %s\n", w.Account(), note, w.File.HomeDomain)
			return nil
		},
	}
}

func newWalletTrustCmd(f *Factory, o *walletOpts) *cobra.Command {
	var code string
	cmd := &cobra.Command{
		Use:   "trust --asset CODE",
		Short: "Add a trustline to the anchor's asset (from its stellar.toml)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			hash, err := w.Trust(cmd.Context(), code)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "%s trusts %s: %s\n", w.Account(), code, hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&code, "asset", "", "asset code")
	cmd.MarkFlagRequired("asset")
	return cmd
}

// keyValues parses repeated k=v flags.
func keyValues(flag string, list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--%s %q: give NAME=VALUE", flag, kv)}
		}
		out[k] = v
	}
	return out, nil
}

func newWalletKYCCmd(f *Factory, o *walletOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "kyc", Short: "Send customer information (SEP-12) and see its status"}
	var typ string
	var fields, files []string
	put := &cobra.Command{
		Use:     "put [--type T] --field NAME=VALUE... [--file NAME=PATH...]",
		Short:   "Send SEP-9 fields and files with SEP-12 PUT /customer",
		Example: "  anchor dev wallet kyc put --type sep6-withdraw --field first_name=Jane --field bank_account_number=1234 --file photo_id_front=id.jpg",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fv, err := keyValues("field", fields)
			if err != nil {
				return err
			}
			ff, err := keyValues("file", files)
			if err != nil {
				return err
			}
			if len(fv)+len(ff) == 0 {
				return usageError{errors.New("give at least one --field or --file")}
			}
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			c, err := w.PutCustomer(cmd.Context(), typ, fv, ff)
			if err != nil {
				return err
			}
			id, _ := c.Body["id"].(string)
			return o.printCall(f, c, id, func() { fmt.Fprintf(f.IO.Out, "customer %s sent; see anchor dev wallet kyc status\n", id) })
		},
	}
	put.Flags().StringVar(&typ, "type", "", "SEP-12 customer type (default: the anchor's)")
	put.Flags().StringArrayVar(&fields, "field", nil, "a SEP-9 field, NAME=VALUE (repeat)")
	put.Flags().StringArrayVar(&files, "file", nil, "a binary SEP-9 field from a file, NAME=PATH (repeat)")
	var stype string
	status := &cobra.Command{
		Use:   "status [--type T]",
		Short: "Show the customer's SEP-12 status and the fields still needed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			c, err := w.Customer(cmd.Context(), stype)
			if err != nil {
				return err
			}
			id, _ := c.Body["id"].(string)
			return o.printCall(f, c, id, func() {
				fmt.Fprintf(f.IO.Out, "customer %s: %v\n", id, c.Body["status"])
				if m, ok := c.Body["message"].(string); ok && m != "" {
					fmt.Fprintf(f.IO.Out, "message: %s\n", safe(m))
				}
				if needed, ok := c.Body["fields"].(map[string]any); ok && len(needed) > 0 {
					names := make([]string, 0, len(needed))
					for k := range needed {
						names = append(names, k)
					}
					sort.Strings(names)
					fmt.Fprintf(f.IO.Out, "needed: %s\n", strings.Join(names, ", "))
				}
			})
		},
	}
	status.Flags().StringVar(&stype, "type", "", "SEP-12 customer type")
	cmd.AddCommand(put, status)
	return cmd
}

// printInteractive prints a SEP-24 interactive answer: the transaction and the URL to open.
func (o *walletOpts) printInteractive(f *Factory, c *devwallet.Call, kind, next string) error {
	id, _ := c.Body["id"].(string)
	return o.printCall(f, c, id, func() {
		u, _ := c.Body["url"].(string)
		fmt.Fprintf(f.IO.Out, "%s %s: open %s\nthen: %s\n", kind, id, safe(u), fmt.Sprintf(next, id))
	})
}

// transferFlags are the flags deposit and withdraw share.
type transferFlags struct {
	code, amount, quote string
	interactive         bool
}

func (t *transferFlags) add(cmd *cobra.Command, what, next string) {
	cmd.Flags().StringVar(&t.code, "asset", "", "asset code")
	cmd.Flags().StringVar(&t.amount, "amount", "", "amount to "+what)
	cmd.Flags().StringVar(&t.quote, "quote", "", "a firm quote's id (anchor dev wallet quote): an exchange at its price, for its amount")
	cmd.Flags().BoolVar(&t.interactive, "interactive", false, "through SEP-24: print the URL of the anchor's pages"+next)
	cmd.MarkFlagRequired("asset")
}

// check checks the flags before anything is asked; required says a plain SEP-6 request needs
// --amount.
func (t *transferFlags) check(required bool) error {
	switch {
	case t.quote != "" && t.amount != "":
		return usageError{errors.New("give --amount or --quote, not both: a quote fixes the amount")}
	case t.amount == "" && required && t.quote == "" && !t.interactive:
		return usageError{errors.New("give --amount (or --quote, or --interactive)")}
	}
	return checkAmount(t.amount)
}

// start opens the wallet and reads the quote, if any; with --interactive it also starts the
// SEP-24 flow and prints its URL (done).
func (t *transferFlags) start(ctx context.Context, f *Factory, o *walletOpts, kind, what, next string) (w *devwallet.Wallet, quote map[string]any, done bool, err error) {
	if w, err = o.open(ctx); err != nil {
		return nil, nil, false, err
	}
	if t.quote != "" {
		if quote, err = w.GetQuote(ctx, t.quote); err != nil {
			return nil, nil, false, err
		}
	}
	if !t.interactive {
		return w, quote, false, nil
	}
	c, err := w.Interactive(ctx, kind, t.code, t.amount, quote)
	if err != nil {
		return nil, nil, false, err
	}
	return w, quote, true, o.printInteractive(f, c, what, next)
}

func newWalletDepositCmd(f *Factory, o *walletOpts) *cobra.Command {
	var t transferFlags
	cmd := &cobra.Command{
		Use:   "deposit --asset CODE [--amount N | --quote ID] [--interactive]",
		Short: "Ask for a deposit (SEP-6 GET /deposit, or SEP-24 with --interactive) and print how to pay it",
		Long: `Ask for a deposit to the wallet's account. By default with SEP-6 GET /deposit, printing how
to pay it; with --interactive through SEP-24, printing the URL of the anchor's pages, where the
user gives what the anchor asks and sees how to pay (--amount then only pre-fills the amount).
With --quote, an exchange at a firm quote's price (SEP-38; SEP-6 GET /deposit-exchange): the
quote's off-chain asset and amount in, the quoted tokens out.`,
		Example: `  anchor dev wallet deposit --asset USDX --amount 100
  anchor dev wallet deposit --asset USDX --interactive
  anchor dev wallet deposit --asset USDX --quote $(anchor dev wallet quote -q --sell iso4217:EUR --buy USDX --sell-amount 100)`,
		Args: withChecks(cobra.NoArgs, func() error { return t.check(false) }),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, quote, done, err := t.start(cmd.Context(), f, o, "deposit", "deposit", "anchor dev wallet status %s --watch")
			if err != nil || done {
				return err
			}
			c, err := w.Deposit(cmd.Context(), t.code, t.amount, quote)
			if err != nil {
				return err
			}
			id, _ := c.Body["id"].(string)
			return o.printCall(f, c, id, func() {
				fmt.Fprintf(f.IO.Out, "deposit %s", id)
				if how, ok := c.Body["how"].(string); ok && how != "" {
					fmt.Fprintf(f.IO.Out, ": %s", safe(how))
				}
				fmt.Fprintln(f.IO.Out)
				if ins, ok := c.Body["instructions"].(map[string]any); ok {
					keys := make([]string, 0, len(ins))
					for k := range ins {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						if v, ok := ins[k].(map[string]any); ok {
							fmt.Fprintf(f.IO.Out, "  %s: %v\n", k, v["value"])
						}
					}
				}
			})
		},
	}
	t.add(cmd, "deposit", "")
	return cmd
}

func newWalletWithdrawCmd(f *Factory, o *walletOpts) *cobra.Command {
	var t transferFlags
	cmd := &cobra.Command{
		Use:   "withdraw --asset CODE (--amount N | --quote ID) | --asset CODE [--amount N | --quote ID] --interactive",
		Short: "Ask for a withdrawal (SEP-6 GET /withdraw) and pay it on-chain, or start one with SEP-24",
		Long: `Ask for a withdrawal from the wallet's account. By default with SEP-6 GET /withdraw, paying the
amount on-chain at once with the memo the anchor gives. With --interactive through SEP-24: it
prints the URL of the anchor's pages, where the user gives the bank details and the amount
(--amount pre-fills it); then anchor dev wallet pay ID waits until the anchor asks for the
payment and makes it. With --quote, an exchange at a firm quote's price (SEP-38; SEP-6 GET
/withdraw-exchange): the quote's tokens in, its off-chain asset out.`,
		Example: `  anchor dev wallet withdraw --asset USDX --amount 40
  anchor dev wallet withdraw --asset USDX --interactive
  anchor dev wallet withdraw --asset USDX --quote $(anchor dev wallet quote -q --sell USDX --buy iso4217:EUR --sell-amount 20)`,
		Args: withChecks(cobra.NoArgs, func() error { return t.check(true) }),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, quote, done, err := t.start(cmd.Context(), f, o, "withdraw", "withdrawal", "anchor dev wallet pay %s")
			if err != nil || done {
				return err
			}
			c, hash, err := w.Withdraw(cmd.Context(), t.code, t.amount, quote)
			if err != nil {
				return err
			}
			id, _ := c.Body["id"].(string)
			amount := t.amount
			if quote != nil {
				amount, _ = quote["sell_amount"].(string)
			}
			return o.printCall(f, c, id, func() {
				fmt.Fprintf(f.IO.Out, "withdrawal %s: paid %s %s to %v (memo %v): %s\n", id, amount, t.code, c.Body["account_id"], c.Body["memo"], hash)
			})
		},
	}
	t.add(cmd, "withdraw", " (then: anchor dev wallet pay ID)")
	return cmd
}

func newWalletQuoteCmd(f *Factory, o *walletOpts) *cobra.Command {
	var sell, buy, sellAmount, buyAmount, protocol, method, country string
	cmd := &cobra.Command{
		Use:   "quote --sell ASSET --buy ASSET (--sell-amount N | --buy-amount N) [--context sep6|sep24] [--method NAME] [--country CC]",
		Short: "Ask for a firm quote (SEP-38 POST /quote), for an exchange with deposit or withdraw --quote",
		Long: `Ask the anchor's quote server (ANCHOR_QUOTE_SERVER) for a firm quote. An asset is an off-chain one
as SEP-38 writes it (iso4217:EUR) or a code of the anchor's stellar.toml (USDX). --method is the
off-chain asset's delivery method (SEP-38 sell_delivery_method or buy_delivery_method, whichever
side it is on); --context is sep6 (deposit or withdraw --quote) or sep24 (with --interactive).`,
		Example: `  anchor dev wallet quote --sell iso4217:EUR --buy USDX --sell-amount 100
  anchor dev wallet quote --sell USDX --buy iso4217:EUR --buy-amount 50 --context sep24`,
		Args: withChecks(cobra.NoArgs, func() error {
			if (sellAmount == "") == (buyAmount == "") {
				return usageError{errors.New("give --sell-amount or --buy-amount")}
			}
			if protocol != "sep6" && protocol != "sep24" {
				return usageError{fmt.Errorf("--context %q: give sep6 or sep24", protocol)}
			}
			if err := checkAmountFlag("--sell-amount", sellAmount, false); err != nil {
				return err
			}
			return checkAmountFlag("--buy-amount", buyAmount, false)
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			req := map[string]string{"context": protocol}
			for k, v := range map[string]string{"sell_amount": sellAmount, "buy_amount": buyAmount, "country_code": country} {
				if v != "" {
					req[k] = v
				}
			}
			for k, a := range map[string]string{"sell_asset": sell, "buy_asset": buy} {
				if req[k], err = w.AssetID(a); err != nil {
					return err
				}
			}
			if method != "" {
				if strings.HasPrefix(req["sell_asset"], "stellar:") {
					req["buy_delivery_method"] = method
				} else {
					req["sell_delivery_method"] = method
				}
			}
			c, err := w.Quote(cmd.Context(), req)
			if err != nil {
				return err
			}
			id, _ := c.Body["id"].(string)
			return o.printCall(f, c, id, func() {
				fee, _ := c.Body["fee"].(map[string]any)
				fmt.Fprintf(f.IO.Out, "quote %s: sell %v %v, buy %v %v (price %v, fee %v %v), until %v\n", id, c.Body["sell_amount"], c.Body["sell_asset"],
					c.Body["buy_amount"], c.Body["buy_asset"], c.Body["price"], fee["total"], fee["asset"], c.Body["expires_at"])
			})
		},
	}
	cmd.Flags().StringVar(&sell, "sell", "", "the asset the wallet gives (iso4217:EUR, or a code such as USDX)")
	cmd.Flags().StringVar(&buy, "buy", "", "the asset the wallet gets")
	cmd.Flags().StringVar(&sellAmount, "sell-amount", "", "how much of --sell it gives")
	cmd.Flags().StringVar(&buyAmount, "buy-amount", "", "how much of --buy it gets")
	cmd.Flags().StringVar(&protocol, "context", "sep6", "sep6 or sep24: the protocol of the transaction that will use it")
	cmd.Flags().StringVar(&method, "method", "", "the off-chain asset's delivery method (e.g. SEPA)")
	cmd.Flags().StringVar(&country, "country", "", "the user's country code (ISO 3166-1 alpha-2)")
	cmd.MarkFlagRequired("sell")
	cmd.MarkFlagRequired("buy")
	return cmd
}

func newWalletPayCmd(f *Factory, o *walletOpts) *cobra.Command {
	var code string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "pay WITHDRAWAL_ID [--asset CODE] [--timeout D]",
		Short: "Pay a withdrawal on-chain once the anchor asks for it (pending_user_transfer_start)",
		Long: `Wait until the withdrawal (SEP-24's, or SEP-6's) asks for the user's payment
(pending_user_transfer_start), then pay amount_in to withdraw_anchor_account with the memo the
anchor gives. The payment is recorded in the wallet file before it is submitted, so a second
pay of the same withdrawal never pays it twice: it prints the payment made.`,
		Example: "  anchor dev wallet pay 7c1e... --timeout 10m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			id := args[0]
			deadline := time.Now().Add(timeout)
			for {
				c, err := w.Transaction(cmd.Context(), id)
				if err != nil {
					return err
				}
				tx, _ := c.Body["transaction"].(map[string]any)
				st, _ := tx["status"].(string)
				hash, already, err := w.PayWithdrawal(cmd.Context(), id, tx, code)
				switch {
				case err == nil:
					how := "paid"
					if already {
						how = "paid already"
					}
					fmt.Fprintf(f.IO.Out, "withdrawal %s: %s %v to %v (memo %v): %s\n", id, how, tx["amount_in"], tx["withdraw_anchor_account"], orEmpty(tx["withdraw_memo"]), hash)
					return nil
				case !errors.Is(err, devwallet.ErrNothingToPay) || !waitsForUser(st):
					return err
				case time.Now().After(deadline):
					return &ExitError{Code: ExitFailure, Err: fmt.Errorf("withdrawal %s is still %s after %s (the anchor's pages not finished?)", id, st, timeout)}
				}
				if err := pause(cmd.Context()); err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().StringVar(&code, "asset", "", "the asset's code, when the anchor has several and the transaction does not say")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long if the anchor has not asked for the payment")
	return cmd
}

// pause waits between two looks at a transaction, or until ctx ends.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(500 * time.Millisecond):
		return nil
	}
}

// waitsForUser says whether a withdrawal in status st may still come to ask for the user's
// payment: the user or the anchor is not done with its information yet.
func waitsForUser(st string) bool {
	switch st {
	case "incomplete", "pending_customer_info_update", "pending_transaction_info_update", "pending_anchor", "on_hold", "pending_user":
		return true
	}
	return false
}

func newWalletStatusCmd(f *Factory, o *walletOpts) *cobra.Command {
	var watch bool
	var until string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "status TRANSACTION_ID [--watch [--until STATUS] [--timeout D]]",
		Short:   "Show a transaction as the wallet sees it (SEP-6 or SEP-24 GET /transaction); --watch follows it",
		Example: "  anchor dev wallet status 7c1e... --watch --until completed --timeout 1m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			deadline := time.Now().Add(timeout)
			last := ""
			for {
				c, err := w.Transaction(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tx, _ := c.Body["transaction"].(map[string]any)
				st, _ := tx["status"].(string)
				if st != last {
					if err := o.printCall(f, c, st, func() {
						fmt.Fprintf(f.IO.Out, "%s %v %s", args[0], tx["kind"], st)
						for _, k := range []string{"amount_in", "amount_out", "stellar_transaction_id", "message"} {
							if v, ok := tx[k].(string); ok && v != "" {
								fmt.Fprintf(f.IO.Out, "  %s=%s", k, safe(v))
							}
						}
						fmt.Fprintln(f.IO.Out)
					}); err != nil {
						return err
					}
					last = st
				}
				final := st == "completed" || st == "refunded" || st == "error" || st == "expired" || st == "too_small" || st == "too_large" || st == "no_market"
				if !watch || st == until || (until == "" && final) {
					return nil
				}
				if final || time.Now().After(deadline) {
					return &ExitError{Code: ExitFailure, Err: fmt.Errorf("transaction %s is %s, not %s (after %s)", args[0], st, until, timeout)}
				}
				if err := pause(cmd.Context()); err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the transaction, printing each status, until it is final (or --until)")
	cmd.Flags().StringVar(&until, "until", "", "with --watch: stop at this status (exit 1 if it ends elsewhere or --timeout passes)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "with --watch: give up after this long")
	return cmd
}

func newWalletTransactionsCmd(f *Factory, o *walletOpts) *cobra.Command {
	var code string
	var interactive bool
	cmd := &cobra.Command{
		Use:   "transactions --asset CODE [--interactive]",
		Short: "List the wallet's transactions of an asset (SEP-6 GET /transactions, or SEP-24's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			c, err := w.Transactions(cmd.Context(), code, interactive)
			if err != nil {
				return err
			}
			list, _ := c.Body["transactions"].([]any)
			return o.printCall(f, c, "", func() {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tAMOUNT_IN\tSTARTED")
				for _, x := range list {
					tx, _ := x.(map[string]any)
					fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\n", tx["id"], tx["kind"], tx["status"], orEmpty(tx["amount_in"]), tx["started_at"])
				}
				tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&code, "asset", "", "asset code")
	cmd.Flags().BoolVar(&interactive, "interactive", false, "SEP-24's transactions (those started with --interactive)")
	cmd.MarkFlagRequired("asset")
	return cmd
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}
