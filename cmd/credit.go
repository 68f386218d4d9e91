package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"golang.org/x/term"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// NewTreasury builds the treasury from the configuration: the distribution key comes from
// distribution_secret (environment, secrets file or *_file), never from a flag.
func NewTreasury(cfg *config.Config, st treasury.Store, by string) (*treasury.Treasury, error) {
	if cfg.HorizonURL == "" {
		return nil, errors.New("horizon_url is not set; treasury commands need Horizon")
	}
	var kp *keypair.Full
	if err := cfg.SecretProblem("distribution_secret"); err != nil && !cfg.DistributionSecret.IsSet() {
		return nil, fmt.Errorf("distribution_secret could not be read: %v", err)
	}
	if cfg.DistributionSecret.IsSet() {
		var err error
		if kp, err = keypair.ParseFull(cfg.DistributionSecret.Reveal()); err != nil {
			return nil, errors.New("distribution_secret is not a valid secret seed")
		}
	}
	t := &treasury.Treasury{Store: st, Config: cfg, Horizon: horizon.NewLedger(cfg.HorizonURL, cfg.HorizonTimeout), Signer: kp, By: by}
	if l, ok := st.(treasury.Locker); ok {
		t.Locker = l // PostgreSQL: replicas take turns per source account
	}
	return t, nil
}

// Crediter runs treasury work; *admin.Client (through the server) and localCrediter (on the
// store) implement it.
type Crediter interface {
	Credit(ctx context.Context, id, by string) (*transfer.Transaction, error)
	CreditAll(ctx context.Context, by string, progress func(admin.CreditResult)) ([]admin.CreditResult, error)
	UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error)
	// EachPayment calls fn with recorded unmatched payments newest first (only unsettled ones
	// with unsettled), at most limit (0: all), reading no more than it gives.
	EachPayment(ctx context.Context, unsettled bool, limit int, fn func(*treasury.Unmatched) bool) error
	RunAction(ctx context.Context, r admin.ActionRequest) (*treasury.Op, error)
	Reconcile(ctx context.Context) (*treasury.Report, error)
	BurnWithdrawals(ctx context.Context, dryRun bool) ([]*treasury.Op, error)
	PrepareCredit(ctx context.Context, id, by string, unsigned bool, validFor time.Duration) (*treasury.Op, error)
	Weights(ctx context.Context, envelope string) (*treasury.Weights, error)
	PlanCredit(ctx context.Context, id string) (*treasury.Op, error)
	Submit(ctx context.Context, envelope, by string) (*treasury.Op, error)
	ReturnPayment(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error)
	ResolvePayment(ctx context.Context, id, by string, r admin.ResolveRequest) (*treasury.Unmatched, error)
	Proposals(ctx context.Context) ([]treasury.Proposal, error)
	Approve(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error)
}

// issuerKey returns the issuer key from issuer_secret, nil when it is not set.
// issuerKey returns the configured issuer key, nil when none is set, and an error naming the key
// (never its value) when it is set but malformed: that is not the same as "not set".
func issuerKey(cfg *config.Config) (*keypair.Full, error) {
	if !cfg.IssuerSecret.IsSet() {
		if err := cfg.SecretProblem("issuer_secret"); err != nil {
			return nil, fmt.Errorf("issuer_secret could not be read: %v", err)
		}
		return nil, nil
	}
	kp, err := keypair.ParseFull(cfg.IssuerSecret.Reveal())
	if err != nil {
		return nil, errors.New("issuer_secret is not a valid secret seed (S...); check ANCHOR_ISSUER_SECRET, issuer_secret_file or the secrets file")
	}
	return kp, nil
}

