package treasury

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/transfer"
)

// Unmatched is a payment into a withdrawal account that matched no withdrawal; it is recorded
// for the operator (`anchor tx list --unmatched`) and never credited.
type Unmatched struct {
	V           int       `json:"v"`
	PagingToken string    `json:"paging_token"`
	Account     string    `json:"account"`
	TxHash      string    `json:"stellar_transaction_id"`
	From        string    `json:"from"`
	Asset       string    `json:"asset"`
	Amount      string    `json:"amount"`
	MemoType    string    `json:"memo_type,omitempty"`
	Memo        string    `json:"memo,omitempty"`
	TransferID  string    `json:"transfer_id,omitempty"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
	// Settlement says how an operator settled it (`anchor payment return|resolve`); nil while
	// it is open, which keeps reconcile red.
	Settlement *Settlement `json:"settlement,omitempty"`
	// AlreadyDone is set on an answer (never stored) when the settlement asked for was made
	// before and nothing changed now.
	AlreadyDone bool `json:"already_done,omitempty"`
}

// Watcher matches payments into the withdrawal accounts to pending withdrawals by memo and
// asset, and moves them to pending_anchor with amount_in and stellar_transaction_id. Its cursor
// is stored in the same store transaction as what it did with each payment, so that a restart
// neither misses nor repeats one.
type Watcher struct {
	Store     Store
	Config    *config.Config
	Payments  horizon.PaymentSource
	Transfers *transfer.Service
	Now       func() time.Time
	// OnChange is called after a withdrawal moved (to wake callbacks).
	OnChange func()
	// caughtUp is when the last poll that read every payment there was began (unix ns).
	caughtUp atomic.Int64
}

// CaughtUpAt is when the last complete poll began: every payment made before then is handled.
// Zero before the first one.
func (w *Watcher) CaughtUpAt() time.Time {
	if n := w.caughtUp.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC()
}

// Accounts are the withdrawal accounts to watch.
func (w *Watcher) Accounts() []string {
	seen := map[string]bool{}
	var out []string
	for i := range w.Config.Assets {
		a := &w.Config.Assets[i]
		if acct := transfer.WithdrawAccount(a); a.Withdraw.Enabled && !seen[acct] {
			seen[acct] = true
			out = append(out, acct)
		}
	}
	return out
}

// own reports whether account is one of the anchor's (an issuer or distribution account).
func (w *Watcher) own(account string) bool {
	for _, a := range w.Config.Assets {
		if account == a.Issuer || account == a.DistributionAccount {
			return true
		}
	}
	return false
}

// Poll reads every new payment of every withdrawal account once.
func (w *Watcher) Poll(ctx context.Context) (matched, unmatched int, err error) {
	began := time.Now()
	defer func() {
		if err == nil {
			w.caughtUp.Store(began.UnixNano())
		}
	}()
	for _, account := range w.Accounts() {
		for {
			var cursor string
			if err := w.Store.TreasuryView(ctx, func(o OpTx, _ transfer.Tx) error {
				var err error
				cursor, err = o.Cursor(account)
				return err
			}); err != nil {
				return matched, unmatched, err
			}
			recs, err := w.Payments.Payments(ctx, account, cursor, 200)
			if errors.Is(err, horizon.ErrNotFound) {
				break // the account does not exist yet
			}
			if err != nil {
				return matched, unmatched, err
			}
			if len(recs) == 0 {
				break
			}
			for _, rec := range recs {
				m, u, err := w.handle(ctx, account, rec)
				if err != nil {
					return matched, unmatched, err
				}
				matched += m
				unmatched += u
			}
		}
	}
	return matched, unmatched, nil
}

// handle processes one payment and advances the cursor past it, in one store transaction.
func (w *Watcher) handle(ctx context.Context, account string, rec horizon.PaymentRecord) (matched, unmatched int, err error) {
	now := w.now()
	var moved bool
	// An exchange is priced before the store transaction (its price source may be a network
	// call); the quote holds for a payment made before it expired (its ledger time).
	paid := transfer.Action{Name: transfer.ActWithdrawReceived, By: "anchor", Amount: rec.Amount,
		StellarID: rec.TxHash, OperationID: rec.PagingToken, Reason: "payment received on Stellar (" + rec.Kind + ")", ReceivedAt: rec.At}
	if rec.MemoType == "id" && rec.Successful && rec.To == account {
		paid = w.Transfers.PricePayment(ctx, transfer.WithdrawMemoNamespace(account), rec.Memo, paid)
	}
	err = w.Store.TreasuryUpdate(ctx, func(o OpTx, trs transfer.Tx) error {
		matched, unmatched, moved = 0, 0, false
		if err := o.PutCursor(account, rec.PagingToken); err != nil {
			return err
		}
		if !rec.Successful || rec.To != account || rec.Kind == "other" || rec.Kind == "create_account" || w.own(rec.From) {
			return nil // not a user's payment in: our own treasury movements, fees, account creation
		}
		miss := func(reason, transferID string) error {
			if _, err := o.UnmatchedAt(account, rec.PagingToken); err == nil {
				return nil // recorded already (a replay from an older cursor): keep its settlement
			} else if !errors.Is(err, ErrPaymentNotFound) {
				return err
			}
			unmatched = 1
			return o.PutUnmatched(&Unmatched{V: 1, PagingToken: rec.PagingToken, Account: account, TxHash: rec.TxHash, From: rec.From,
				Asset: rec.Asset, Amount: rec.Amount, MemoType: rec.MemoType, Memo: rec.Memo, TransferID: transferID, Reason: reason, At: now})
		}
		if rec.MemoType != "id" {
			return miss("no id memo: cannot tell which withdrawal it pays", "")
		}
		id, err := trs.MemoOwner(transfer.WithdrawMemoNamespace(account), rec.Memo)
		if errors.Is(err, transfer.ErrNotFound) {
			return miss("unknown memo", "")
		}
		if err != nil {
			return err
		}
		t, err := trs.Get(id)
		if err != nil {
			return err
		}
		if t.StellarOperationID == rec.PagingToken {
			return nil // this very payment is recorded already (a replay from an older cursor)
		}
		if t.StellarTransactionID == rec.TxHash {
			if t.StellarOperationID == "" && t.Status != transfer.PendingUserTransferStart {
				// Recorded by hand with its hash only (anchor withdraw received --stellar-tx):
				// this payment is the one recorded; tie it to its operation.
				t.StellarOperationID = rec.PagingToken
				return trs.Put(t)
			}
			return miss("excess: another payment of the same Stellar transaction already paid this withdrawal; settle it with the user", id)
		}
		if t.Kind != transfer.Withdrawal || rec.Asset != t.AssetCode+":"+t.AssetIssuer {
			return miss("wrong asset: the withdrawal is for "+t.AssetCode+":"+t.AssetIssuer, id)
		}
		if t.Status != transfer.PendingUserTransferStart {
			return miss("the withdrawal is "+string(t.Status)+", not waiting for a payment", id)
		}
		got, err := transfer.ParseAmount(rec.Amount)
		if err != nil {
			return miss("amount "+rec.Amount+" is not valid", id)
		}
		if t.RequestedAmount != nil && got != *t.RequestedAmount {
			kind := "short"
			if got > *t.RequestedAmount {
				kind = "excess"
			}
			return miss(fmt.Sprintf("%s amount: received %s, the withdrawal asked for %s", kind, rec.Amount, transfer.FormatAmount(*t.RequestedAmount)), id)
		}
		before := t.Status
		err = w.Transfers.ApplyInTx(trs, t, paid, now)
		if err != nil {
			return err
		}
		if err := trs.Put(t); err != nil {
			return err
		}
		matched, moved = 1, t.Status != before
		if moved && t.OnChangeCallback != "" {
			return trs.EnqueueCallback(t.ID, now)
		}
		return nil
	})
	if err == nil && moved && w.OnChange != nil {
		w.OnChange()
	}
	return matched, unmatched, err
}
