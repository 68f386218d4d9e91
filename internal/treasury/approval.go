package treasury

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/transfer"
)

// ErrNoProposal: no action of this id waits for, or had, an approval.
var ErrNoProposal = errors.New("no proposal with this action id (anchor approvals list shows them)")

// Kinds of proposal: how an approval carries the action out.
const (
	ProposeCredit = "credit" // Credit(TransferID): the credit decides its shape when it runs
	ProposeReturn = "return" // ReturnPayment(PaymentID)
	ProposeAction = "action" // the stored operations, as proposed (payments, burns)
)

// Proposal is an action above its asset's approval threshold (treasury.approval_threshold): it
// is stored, not built, until a second OS user approves it, and only then signed and submitted
// (under the same action id, so exactly once as any action).
type Proposal struct {
	V          int    `json:"v"`
	ID         string `json:"id"` // the action id (credit/<deposit>, pay/<ref>, burn/<ref>, return/<payment>, ...)
	Kind       string `json:"kind"`
	Purpose    string `json:"purpose"`
	TransferID string `json:"transfer_id,omitempty"`
	PaymentID  string `json:"payment_id,omitempty"`
	Source     string `json:"source"`
	// Envelope holds the operations and memo of an action proposal: an unsigned transaction
	// with a placeholder sequence, never submitted (the approval builds a fresh one from it).
	Envelope    string     `json:"envelope,omitempty"`
	Asset       string     `json:"asset"`
	Amount      int64      `json:"amount"`
	TransferIDs []string   `json:"transfer_ids,omitempty"`
	ReturnOf    string     `json:"return_of,omitempty"`
	ProposedBy  string     `json:"proposed_by"`
	ProposedAt  time.Time  `json:"proposed_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
}

// State is "approved", "expired" (at now, not approved in time) or "proposed".
func (p *Proposal) State(now time.Time) string {
	switch {
	case p.ApprovedAt != nil:
		return "approved"
	case now.After(p.ExpiresAt):
		return "expired"
	default:
		return "proposed"
	}
}

// ProposedError says that an action waits for a second person: it was proposed now, or earlier.
type ProposedError struct {
	P   *Proposal
	New bool
}

func (e *ProposedError) Error() string {
	p := e.P
	what := "waits for approval since " + p.ProposedAt.UTC().Format(time.RFC3339)
	if e.New {
		what = "proposed"
	}
	return fmt.Sprintf("%s: %s %s is above the approval threshold: %s by %s; another OS user must run anchor approve %s before %s",
		p.ID, money.Format(p.Amount), assetCode(p.Asset), what, p.ProposedBy, p.ID, p.ExpiresAt.UTC().Format(time.RFC3339))
}

// Proposed marks the error as "waiting for a second person" rather than a failure.
func (e *ProposedError) Proposed() bool { return true }

func assetCode(key string) string {
	code, _, _ := strings.Cut(key, ":")
	return code
}

// osUser is the OS user part of an actor ("alice (--by Alice)" → "alice"): the two-person rule
// compares people, not notes.
func osUser(actor string) string {
	u, _, _ := strings.Cut(actor, " (--by ")
	return strings.TrimSpace(u)
}

// threshold returns the approval threshold of asset CODE:ISSUER in stroops, 0 for none.
func (t *Treasury) threshold(asset string) int64 {
	code := assetCode(asset)
	for k, v := range t.Config.Treasury.ApprovalThreshold {
		if strings.EqualFold(k, code) {
			n, err := money.Parse(v)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

func (t *Treasury) expiry() time.Duration {
	if d := t.Config.Treasury.ApprovalExpiry; d > 0 {
		return d
	}
	return 24 * time.Hour
}

// gate applies the two-person rule to an action about to be built: nil when it may go ahead
// (under the threshold, or approved), a ProposedError otherwise, after storing the proposal
// made of draft when there is none (or the last one expired unapproved).
func (t *Treasury) gate(ctx context.Context, draft Proposal) error {
	limit := t.threshold(draft.Asset)
	if limit == 0 || draft.Amount <= limit || t.DryRun {
		return nil
	}
	now := t.now()
	var out error
	err := t.Store.TreasuryUpdate(ctx, func(o OpTx, _ transfer.Tx) error {
		p, err := o.Proposal(draft.ID)
		switch {
		case err == nil && p.ApprovedAt != nil:
			return nil
		case err == nil && p.State(now) == "proposed":
			out = &ProposedError{P: p}
			return nil
		case err != nil && !errors.Is(err, ErrNoProposal):
			return err
		}
		draft.V, draft.ProposedBy, draft.ProposedAt, draft.ExpiresAt = 1, t.By, now, now.Add(t.expiry())
		out = &ProposedError{P: &draft, New: true}
		return o.PutProposal(&draft)
	})
	if err != nil {
		return err
	}
	return out
}

// draftAction is the proposal of an action Execute would build: its operations and memo kept
// as an unsigned, never-submitted envelope.
func (t *Treasury) draftAction(id, purpose, source string, ops []txnbuild.Operation, memo txnbuild.Memo, moved Moved) (Proposal, error) {
	d := Proposal{ID: id, Kind: ProposeAction, Purpose: purpose, Source: source, Asset: moved.Asset, Amount: moved.Amount, TransferIDs: moved.TransferIDs, ReturnOf: moved.ReturnOf}
	if moved.ReturnOf != "" {
		d.Kind, d.PaymentID = ProposeReturn, moved.ReturnOf
		return d, nil
	}
	tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &txnbuild.SimpleAccount{AccountID: source}, Operations: ops,
		Memo: memo, BaseFee: txnbuild.MinBaseFee, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	if err != nil {
		return d, err
	}
	d.Envelope, err = tx.Base64()
	return d, err
}

// Proposals lists the proposals, oldest first.
func (t *Treasury) Proposals(ctx context.Context) ([]Proposal, error) { return t.Store.Proposals(ctx) }

// Approve records t.By's approval of a proposed action and carries it out: signed, stored and
// submitted exactly once like any action. The proposer cannot approve their own action (the
// same OS user, whatever --by said), and a proposal past its expiry cannot be approved. An
// action approved before is resumed (a retry after a timeout), never approved twice.
func (t *Treasury) Approve(ctx context.Context, id string) (*Op, error) {
	id, err := t.resolveProposal(ctx, id)
	if err != nil {
		return nil, err
	}
	now := t.now()
	var p *Proposal
	// With DryRun the checks are made and the action planned, and nothing is recorded.
	record := t.Store.TreasuryUpdate
	if t.DryRun {
		record = t.Store.TreasuryView
	}
	err = record(ctx, func(o OpTx, _ transfer.Tx) error {
		var err error
		if p, err = o.Proposal(id); err != nil {
			return err
		}
		switch p.State(now) {
		case "approved":
			return nil
		case "expired":
			return inputErr("%s expired at %s without an approval; propose it again by running the command again", id, p.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if osUser(t.By) == osUser(p.ProposedBy) {
			return inputErr("%s was proposed by %s: another OS user must approve it", id, osUser(p.ProposedBy))
		}
		if t.DryRun {
			return nil
		}
		p.ApprovedBy, p.ApprovedAt = t.By, &now
		return o.PutProposal(p)
	})
	if err != nil {
		return nil, err
	}
	switch p.Kind {
	case ProposeCredit:
		if t.DryRun {
			return t.PlanCredit(ctx, p.TransferID)
		}
		if _, err := t.Credit(ctx, p.TransferID); err != nil {
			return nil, err
		}
		return t.op(ctx, id)
	case ProposeReturn:
		return t.ReturnPayment(ctx, p.PaymentID)
	}
	gt, err := txnbuild.TransactionFromXDR(p.Envelope)
	if err != nil {
		return nil, fmt.Errorf("%s: stored proposal: %w", id, err)
	}
	tx, ok := gt.Transaction()
	if !ok {
		return nil, fmt.Errorf("%s: stored proposal is not a transaction", id)
	}
	return t.Execute(ctx, id, p.Purpose, p.Source, t.Signer, tx.Operations(), tx.Memo(), Moved{Asset: p.Asset, Amount: p.Amount, TransferIDs: p.TransferIDs})
}

// resolveProposal returns the proposal id that id, or a unique prefix of it, names.
func (t *Treasury) resolveProposal(ctx context.Context, id string) (string, error) {
	list, err := t.Store.Proposals(ctx)
	if err != nil {
		return "", err
	}
	var matches []string
	for _, p := range list {
		if p.ID == id {
			return id, nil
		}
		if strings.HasPrefix(p.ID, id) {
			matches = append(matches, p.ID)
		}
	}
	switch len(matches) {
	case 0:
		return "", ErrNoProposal
	case 1:
		return matches[0], nil
	}
	return "", inputErr("%q names %d proposals: %s", id, len(matches), strings.Join(matches, ", "))
}
