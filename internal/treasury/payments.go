package treasury

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/transfer"
)

// ErrPaymentNotFound: no unmatched payment has this id.
var ErrPaymentNotFound = errors.New("unmatched payment not found")

// How an unmatched payment was settled.
const (
	SettledReturn     = "return"     // sent back to its sender
	SettledWithdrawal = "withdrawal" // tied to a withdrawal, which moved on
	SettledNote       = "note"       // acknowledged (a top-up, a payment settled off-chain)
)

// Settlement is how an operator settled an unmatched payment.
type Settlement struct {
	Action       string    `json:"action"`
	By           string    `json:"by"`
	At           time.Time `json:"at"`
	Note         string    `json:"note,omitempty"`
	WithdrawalID string    `json:"withdrawal_id,omitempty"`
	// ActionID and Hash are the return's treasury action and its Stellar transaction.
	ActionID string `json:"action_id,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// State is "unsettled", "returned" or "resolved".
func (u *Unmatched) State() string {
	switch {
	case u.Settlement == nil:
		return "unsettled"
	case u.Settlement.Action == SettledReturn:
		return "returned"
	default:
		return "resolved"
	}
}

// settled refuses a second settlement of u, saying how it was settled.
func settled(u *Unmatched) error {
	if u.Settlement == nil {
		return nil
	}
	s := u.Settlement
	how := map[string]string{SettledReturn: "returned (" + s.Hash + ")", SettledWithdrawal: "tied to withdrawal " + s.WithdrawalID, SettledNote: "resolved (" + s.Note + ")"}[s.Action]
	return &AlreadySettledError{Msg: fmt.Sprintf("payment %s was %s by %s at %s; nothing changed", u.PagingToken, how, s.By, s.At.UTC().Format(time.RFC3339))}
}

// AlreadySettledError: the payment was settled before (a repeat, or a second way to settle it).
type AlreadySettledError struct{ Msg string }

func (e *AlreadySettledError) Error() string { return e.Msg }

// settleReturned records, in the store transaction that confirms a return action, that its
// payment is returned: a crash can never leave the money sent back and the payment open.
func settleReturned(ops OpTx, op *Op, now time.Time) error {
	u, err := ops.Unmatched(op.ReturnOf)
	if err != nil {
		return err
	}
	if u.Settlement != nil {
		return nil
	}
	u.Settlement = &Settlement{Action: SettledReturn, By: opBy(op), At: now, ActionID: op.ID, Hash: op.Hash}
	return ops.PutUnmatched(u)
}

// opBy is the operator recorded on an action ("" when none was).
func opBy(op *Op) string {
	if op.By != "" {
		return op.By
	}
	return "anchor"
}

// Payment returns the recorded unmatched payment id (its paging token).
func (t *Treasury) Payment(ctx context.Context, id string) (*Unmatched, error) {
	var u *Unmatched
	err := t.Store.TreasuryView(ctx, func(o OpTx, _ transfer.Tx) error {
		var err error
		u, err = o.Unmatched(id)
		return err
	})
	return u, err
}

// ReturnPayment sends an unmatched payment back to its sender, exactly once: the same amount of
// the same asset from the account that received it, with a return memo holding the original
// transaction's hash. The payment is settled in the store transaction that confirms the return;
// running it again resumes the return in flight or says it was done. A payment settled another
// way is never returned.
func (t *Treasury) ReturnPayment(ctx context.Context, id string) (*Op, error) {
	u, err := t.Payment(ctx, id)
	if err != nil {
		return nil, err
	}
	opID := "return/" + u.PagingToken
	if u.Settlement != nil {
		if u.Settlement.Action == SettledReturn {
			op, err := t.op(ctx, opID)
			if err != nil {
				return nil, err
			}
			op.AlreadyDone = true
			return op, nil
		}
		return nil, settled(u)
	}
	amount, err := transfer.ParseAmount(u.Amount)
	if err != nil {
		return nil, inputErr("payment %s: amount %q is not valid", id, u.Amount)
	}
	asset, err := t.assetByKey(u.Asset)
	if err != nil {
		return nil, err
	}
	var memo txnbuild.MemoReturn
	h, err := hex.DecodeString(u.TxHash)
	if err != nil || len(h) != len(memo) {
		return nil, inputErr("payment %s has no transaction hash to refer to", id)
	}
	copy(memo[:], h)
	ops := []txnbuild.Operation{&txnbuild.Payment{Destination: u.From, Amount: transfer.FormatAmount(amount), Asset: asset}}
	op, err := t.execute(ctx, opID, "return", u.Account, t.Signer, ops, memo,
		Moved{Asset: u.Asset, Amount: amount, ReturnOf: u.PagingToken},
		func(o OpTx, _ transfer.Tx) error {
			cur, err := o.Unmatched(u.PagingToken)
			if err != nil {
				return err
			}
			return settled(cur)
		})
	return op, err
}

func (t *Treasury) assetByKey(key string) (txnbuild.CreditAsset, error) {
	for _, a := range t.Config.Assets {
		if a.Code+":"+a.Issuer == key {
			return txnbuild.CreditAsset{Code: a.Code, Issuer: a.Issuer}, nil
		}
	}
	return txnbuild.CreditAsset{}, inputErr("asset %s is not configured: anchor cannot send it back; resolve the payment with --note once settled", key)
}

// ResolvePayment settles an unmatched payment without sending it back: tied to a withdrawal
// (which records the payment as its own, exactly as the watcher would have, and moves on to
// pending_anchor), or acknowledged with a note. Both happen in one store transaction, refused
// when the payment is settled already or a return of it is in flight.
func (t *Treasury) ResolvePayment(ctx context.Context, transfers *transfer.Service, id, withdrawalID, note string) (*Unmatched, error) {
	if (withdrawalID == "") == (note == "") {
		return nil, inputErr("resolve a payment with a withdrawal or a note, one of them")
	}
	var out *Unmatched
	now := t.now()
	err := t.Store.TreasuryUpdate(ctx, func(o OpTx, trs transfer.Tx) error {
		u, err := o.Unmatched(id)
		if err != nil {
			return err
		}
		if s := u.Settlement; s != nil && s.Action != SettledReturn && s.WithdrawalID == withdrawalID && (withdrawalID != "" || s.Note == note) {
			u.AlreadyDone, out = true, u // the same settlement again: a retried script
			return nil
		}
		if err := settled(u); err != nil {
			return err
		}
		if op, err := o.Op("return/" + u.PagingToken); err == nil && op.State != Failed && op.State != Expired {
			return inputErr("a return of payment %s is %s (transaction %s): run anchor payment return %s to finish it", id, op.State, op.Hash, id)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		s := &Settlement{Action: SettledNote, By: t.By, At: now, Note: note}
		if withdrawalID != "" {
			s = &Settlement{Action: SettledWithdrawal, By: t.By, At: now, WithdrawalID: withdrawalID, Note: note}
			w, err := trs.Get(withdrawalID)
			if err != nil {
				return err
			}
			if w.Kind != transfer.Withdrawal {
				return inputErr("%s is a %s, not a withdrawal", w.ID, w.Kind)
			}
			if key := w.AssetCode + ":" + w.AssetIssuer; key != u.Asset {
				return inputErr("payment %s is %s; withdrawal %s is for %s", id, u.Asset, w.ID, key)
			}
			if w.WithdrawAnchorAccount != "" && w.WithdrawAnchorAccount != u.Account {
				return inputErr("payment %s went to %s; withdrawal %s is paid into %s", id, u.Account, w.ID, w.WithdrawAnchorAccount)
			}
			if w.AmountIn != nil {
				return inputErr("withdrawal %s already received %s (%s); return this payment or resolve it with --note", w.ID, transfer.FormatAmount(*w.AmountIn), w.StellarTransactionID)
			}
			before := w.Status
			if err := transfers.ApplyInTx(trs, w, transfer.Action{Name: transfer.ActWithdrawReceived, By: t.By, Amount: u.Amount,
				StellarID: u.TxHash, OperationID: u.PagingToken, Reason: "unmatched payment " + u.PagingToken + " resolved by the operator"}, now); err != nil {
				return err
			}
			if err := trs.Put(w); err != nil {
				return err
			}
			if w.Status != before && w.OnChangeCallback != "" {
				if err := trs.EnqueueCallback(w.ID, now); err != nil {
					return err
				}
			}
		}
		u.Settlement = s
		out = u
		return o.PutUnmatched(u)
	})
	return out, err
}
