// Package treasury moves money on Stellar exactly once. Each action is built once with time
// bounds, signed, and stored with its hash before it is submitted; a retry, a crash or a Horizon
// timeout never builds a second payment while the first could still land: the stored envelope is
// looked up and resubmitted until it is known to have succeeded, to have failed on the ledger, or
// to have expired (ledger time past its max time, or the account's sequence past its own).
package treasury

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/transfer"
)

// OpState is the state of an on-chain action.
type OpState string

// Action states.
const (
	Built     OpState = "built"     // signed and stored; may be on the ledger or not
	Confirmed OpState = "confirmed" // succeeded on the ledger
	Failed    OpState = "failed"    // failed on the ledger or refused for good
	Expired   OpState = "expired"   // can no longer land
)

// Op is one on-chain action and everything needed to finish it after a crash.
type Op struct {
	V                  int       `json:"v"`
	ID                 string    `json:"id"` // e.g. credit/<deposit id>
	Purpose            string    `json:"purpose"`
	TransferID         string    `json:"transfer_id,omitempty"`
	Source             string    `json:"source"`
	Seq                int64     `json:"seq"`
	Envelope           string    `json:"envelope"`
	Hash               string    `json:"hash"`
	MaxTime            time.Time `json:"max_time"`
	ClaimableBalanceID string    `json:"claimable_balance_id,omitempty"`
	// Asset (CODE:ISSUER) and Amount (stroops) moved out of the source, for reconcile.
	Asset  string `json:"asset,omitempty"`
	Amount int64  `json:"amount,omitempty"`
	// AwaitingSignatures: prepared for offline signing (--xdr-out); anchor submit finishes it.
	AwaitingSignatures bool `json:"awaiting_signatures,omitempty"`
	// TransferIDs are the withdrawals a burn-withdrawals action covers.
	TransferIDs []string `json:"transfer_ids,omitempty"`
	// ReturnOf is the unmatched payment (paging token) a return action sends back: its
	// confirmation settles that payment in the same store transaction.
	ReturnOf string `json:"return_of,omitempty"`
	// By is the operator who started the action.
	By    string  `json:"by,omitempty"`
	State OpState `json:"state"`
	// AlreadyDone is set on an answer (never stored) when the action asked for was done before
	// and nothing was done now.
	AlreadyDone bool `json:"already_done,omitempty"`
	// DryRun marks a plan (never stored): what the action would submit, with the fee bid per
	// operation and the operations described.
	DryRun     bool      `json:"dry_run,omitempty"`
	BaseFee    int64     `json:"base_fee,omitempty"`
	Operations []string  `json:"operations,omitempty"`
	Result     string    `json:"result,omitempty"`
	Attempt    int       `json:"attempt"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ErrNotFound: no such action.
var ErrNotFound = fault.NotFound("treasury action not found")

// OpTx reads and writes actions (and the withdrawal watcher's state) inside a store transaction.
type OpTx interface {
	Op(id string) (*Op, error)
	PutOp(op *Op) error
	Cursor(account string) (string, error)
	PutCursor(account, cursor string) error
	PutUnmatched(u *Unmatched) error
	// Unmatched returns the recorded unmatched payment with this paging token (ErrPaymentNotFound).
	Unmatched(pagingToken string) (*Unmatched, error)
	// UnmatchedAt is Unmatched when the receiving account is known: one lookup, not a scan.
	UnmatchedAt(account, pagingToken string) (*Unmatched, error)
	// Proposal returns the proposal of an action (ErrNoProposal); PutProposal stores one.
	Proposal(id string) (*Proposal, error)
	PutProposal(p *Proposal) error
	// LastReconcile returns the record of the last reconcile, nil when none has run;
	// PutLastReconcile replaces it.
	LastReconcile() (*ReconcileRun, error)
	PutLastReconcile(r *ReconcileRun) error
}

// Store runs transactions over actions and SEP-6 transactions together, so that an action and
// the status of the transaction it serves change atomically.
type Store interface {
	TreasuryUpdate(ctx context.Context, fn func(OpTx, transfer.Tx) error) error
	TreasuryView(ctx context.Context, fn func(OpTx, transfer.Tx) error) error
	// UnmatchedPayments lists recorded payments that matched no withdrawal, newest first.
	UnmatchedPayments(ctx context.Context) ([]Unmatched, error)
	// EachUnmatched calls fn with them newest first until it returns false, reading no more
	// than it gives.
	EachUnmatched(ctx context.Context, fn func(*Unmatched) bool) error
	// Ops lists every stored action.
	Ops(ctx context.Context) ([]Op, error)
	// Proposals lists the actions the two-person rule holds or held, oldest first.
	Proposals(ctx context.Context) ([]Proposal, error)
}

// Hooks let tests stop Credit between its steps, as a crash would.
type Hooks struct {
	BeforeSign, AfterStore, AfterSubmit func() error
}

// Treasury credits deposits from the distribution account.
type Treasury struct {
	Store   Store
	Config  *config.Config
	Horizon horizon.Submitter
	// Signer holds the distribution account's key (never logged, never stored).
	Signer    *keypair.Full
	TxTimeout time.Duration
	Now       func() time.Time
	Hooks     Hooks
	// By is the operator recorded in the transactions' history.
	By string
	// XDROut prepares actions without submitting them: the envelope, signed by Signer when it
	// is set and unsigned otherwise, waits for `anchor submit` (multisig, air-gapped signing).
	XDROut bool
	// DryRun builds actions (Execute, PlanCredit) to show them, and neither signs, stores nor
	// submits anything.
	DryRun bool
	// Locker, when set, serializes each source account's transactions with other processes
	// (replicas on one database); within this process they are serialized anyway.
	Locker Locker
	// ValidFor is how long an XDROut envelope stays valid (default 24h): long enough for a
	// second signer. It does not hold the source account's next sequence number (see newTx).
	ValidFor time.Duration
	// planned is what build would have submitted, in a dry run.
	planned *Op
}

// inFlight says that an action is built and may still land, so a dry run has nothing new to
// show: running the command for real resumes it.
func inFlight(op *Op) error {
	return inputErr("%s is built and may still land (transaction %s); nothing new would be built: run the command without --dry-run to resume it", op.ID, op.Hash)
}

// PlanCredit is credit's dry run: what crediting the deposit would submit now (the payment, a
// claimable balance, or first the account's creation). It reads the store and Horizon only.
func (t *Treasury) PlanCredit(ctx context.Context, depositID string) (*Op, error) {
	op, tr, err := t.load(ctx, "credit/"+depositID, depositID)
	if err != nil {
		return nil, err
	}
	if op != nil && op.State == Confirmed {
		op.AlreadyDone = true
		return op, nil
	}
	if op != nil && op.State == Built {
		return nil, inFlight(op)
	}
	t.DryRun, t.planned = true, nil
	if err := t.build(ctx, tr); err != nil {
		if errors.Is(err, errWaitTrust) {
			return nil, inputErr("deposit %s waits for %s to add a trustline; nothing would be paid until then", tr.ID, tr.To)
		}
		return nil, err
	}
	return t.planned, nil
}

// plan builds an action as it would be submitted now (source sequence, fee bid, time bounds)
// and returns it unsigned and unstored.
func (t *Treasury) plan(ctx context.Context, id, purpose, source string, ops []txnbuild.Operation, memo txnbuild.Memo) (*Op, error) {
	built, maxTime, err := t.newTx(ctx, source, ops, memo)
	if err != nil {
		return nil, err
	}
	env, hash, err := t.encode(built)
	if err != nil {
		return nil, err
	}
	p := &Op{ID: id, Purpose: purpose, Source: source, Seq: built.SequenceNumber(), Envelope: env, Hash: hash,
		MaxTime: time.Unix(maxTime.Unix(), 0).UTC(), State: "dry-run", DryRun: true, BaseFee: built.BaseFee(), CreatedAt: t.now()}
	for _, op := range ops {
		p.Operations = append(p.Operations, describe(op))
	}
	return p, nil
}

// encode returns a transaction's envelope (base64 XDR) and hash on the configured network.
func (t *Treasury) encode(tx *txnbuild.Transaction) (env, hash string, err error) {
	if env, err = tx.Base64(); err != nil {
		return "", "", err
	}
	hash, err = tx.HashHex(t.Config.NetworkPassphrase)
	return env, hash, err
}

// describe says what an operation does, for a dry run.
func describe(op txnbuild.Operation) string {
	switch o := op.(type) {
	case *txnbuild.Payment:
		code := "XLM"
		if c, ok := o.Asset.(txnbuild.CreditAsset); ok {
			code = c.Code
		}
		return fmt.Sprintf("payment of %s %s to %s", o.Amount, code, o.Destination)
	case *txnbuild.SetOptions:
		if o.HomeDomain != nil {
			return "set_options home_domain=" + string(*o.HomeDomain)
		}
		return "set_options"
	case *txnbuild.CreateAccount:
		return fmt.Sprintf("create_account %s with %s XLM", o.Destination, o.Amount)
	case *txnbuild.CreateClaimableBalance:
		return fmt.Sprintf("create_claimable_balance of %s", o.Amount)
	}
	return fmt.Sprintf("%T", op)
}

// ErrOutcomeUnknown: Horizon did not say whether the transaction landed (timeouts, 5xx, 429, or
// outbid under surge pricing); the action stays stored and the next run resumes it.
var ErrOutcomeUnknown = errors.New("outcome not known yet (Horizon did not confirm); run the command again to resume")

// ErrAwaitingSignatures: the action was prepared for offline signing.
var ErrAwaitingSignatures = errors.New("waiting for signatures: sign the prepared envelope and run anchor submit FILE")

func (t *Treasury) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now().UTC()
}

// InputError is a request that cannot be carried out as asked (the shared fault type).
type InputError = fault.InputError

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Credit pays a deposit's amount_out to its account, exactly once, and completes it. It can be
// called again at any time (after an error or a crash): it resumes the stored action.
func (t *Treasury) Credit(ctx context.Context, depositID string) (*transfer.Transaction, error) {
	for round := 0; round < 4; round++ {
		op, tr, err := t.load(ctx, "credit/"+depositID, depositID)
		if err != nil {
			return nil, err
		}
		if op != nil && op.State == Built && op.AwaitingSignatures {
			if t.XDROut {
				return tr, nil // prepared already: the same envelope is handed out again
			}
			return tr, fmt.Errorf("%w (prepared envelope %s)", ErrAwaitingSignatures, op.Hash)
		}
		if op != nil && op.State == Built {
			done, err := t.resume(ctx, op)
			if err != nil || done {
				_, tr, _ = t.load(ctx, op.ID, depositID)
				return tr, err
			}
			continue // expired: build anew
		}
		if tr.Status == transfer.Completed {
			return tr, nil
		}
		if tr.Kind == transfer.Deposit && tr.AmountOut != nil && (tr.Status == transfer.PendingAnchor || tr.Status == transfer.PendingTrust) {
			draft := Proposal{ID: "credit/" + depositID, Kind: ProposeCredit, Purpose: "credit", TransferID: depositID,
				Asset: tr.AssetCode + ":" + tr.AssetIssuer, Amount: *tr.AmountOut}
			if err := t.gate(ctx, draft); err != nil {
				return tr, err
			}
		}
		if err := t.build(ctx, tr); err != nil {
			if errors.Is(err, errWaitTrust) {
				_, tr, _ = t.load(ctx, "credit/"+depositID, depositID)
				return tr, nil
			}
			return nil, err
		}
		if t.XDROut {
			_, tr, err = t.load(ctx, "credit/"+depositID, depositID)
			return tr, err
		}
	}
	return nil, errors.New("credit: gave up after rebuilding the payment 4 times; see anchor tx show")
}

func (t *Treasury) load(ctx context.Context, opID, transferID string) (*Op, *transfer.Transaction, error) {
	var op *Op
	var tr *transfer.Transaction
	err := t.Store.TreasuryView(ctx, func(ops OpTx, trs transfer.Tx) error {
		var err error
		if op, err = ops.Op(opID); errors.Is(err, ErrNotFound) {
			op, err = nil, nil
		}
		if err != nil {
			return err
		}
		tr, err = trs.Get(transferID)
		return err
	})
	if errors.Is(err, transfer.ErrNotFound) {
		return nil, nil, inputErr("transaction %s not found", transferID)
	}
	return op, tr, err
}

var errWaitTrust = errors.New("waiting for a trustline")

func (t *Treasury) asset(tr *transfer.Transaction) (*config.Asset, error) {
	for i := range t.Config.Assets {
		if a := &t.Config.Assets[i]; a.Code == tr.AssetCode && a.Issuer == tr.AssetIssuer {
			if a.DistributionAccount == "" {
				return nil, inputErr("asset %s has no distribution_account", a.Code)
			}
			if t.Signer == nil && !t.XDROut {
				return nil, inputErr("distribution_secret is not set (ANCHOR_DISTRIBUTION_SECRET or the secrets file); or prepare with --xdr-out")
			}
			if t.Signer != nil && t.Signer.Address() != a.DistributionAccount {
				return nil, inputErr("distribution_secret is not the key of %s's distribution account %s", a.Code, a.DistributionAccount)
			}
			return a, nil
		}
	}
	return nil, inputErr("asset %s:%s is not configured", tr.AssetCode, tr.AssetIssuer)
}

// build decides how to pay (payment, claimable balance, or wait in pending_trust), builds and
// signs the transaction, and stores it with the deposit moved to pending_stellar, atomically.
func (t *Treasury) build(ctx context.Context, tr *transfer.Transaction) error {
	if tr.Kind != transfer.Deposit {
		return inputErr("%s is a %s; credit pays deposits", tr.ID, tr.Kind)
	}
	if tr.Status != transfer.PendingAnchor && tr.Status != transfer.PendingTrust {
		if tr.FundsReceivedAt != nil {
			// The fiat is in; say what it waits for when that is compliance.
			if err := t.compliance(ctx, tr.ID); err != nil {
				return err
			}
		}
		return inputErr("deposit %s is %s; credit needs pending_anchor (record the fiat with anchor deposit received)", tr.ID, tr.Status)
	}
	if tr.AmountOut == nil && tr.Exchange() {
		return inputErr("deposit %s is an exchange not priced yet, so its tokens are unknown: anchor tx price %s", tr.ID, tr.ID)
	}
	if tr.AmountOut == nil || *tr.AmountOut <= 0 {
		return inputErr("deposit %s has no amount_out", tr.ID)
	}
	asset, err := t.asset(tr)
	if err != nil {
		return err
	}
	ctx, unlock, err := t.lockSource(ctx, asset.DistributionAccount)
	if err != nil {
		return err
	}
	defer unlock()
	// Compliance first, before any read or write on the network; checked again in each store
	// transaction that records a move of money.
	if err := t.compliance(ctx, tr.ID); err != nil {
		return err
	}
	dest := tr.To
	destAcct, err := t.Horizon.Account(ctx, dest)
	missing := errors.Is(err, horizon.ErrNotFound)
	if missing && !asset.AccountCreation {
		return inputErr("account %s does not exist on the network and %s does not allow account creation", dest, asset.Code)
	}
	if err != nil && !missing {
		return err
	}
	if missing && !tr.ClaimableBalanceSupported {
		// Create the account (exactly once), then wait for its trustline.
		created, err := t.execute(ctx, "create/"+tr.ID, "create-account", asset.DistributionAccount, t.Signer,
			[]txnbuild.Operation{&txnbuild.CreateAccount{Destination: dest, Amount: asset.StartingBalance}}, nil, Moved{},
			func(_ OpTx, trs transfer.Tx) error { return t.requireAccepted(trs, tr.ID) })
		if err != nil {
			return err
		}
		if t.DryRun {
			t.planned = created // the account first; the credit waits for its trustline
			return nil
		}
		if err := t.Store.TreasuryUpdate(ctx, func(_ OpTx, trs transfer.Tx) error {
			cur, err := trs.Get(tr.ID)
			if err != nil {
				return err
			}
			cur.Message = "account created; add a trustline to " + asset.Code + " to receive the deposit"
			if err := cur.MoveTo(transfer.PendingTrust, t.By, "created the account with "+asset.StartingBalance+" XLM", t.now()); err != nil {
				return err
			}
			return putMoved(trs, cur, t.now())
		}); err != nil {
			return err
		}
		return errWaitTrust
	}
	trusted := false
	if destAcct == nil {
		destAcct = &horizon.Account{}
	}
	for _, b := range destAcct.Balances {
		if b.Asset.Code == asset.Code && b.Asset.Issuer == asset.Issuer && (b.IsAuthorized == nil || *b.IsAuthorized) {
			trusted = true
		}
	}
	amount := transfer.FormatAmount(*tr.AmountOut)
	credit := txnbuild.CreditAsset{Code: asset.Code, Issuer: asset.Issuer}
	var op txnbuild.Operation
	var pre []txnbuild.Operation
	switch {
	case trusted:
		op = &txnbuild.Payment{Destination: dest, Amount: amount, Asset: credit}
	case tr.ClaimableBalanceSupported:
		if missing {
			// One transaction: the account and the claimable balance, both or neither.
			pre = []txnbuild.Operation{&txnbuild.CreateAccount{Destination: dest, Amount: asset.StartingBalance}}
		}
		op = &txnbuild.CreateClaimableBalance{Amount: amount, Asset: credit, Destinations: []txnbuild.Claimant{txnbuild.NewClaimant(dest, nil)}}
	default:
		if tr.Status == transfer.PendingTrust || t.DryRun {
			return errWaitTrust
		}
		err := t.Store.TreasuryUpdate(ctx, func(_ OpTx, trs transfer.Tx) error {
			cur, err := trs.Get(tr.ID)
			if err != nil {
				return err
			}
			cur.Message = "add a trustline to " + asset.Code + " to receive the deposit"
			if err := cur.MoveTo(transfer.PendingTrust, t.By, "the account has no trustline for "+asset.Code, t.now()); err != nil {
				return err
			}
			return putMoved(trs, cur, t.now())
		})
		if err != nil {
			return err
		}
		return errWaitTrust
	}
	if t.DryRun {
		t.planned, err = t.plan(ctx, "credit/"+tr.ID, "credit", asset.DistributionAccount, append(pre, op), memoOf(tr))
		return err
	}
	built, maxTime, err := t.newTx(ctx, asset.DistributionAccount, append(pre, op), memoOf(tr))
	if err != nil {
		return err
	}
	if h := t.Hooks.BeforeSign; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	signed, err := t.sign(built)
	if err != nil {
		return err
	}
	env, err := signed.Base64()
	if err != nil {
		return err
	}
	hash, err := signed.HashHex(t.Config.NetworkPassphrase)
	if err != nil {
		return err
	}
	now := t.now()
	rec := &Op{V: 1, ID: "credit/" + tr.ID, Purpose: "credit", TransferID: tr.ID, Source: asset.DistributionAccount, Seq: signed.SequenceNumber(),
		AwaitingSignatures: t.XDROut,
		Envelope:           env, Hash: hash, MaxTime: time.Unix(maxTime.Unix(), 0).UTC(), State: Built, CreatedAt: now, UpdatedAt: now,
		Asset: asset.Code + ":" + asset.Issuer, Amount: *tr.AmountOut}
	if _, ok := op.(*txnbuild.CreateClaimableBalance); ok {
		rec.ClaimableBalanceID, _ = signed.ClaimableBalanceID(len(pre))
	}
	err = t.Store.TreasuryUpdate(ctx, func(ops OpTx, trs transfer.Tx) error {
		if cur, err := ops.Op(rec.ID); err == nil && cur.State == Built {
			return errors.New("another credit of this deposit is in progress")
		}
		cur, err := trs.Get(tr.ID)
		if err != nil {
			return err
		}
		if err := transfer.RequireAccepted(trs, t.Config, cur); err != nil {
			return err
		}
		if err := cur.MoveTo(transfer.PendingStellar, t.By, "payment "+hash+" signed and submitting", now); err != nil {
			return err
		}
		cur.StellarTransactionID = hash
		if err := putMoved(trs, cur, now); err != nil {
			return err
		}
		return ops.PutOp(rec)
	})
	if err != nil {
		return err
	}
	if h := t.Hooks.AfterStore; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	if t.XDROut {
		return nil
	}
	_, err = t.resume(ctx, rec)
	return err
}

// newTx builds a transaction of ops from source's next sequence number, valid until now +
// TxTimeout, bidding the fee recent ledgers needed (/fee_stats) up to max_base_fee per operation.
func (t *Treasury) newTx(ctx context.Context, source string, ops []txnbuild.Operation, memo txnbuild.Memo) (*txnbuild.Transaction, time.Time, error) {
	src, err := t.Horizon.Account(ctx, source)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read %s: %w", source, err)
	}
	fee, err := t.Horizon.InclusionFee(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read fee stats: %w", err)
	}
	limit := t.Config.MaxBaseFee
	if limit <= 0 {
		limit = config.DefaultMaxBaseFee
	}
	timeout := t.TxTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	var acct txnbuild.Account = src
	pre := txnbuild.Preconditions{}
	if t.XDROut {
		// A prepared envelope waits hours for its signers. Built on the next sequence number it
		// would void, and be voided by, every other action of the account meanwhile; instead it
		// takes a number far ahead with minSeqNum = the current one (CAP-21): valid whatever
		// other actions land first. Envelopes prepared later take higher numbers, so that they
		// land in the order they were prepared.
		timeout = t.ValidFor
		if timeout <= 0 {
			timeout = 24 * time.Hour
		}
		if m := t.Config.Treasury.MaxValidFor; m > 0 && timeout > m {
			return nil, time.Time{}, inputErr("--valid-for %s is longer than treasury.max_valid_for (%s)", timeout, m)
		}
		next, err := t.preparedSeq(ctx, source, src.Sequence)
		if err != nil {
			return nil, time.Time{}, err
		}
		minSeq := src.Sequence
		acct, pre.MinSequenceNumber = &txnbuild.SimpleAccount{AccountID: source, Sequence: next - 1}, &minSeq
	}
	maxTime := t.now().Add(timeout)
	pre.TimeBounds = txnbuild.NewTimebounds(0, maxTime.Unix())
	built, err := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: acct, IncrementSequenceNum: true, Operations: ops,
		BaseFee: min(fee, limit), Memo: memo, Preconditions: pre})
	if err != nil {
		return nil, time.Time{}, inputErr("%v", err)
	}
	return built, maxTime, nil
}

// preparedGap is how far ahead of the account's sequence a prepared envelope's number is: more
// actions than an anchor makes while an envelope waits for its signers.
const preparedGap = 1 << 20

// preparedSeq is the sequence number of a new prepared envelope of source: preparedGap past the
// account's, and past every envelope of source still waiting for signatures.
func (t *Treasury) preparedSeq(ctx context.Context, source string, current int64) (int64, error) {
	next := current + preparedGap
	ops, err := t.Store.Ops(ctx)
	if err != nil {
		return 0, err
	}
	for _, op := range ops {
		if op.Source == source && op.State == Built && op.AwaitingSignatures && op.Seq >= next {
			next = op.Seq + 1
		}
	}
	return next, nil
}

// sign signs with Signer; in XDROut mode without a key the envelope stays unsigned.
func (t *Treasury) sign(tx *txnbuild.Transaction) (*txnbuild.Transaction, error) {
	if t.Signer == nil {
		if t.XDROut {
			return tx, nil
		}
		return nil, inputErr("no signing key")
	}
	return tx.Sign(t.Config.NetworkPassphrase, t.Signer)
}

// Submit finishes an action prepared with XDROut, from its envelope signed elsewhere: only an
// envelope whose hash is a stored action's is accepted, and then it is resumed exactly once.
func (t *Treasury) Submit(ctx context.Context, envelope string) (*Op, error) {
	gt, err := txnbuild.TransactionFromXDR(strings.TrimSpace(envelope))
	if err != nil {
		return nil, inputErr("the file is not a base64 transaction envelope")
	}
	tx, ok := gt.Transaction()
	if !ok {
		return nil, inputErr("fee bump envelopes are not supported")
	}
	hash, err := tx.HashHex(t.Config.NetworkPassphrase)
	if err != nil {
		return nil, err
	}
	ops, err := t.Store.Ops(ctx)
	if err != nil {
		return nil, err
	}
	var op *Op
	for i := range ops {
		if ops[i].Hash == hash {
			op = &ops[i]
		}
	}
	if op == nil {
		return nil, inputErr("no action prepared by anchor has hash %s; anchor submits only what it prepared", hash)
	}
	if op.State != Built {
		return op, nil // already settled
	}
	// Weigh the signatures first: a short envelope is refused here, with who must still sign,
	// rather than sent for the network to refuse.
	w, err := t.Weights(ctx, envelope)
	if err != nil {
		return nil, err
	}
	if !w.Enough {
		return nil, inputErr("%s is short of signatures: %s; nothing was submitted (add them with anchor sign FILE)", op.ID, w.Short())
	}
	env, err := tx.Base64()
	if err != nil {
		return nil, err
	}
	err = t.Store.TreasuryUpdate(ctx, func(o OpTx, _ transfer.Tx) error {
		cur, err := o.Op(op.ID)
		if err != nil {
			return err
		}
		cur.Envelope, cur.AwaitingSignatures, cur.UpdatedAt = env, false, t.now()
		return o.PutOp(cur)
	})
	if err != nil {
		return nil, err
	}
	op.Envelope, op.AwaitingSignatures = env, false
	if _, err := t.resume(ctx, op); err != nil {
		return op, err
	}
	return t.op(ctx, op.ID)
}

// Prepared returns the stored action of a deposit's credit (for --xdr-out).
func (t *Treasury) Prepared(ctx context.Context, depositID string) (*Op, error) {
	return t.op(ctx, "credit/"+depositID)
}

func memoOf(tr *transfer.Transaction) txnbuild.Memo {
	switch tr.DepositMemoType {
	case "id":
		var id uint64
		fmt.Sscan(tr.DepositMemo, &id)
		return txnbuild.MemoID(id)
	case "text":
		return txnbuild.MemoText(tr.DepositMemo)
	case "hash":
		var h txnbuild.MemoHash
		if b, err := base64Decode(tr.DepositMemo); err == nil {
			copy(h[:], b)
		}
		return h
	}
	return nil
}

// resume finishes a stored action: true when it is settled (confirmed or failed for good),
// false when it expired and a new one may be built.
func (t *Treasury) resume(ctx context.Context, op *Op) (bool, error) {
	for try := 0; try < 6; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(time.Duration(try*try) * 100 * time.Millisecond):
			}
		}
		info, err := t.Horizon.Transaction(ctx, op.Hash)
		if err == nil {
			return true, t.finish(ctx, op, info.Successful, "")
		}
		if !errors.Is(err, horizon.ErrNotFound) {
			continue // unknown: look again
		}
		if expired, err := t.expired(ctx, op); err != nil {
			continue
		} else if expired {
			return false, t.expire(ctx, op)
		}
		res, err := t.Horizon.Submit(ctx, op.Envelope)
		if h := t.Hooks.AfterSubmit; h != nil {
			if herr := h(); herr != nil {
				return false, herr
			}
		}
		var te *horizon.TxError
		switch {
		case err == nil:
			return true, t.finish(ctx, op, res.Successful, "")
		case errors.As(err, &te) && te.Applied():
			return true, t.finish(ctx, op, false, te.Error())
		case errors.As(err, &te) && (te.TxCode == "tx_bad_auth" || te.TxCode == "tx_insufficient_balance" || te.TxCode == "tx_no_source_account"):
			// Refused for good unless someone changes the account: let an operator look, and
			// keep the action built so that nothing is paid twice meanwhile.
			return false, fmt.Errorf("payment %s refused (%s); it stays pending until it expires at %s", op.Hash, te.TxCode, op.MaxTime.Format(time.RFC3339))
		default:
			// tx_bad_seq, tx_too_late, 504, 5xx, 429: look it up and decide again.
		}
	}
	return false, fmt.Errorf("payment %s: %w", op.Hash, ErrOutcomeUnknown)
}

// expired reports whether op can no longer land: the ledger closed past its max time, or the
// source account's sequence reached the op's. Either can also mean that op itself just landed
// (between the caller's lookup and these reads), so the hash is looked up once more before
// saying so: Horizon ingests a transaction and the account it changed together.
func (t *Treasury) expired(ctx context.Context, op *Op) (bool, error) {
	lt, err := t.Horizon.LedgerTime(ctx)
	if err != nil {
		return false, err
	}
	gone := lt.After(op.MaxTime)
	if !gone {
		acct, err := t.Horizon.Account(ctx, op.Source)
		if err != nil {
			return false, err
		}
		gone = acct.Sequence >= op.Seq
	}
	if !gone {
		return false, nil
	}
	if _, err := t.Horizon.Transaction(ctx, op.Hash); err == nil {
		return false, nil // it landed: the caller's next lookup settles it
	} else if !errors.Is(err, horizon.ErrNotFound) {
		return false, err
	}
	return true, nil
}

func (t *Treasury) finish(ctx context.Context, op *Op, success bool, result string) error {
	if success {
		return t.settle(ctx, op, Confirmed, "", func(tr *transfer.Transaction, now time.Time) error {
			tr.StellarTransactionID = op.Hash
			tr.ClaimableBalanceID = op.ClaimableBalanceID
			tr.Message = ""
			return tr.MoveTo(transfer.Completed, t.By, "payment "+op.Hash+" succeeded", now)
		})
	}
	return t.settle(ctx, op, Failed, result, func(tr *transfer.Transaction, now time.Time) error {
		tr.Message = "the payment failed on the network (" + result + "); credit it again"
		return tr.MoveTo(transfer.PendingAnchor, t.By, "payment "+op.Hash+" failed: "+result, now)
	})
}

func (t *Treasury) expire(ctx context.Context, op *Op) error {
	return t.settle(ctx, op, Expired, "", func(tr *transfer.Transaction, now time.Time) error {
		return tr.MoveTo(transfer.PendingAnchor, t.By, "payment "+op.Hash+" expired without reaching the ledger", now)
	})
}

// settle records the final state of a built op and, in the same store transaction, moves the
// transfer it pays (if any). An op already settled is left alone.
func (t *Treasury) settle(ctx context.Context, op *Op, state OpState, result string, move func(*transfer.Transaction, time.Time) error) error {
	now := t.now()
	return t.Store.TreasuryUpdate(ctx, func(ops OpTx, trs transfer.Tx) error {
		cur, err := ops.Op(op.ID)
		if err != nil {
			return err
		}
		if cur.State != Built {
			return nil
		}
		cur.State, cur.Result, cur.UpdatedAt = state, result, now
		if err := ops.PutOp(cur); err != nil {
			return err
		}
		if state == Confirmed && cur.ReturnOf != "" {
			return settleReturned(ops, cur, now)
		}
		if op.TransferID == "" {
			return nil
		}
		tr, err := trs.Get(op.TransferID)
		if err != nil {
			return err
		}
		if err := move(tr, now); err != nil {
			return err
		}
		return putMoved(trs, tr, now)
	})
}

// Moved is what an action moves out of its source account.
type Moved struct {
	Asset       string // CODE:ISSUER
	Amount      int64  // stroops
	TransferIDs []string
	ReturnOf    string // the unmatched payment a return sends back
}

// Execute carries out an on-chain action not tied to a SEP-6 transaction (an ad-hoc payment, a
// burn, a home domain), exactly once per id: an id already confirmed is not done again, one in
// flight is resumed, one that expired is rebuilt, one that failed is reported.
// Moved (asset CODE:ISSUER and stroops) is recorded with the action for reconcile.
func (t *Treasury) Execute(ctx context.Context, id, purpose string, source string, signer *keypair.Full, ops []txnbuild.Operation, memo txnbuild.Memo, moved Moved) (*Op, error) {
	return t.execute(ctx, id, purpose, source, signer, ops, memo, moved, nil)
}

// requireAccepted re-reads a transfer in the store transaction that records an action for it,
// and refuses unless its customer is ACCEPTED.
func (t *Treasury) requireAccepted(trs transfer.Tx, transferID string) error {
	cur, err := trs.Get(transferID)
	if err != nil {
		return err
	}
	return transfer.RequireAccepted(trs, t.Config, cur)
}

// compliance refuses (a ComplianceError) unless the transfer's customer is ACCEPTED now.
func (t *Treasury) compliance(ctx context.Context, transferID string) error {
	return t.Store.TreasuryView(ctx, func(_ OpTx, trs transfer.Tx) error { return t.requireAccepted(trs, transferID) })
}

// execute is Execute with a guard run in the store transaction that records a new action
// (nil for none): the action is built only if the guard passes there.
func (t *Treasury) execute(ctx context.Context, id, purpose string, source string, signer *keypair.Full, ops []txnbuild.Operation, memo txnbuild.Memo, moved Moved, guard func(OpTx, transfer.Tx) error) (*Op, error) {
	if !t.DryRun {
		var unlock func()
		var err error
		if ctx, unlock, err = t.lockSource(ctx, source); err != nil {
			return nil, err
		}
		defer unlock()
	}
	for round := 0; round < 4; round++ {
		var op *Op
		if err := t.Store.TreasuryView(ctx, func(o OpTx, _ transfer.Tx) error {
			var err error
			if op, err = o.Op(id); errors.Is(err, ErrNotFound) {
				op, err = nil, nil
			}
			return err
		}); err != nil {
			return nil, err
		}
		if op != nil {
			switch op.State {
			case Confirmed:
				return op, nil
			case Failed:
				// Nothing moved: a new attempt under the same id, the failed one kept beside it.
			case Built:
				if t.DryRun {
					return nil, inFlight(op)
				}
				if op.AwaitingSignatures {
					if t.XDROut {
						return op, nil // prepared already: hand out the same envelope again
					}
					return op, fmt.Errorf("%w (prepared envelope %s)", ErrAwaitingSignatures, op.Hash)
				}
				done, err := t.resume(ctx, op)
				if err != nil {
					return op, err
				}
				if done {
					return t.op(ctx, id)
				}
				continue
			}
		}
		if t.DryRun {
			return t.plan(ctx, id, purpose, source, ops, memo)
		}
		draft, err := t.draftAction(id, purpose, source, ops, memo, moved)
		if err != nil {
			return nil, err
		}
		if err := t.gate(ctx, draft); err != nil {
			return nil, err
		}
		if signer == nil && !t.XDROut {
			return nil, inputErr("no signing key for %s", source)
		}
		if signer != nil && signer.Address() != source {
			return nil, inputErr("the signing key is not %s's", source)
		}
		built, maxTime, err := t.newTx(ctx, source, ops, memo)
		if err != nil {
			return nil, err
		}
		signed := built
		if signer != nil {
			if signed, err = built.Sign(t.Config.NetworkPassphrase, signer); err != nil {
				return nil, err
			}
		}
		env, hash, err := t.encode(signed)
		if err != nil {
			return nil, err
		}
		now := t.now()
		rec := &Op{V: 1, ID: id, Purpose: purpose, Source: source, Seq: signed.SequenceNumber(), Envelope: env, Hash: hash, AwaitingSignatures: t.XDROut,
			MaxTime: time.Unix(maxTime.Unix(), 0).UTC(), State: Built, CreatedAt: now, UpdatedAt: now, Asset: moved.Asset, Amount: moved.Amount, TransferIDs: moved.TransferIDs, ReturnOf: moved.ReturnOf, By: t.By}
		if err := t.Store.TreasuryUpdate(ctx, func(o OpTx, trs transfer.Tx) error {
			cur, err := o.Op(id)
			switch {
			case err == nil && (cur.State == Built || cur.State == Confirmed):
				return errors.New("another run of " + id + " is in progress")
			case err == nil && cur.State == Failed:
				// Keep the failed attempt under its own id for the record.
				rec.Attempt = cur.Attempt + 1
				cur.ID = fmt.Sprintf("%s#%d", id, cur.Attempt)
				if err := o.PutOp(cur); err != nil {
					return err
				}
			case err != nil && !errors.Is(err, ErrNotFound):
				return err
			}
			if guard != nil {
				if err := guard(o, trs); err != nil {
					return err
				}
			}
			return o.PutOp(rec)
		}); err != nil {
			return nil, err
		}
		if h := t.Hooks.AfterStore; h != nil {
			if err := h(); err != nil {
				return nil, err
			}
		}
		if t.XDROut {
			return rec, nil
		}
		done, err := t.resume(ctx, rec)
		if err != nil {
			return rec, err
		}
		if done {
			op, err := t.op(ctx, id)
			if err == nil && op.State == Failed {
				return op, fmt.Errorf("%s failed on the network (%s)", id, op.Result)
			}
			return op, err
		}
	}
	return nil, errors.New(id + ": gave up after rebuilding it 4 times")
}

// Action returns the stored action id (ErrNotFound if there is none).
func (t *Treasury) Action(ctx context.Context, id string) (*Op, error) { return t.op(ctx, id) }

func (t *Treasury) op(ctx context.Context, id string) (*Op, error) {
	var op *Op
	err := t.Store.TreasuryView(ctx, func(o OpTx, _ transfer.Tx) error {
		var err error
		op, err = o.Op(id)
		return err
	})
	return op, err
}