func newCreditCmd(f *Factory) *cobra.Command {
	var all bool
	var by string
	var ox offline
	var pay admin.ActionRequest
	cmd := &cobra.Command{
		Use:   "credit DEPOSIT_ID | --all | --to ACCOUNT --amount A [--memo M] [--ref REF]",
		Short: "Pay deposits' tokens from the distribution account, exactly once",
		Long: `Pay a deposit in pending_anchor its amount_out from the distribution account: a payment when
the account trusts the asset, a claimable balance when the wallet said it supports them, else the
deposit waits in pending_trust (credit it again once the trustline exists). The signed payment is
stored before it is submitted; running credit again after any failure resumes it and never pays
twice. --all credits every deposit in pending_anchor, pending_trust or pending_stellar.`,
		Example: "  anchor credit 7c1e...\n  anchor credit --all\n  anchor credit --to GB... --amount 25 --memo 42",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := dryRunAlone(pay.DryRun, !all, ox.out, ox.prompt); err != nil {
				return err
			}
			if err := ox.check(cmd); err != nil {
				return err
			}
			if pay.To != "" {
				if len(args) > 0 || all || pay.Amount == "" {
					return usageError{errors.New("--to takes --amount and no DEPOSIT_ID or --all")}
				}
				if !strkey.IsValidEd25519PublicKey(pay.To) {
					return usageError{fmt.Errorf("--to %s is not a Stellar account (G...)", pay.To)}
				}
				if pay.Memo != "" {
					if _, err := strconv.ParseUint(pay.Memo, 10, 64); err != nil {
						return usageError{fmt.Errorf("--memo %q is not an id memo (a number up to 18446744073709551615)", pay.Memo)}
					}
				}
				return checkAmount(pay.Amount)
			}
			if len(args) > 1 || all == (len(args) == 1) {
				return usageError{errors.New("give one DEPOSIT_ID, --all, or --to with --amount")}
			}
			if len(args) == 1 {
				return idArg("transaction")(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkValidFor(ox); err != nil {
				return err
			}
			if len(args) == 1 {
				// A unique prefix of the deposit's id is enough.
				id, err := resolveTransferID(cmd.Context(), f, args[0])
				if err != nil {
					return err
				}
				args = []string{id}
			}
			c, closeFn, err := f.crediter(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			who := reviewer(by)
			if pay.To != "" {
				pay.Kind = "pay"
				op, err := runAction(cmd.Context(), f, c, pay, "distribution", who, ox)
				if err != nil || op == nil {
					return err
				}
				return reportOp(f, "payment", op, ox.out)
			}
			if pay.DryRun {
				op, err := c.PlanCredit(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return reportOp(f, "credit", op, "")
			}
			if (ox.out != "" || ox.prompt) && all {
				return usageError{errors.New("--xdr-out and --key-prompt take one DEPOSIT_ID")}
			}
			if ox.prompt {
				return withPromptedKey(cmd.Context(), f, c, "distribution", who, func() (*treasury.Op, error) {
					return c.PrepareCredit(cmd.Context(), args[0], who, true, 0)
				})
			}
			if ox.out != "" {
				op, err := c.PrepareCredit(cmd.Context(), args[0], who, !ox.sign, ox.validFor)
				if err != nil {
					return err
				}
				return reportOp(f, "credit", op, ox.out)
			}
			if !all {
				tx, err := c.Credit(cmd.Context(), args[0], who)
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "deposit %s: %s %s\n", tx.ID, tx.Status, tx.StellarTransactionID)
				return nil
			}
			// One line per deposit as it is done, then the total.
			failed := 0
			results, err := c.CreditAll(cmd.Context(), who, func(r admin.CreditResult) {
				if r.Error != "" {
					failed++
					fmt.Fprintf(f.IO.Out, "deposit %s: error: %s\n", r.ID, r.Error)
				} else {
					fmt.Fprintf(f.IO.Out, "deposit %s: %s %s\n", r.ID, r.Status, r.Hash)
				}
			})
			fmt.Fprintf(f.IO.ErrOut, "%d deposit(s): %d done, %d not finished\n", len(results), len(results)-failed, failed)
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d credits did not finish; run credit again", failed, len(results))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "credit every deposit waiting for its tokens")
	ox.flags(cmd, "the payment", "the distribution key")
	cmd.Flags().StringVar(&pay.To, "to", "", "ad-hoc payment: destination account (G...)")
	cmd.Flags().StringVar(&pay.Amount, "amount", "", "ad-hoc payment: amount")
	cmd.Flags().StringVar(&pay.Memo, "memo", "", "ad-hoc payment: id memo")
	cmd.Flags().StringVar(&pay.Asset, "asset", "", "ad-hoc payment: asset code (default: the first configured asset)")
	cmd.Flags().StringVar(&pay.Ref, "ref", "", "ad-hoc payment: reference that makes it unique (default: its parameters; a repeat of a confirmed payment is refused without a new --ref)")
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().BoolVar(&pay.DryRun, "dry-run", false, "show the transaction that would be submitted now (operations, fee bid, sequence) and do nothing (DEPOSIT_ID or --to)")
	return cmd
}

// localCrediter runs the treasury in this process, on the store.
type localCrediter struct {
	cfg *config.Config
	st  store.Backend
}

func (l localCrediter) Credit(ctx context.Context, id, by string) (*transfer.Transaction, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	return t.Credit(ctx, id)
}

func (l localCrediter) CreditAll(ctx context.Context, by string, progress func(admin.CreditResult)) ([]admin.CreditResult, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	return admin.CreditAll(ctx, t, &transfer.Service{Store: l.st, Config: l.cfg}, progress)
}

func (l localCrediter) RunAction(ctx context.Context, r admin.ActionRequest) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, reviewer(r.By))
	if err != nil {
		return nil, err
	}
	issuer, err := issuerKey(l.cfg)
	if err != nil {
		return nil, err
	}
	return admin.RunAction(ctx, t, issuer, r)
}

func (l localCrediter) PrepareCredit(ctx context.Context, id, by string, unsigned bool, validFor time.Duration) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	t.XDROut, t.ValidFor = true, validFor
	if unsigned {
		t.Signer = nil
	}
	if _, err := t.Credit(ctx, id); err != nil {
		return nil, err
	}
	return t.Prepared(ctx, id)
}

func (l localCrediter) PlanCredit(ctx context.Context, id string) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, reviewer(""))
	if err != nil {
		return nil, err
	}
	return t.PlanCredit(ctx, id)
}

func (l localCrediter) Submit(ctx context.Context, envelope, by string) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	return t.Submit(ctx, envelope)
}

func (l localCrediter) BurnWithdrawals(ctx context.Context, dryRun bool) ([]*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, reviewer(""))
	if err != nil {
		return nil, err
	}
	t.DryRun = dryRun
	return t.BurnWithdrawals(ctx, &transfer.Service{Store: l.st, Config: l.cfg})
}

func (l localCrediter) Reconcile(ctx context.Context) (*treasury.Report, error) {
	if l.cfg.HorizonURL == "" {
		return nil, errors.New("horizon_url is not set")
	}
	rep, err := treasury.Reconcile(ctx, l.st, &transfer.Service{Store: l.st, Config: l.cfg}, l.cfg, horizon.NewLedger(l.cfg.HorizonURL, l.cfg.HorizonTimeout))
	if err == nil {
		err = events.RecordReconcile(ctx, l.st, rep)
	}
	return rep, err
}

func (l localCrediter) ReturnPayment(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	t.DryRun = dryRun
	return t.ReturnPayment(ctx, id)
}

func (l localCrediter) ResolvePayment(ctx context.Context, id, by string, r admin.ResolveRequest) (*treasury.Unmatched, error) {
	// Nothing is signed: no key is loaded (least privilege).
	t := &treasury.Treasury{Store: l.st, Config: l.cfg, By: by}
	return t.ResolvePayment(ctx, &transfer.Service{Store: l.st, Config: l.cfg}, id, r.Withdrawal, r.Note)
}

func (l localCrediter) Weights(ctx context.Context, envelope string) (*treasury.Weights, error) {
	if l.cfg.HorizonURL == "" {
		return nil, errors.New("horizon_url is not set: the signers and thresholds are read from Horizon")
	}
	t := &treasury.Treasury{Store: l.st, Config: l.cfg, Horizon: horizon.NewLedger(l.cfg.HorizonURL, l.cfg.HorizonTimeout)}
	return t.Weights(ctx, envelope)
}

func (l localCrediter) Proposals(ctx context.Context) ([]treasury.Proposal, error) {
	return l.st.Proposals(ctx)
}

func (l localCrediter) Approve(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error) {
	t, err := NewTreasury(l.cfg, l.st, by)
	if err != nil {
		return nil, err
	}
	t.DryRun = dryRun
	return t.Approve(ctx, id)
}

func (l localCrediter) EachPayment(ctx context.Context, unsettled bool, limit int, fn func(*treasury.Unmatched) bool) error {
	n := 0
	return l.st.EachUnmatched(ctx, func(u *treasury.Unmatched) bool {
		if unsettled && u.Settlement != nil {
			return true
		}
		n++
		return fn(u) && (limit <= 0 || n < limit)
	})
}

func (l localCrediter) UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error) {
	return l.st.UnmatchedPayments(ctx)
}

// checkValidFor refuses a --valid-for beyond treasury.max_valid_for (usage error).
func (f *Factory) checkValidFor(ox offline) error {
	if ox.out == "" {
		return nil
	}
	cfg, err := f.Config(nil)
	if err != nil {
		return err
	}
	return ox.checkMax(cfg.Treasury.MaxValidFor)
}

// withCrediter runs fn with the treasury of the running server, or of the store.
func withCrediter(ctx context.Context, f *Factory, fn func(Crediter) error) error {
	c, closeFn, err := f.crediter(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(c)
}

func (f *Factory) crediter(ctx context.Context) (Crediter, func() error, error) {
	cfg, err := f.Config(nil)
	if err != nil {
		return nil, nil, err
	}
	if c := admin.Dial(ctx, admin.SocketPath(cfg.DataDir)); c != nil {
		return c, func() error { return nil }, nil
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return localCrediter{cfg: cfg, st: st}, st.Close, nil
}

// resolveTransferID returns the transaction id a whole id or a unique prefix names.
func resolveTransferID(ctx context.Context, f *Factory, arg string) (string, error) {
	b, closeFn, err := f.TransfersBackend(ctx)
	if err != nil {
		return "", err
	}
	defer closeFn()
	id, err := b.ResolveTransferID(ctx, arg)
	if errors.Is(err, transfer.ErrNotFound) || errors.Is(err, kyc.ErrNotFound) {
		return "", fmt.Errorf("transaction %s not found", arg)
	}
	return id, err
}

// checkAmount makes a malformed --amount a usage error, before anything is read or sent.
func checkAmount(s string) error { return checkAmountFlag("--amount", s, false) }

// checkAmountFlag checks a decimal flag value (positive, or non-negative with zero) as a usage
// error naming the flag, found before anything is read.
func checkAmountFlag(flag, s string, zero bool) error {
	if s == "" {
		return nil
	}
	if zero {
		if _, err := money.Parse(s); err != nil {
			return usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		return nil
	}
	if _, err := transfer.ParseAmount(s); err != nil {
		return usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return nil
}

// withChecks runs checks after the positional arguments are validated (flags are parsed by then).
func withChecks(args cobra.PositionalArgs, checks ...func() error) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return err
		}
		for _, c := range checks {
			if err := c(); err != nil {
				return err
			}
		}
		return nil
	}
}

// reportOp prints an action's outcome, or with xdrOut writes its envelope for offline signing.
func reportOp(f *Factory, what string, op *treasury.Op, xdrOut string) error {
	if op.DryRun {
		fmt.Fprintf(f.IO.Out, "dry run: %s %s would be submitted as\n  source:      %s (sequence %d)\n", what, op.ID, op.Source, op.Seq)
		for _, o := range op.Operations {
			fmt.Fprintf(f.IO.Out, "  operation:   %s\n", o)
		}
		fmt.Fprintf(f.IO.Out, "  fee bid:     %d stroops per operation\n  valid until: %s\nNothing was signed, stored or submitted.\n",
			op.BaseFee, op.MaxTime.Format(time.RFC3339))
		return nil
	}
	if op.AlreadyDone {
		fmt.Fprintf(f.IO.Out, "%s %s: already done at %s: %s (use --ref to do it again)\n", what, op.ID, op.CreatedAt.UTC().Format(time.RFC3339), op.Hash)
		return nil
	}
	if xdrOut != "" {
		if err := os.WriteFile(xdrOut, []byte(op.Envelope+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "Wrote the envelope of %s (hash %s, valid until %s) to %s; sign it, then: anchor submit %s\n",
			op.ID, op.Hash, op.MaxTime.Format(time.RFC3339), xdrOut, xdrOut)
		return nil
	}
	fmt.Fprintf(f.IO.Out, "%s %s: %s %s\n", what, op.ID, op.State, op.Hash)
	return nil
}

// promptKey reads a secret seed without echo from the terminal (or one line from standard input
// when it is not a terminal). The input is never printed, not even in errors.
func promptKey(f *Factory, account string) (*keypair.Full, error) {
	fmt.Fprintf(f.IO.ErrOut, "Secret key of the %s account (not shown): ", account)
	var line string
	if in, ok := f.IO.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.IO.ErrOut)
		if err != nil {
			return nil, err
		}
		line = string(b)
	} else {
		var err error
		if line, err = bufio.NewReader(f.IO.In).ReadString('\n'); err != nil && line == "" {
			return nil, errors.New("no key on standard input")
		}
	}
	kp, err := keypair.ParseFull(strings.TrimSpace(line))
	if err != nil {
		return nil, errors.New("that is not a secret seed (S...)")
	}
	return kp, nil
}

// runAction runs a stored action (pay, burn, home-domain) signed by account: with a key prompted
// here (op is nil then: withPromptedKey reported it), prepared for signing elsewhere (xdr), or
// signed with the configured key and submitted.
func runAction(ctx context.Context, f *Factory, c Crediter, r admin.ActionRequest, account, by string, ox offline) (*treasury.Op, error) {
	if r.DryRun {
		return c.RunAction(ctx, r)
	}
	r.XDROut, r.Unsigned, r.By = ox.out != "", ox.prompt || (ox.out != "" && !ox.sign), by
	if ox.out != "" {
		r.ValidFor = ox.validFor.String()
	}
	if ox.prompt {
		return nil, withPromptedKey(ctx, f, c, account, by, func() (*treasury.Op, error) { return c.RunAction(ctx, r) })
	}
	return c.RunAction(ctx, r)
}

// dryRunAlone refuses --dry-run where it does not apply (not an ad-hoc action) or with a flag
// that signs or writes.
func dryRunAlone(dryRun, adHoc bool, xdrOut string, prompt bool) error {
	switch {
	case !dryRun:
		return nil
	case !adHoc:
		return usageError{errors.New("--dry-run shows one deposit's credit, not --all")}
	case xdrOut != "" || prompt:
		return usageError{errors.New("--dry-run signs and writes nothing: drop --xdr-out and --key-prompt")}
	}
	return nil
}

// withPromptedKey prepares an unsigned action, signs it here with a prompted key (which never
// leaves this process), and submits it.
func withPromptedKey(ctx context.Context, f *Factory, c Crediter, account, by string, prepare func() (*treasury.Op, error)) error {
	cfg, err := f.Config(nil)
	if err != nil {
		return err
	}
	kp, err := promptKey(f, account)
	if err != nil {
		return err
	}
	op, err := prepare()
	if err != nil {
		return err
	}
	if op.AlreadyDone {
		return reportOp(f, op.Purpose, op, "")
	}
	if op.State != treasury.Built || !op.AwaitingSignatures {
		fmt.Fprintf(f.IO.Out, "%s: %s %s\n", op.ID, op.State, op.Hash)
		return nil
	}
	if op.Source != kp.Address() {
		return fmt.Errorf("the key typed is not the %s account %s", account, op.Source)
	}
	gt, err := txnbuild.TransactionFromXDR(op.Envelope)
	if err != nil {
		return err
	}
	tx, _ := gt.Transaction()
	if tx, err = tx.Sign(cfg.NetworkPassphrase, kp); err != nil {
		return err
	}
	env, err := tx.Base64()
	if err != nil {
		return err
	}
	done, err := c.Submit(ctx, env, by)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "%s: %s %s\n", done.ID, done.State, done.Hash)
	return nil
}
