package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/money"
)

// Action is an operator's move on a transaction.
type Action struct {
	Name       string `json:"name"` // received, withdraw-received, paid, hold, release, fail, refund
	By         string `json:"by,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Amount     string `json:"amount,omitempty"` // received: amount that arrived; refund: amount refunded (default amount_in)
	Fee        string `json:"fee,omitempty"`    // refund: fee charged for the refund
	ExternalID string `json:"external_id,omitempty"`
	StellarID  string `json:"stellar_id,omitempty"`
	// OperationID is the paging token of the payment operation (withdraw-received by the watcher).
	OperationID string `json:"operation_id,omitempty"`
	PaymentID   string `json:"payment_id,omitempty"` // refund: payment reference
	// ReceivedAt is when the money arrived (the watcher: the Stellar transaction's time); zero:
	// now. A firm quote holds for money received before it expires.
	ReceivedAt time.Time `json:"-"`

	priced   *conversion // PriceReceipt's price of an exchange
	priceErr error       // why PriceReceipt found none
}

// Operator actions.
const (
	ActReceived         = "received"
	ActWithdrawReceived = "withdraw-received"
	ActPaid             = "paid"
	ActHold             = "hold"
	ActRelease          = "release"
	ActFail             = "fail"
	ActRefund           = "refund"
	// ActPrice prices an exchange whose money arrived when no price could be had.
	ActPrice = "price"
)

// Act applies an operator action through the state machine, in one store transaction.
func (s *Service) Act(ctx context.Context, id string, a Action) (*Transaction, error) {
	if strings.TrimSpace(a.By) == "" {
		return nil, inputErr("the action needs an operator (--by)")
	}
	if a.Name == ActReceived || a.Name == ActWithdrawReceived || a.Name == ActPrice {
		// An exchange is priced before the store transaction (the source may be a network call).
		if t, err := s.ShowTx(ctx, id); err == nil && t.Exchange() {
			a = s.PriceReceipt(ctx, t, a)
			var ie *InputError
			switch {
			case errors.As(a.priceErr, &ie):
				return nil, ie // e.g. more decimals than the off-chain asset has
			case a.Name == ActPrice && a.priceErr != nil:
				return nil, fmt.Errorf("price %s: %w", t.ID, a.priceErr)
			}
		}
	}
	now := s.now()
	var out *Transaction
	var queued bool
	err := s.Store.TransferUpdate(ctx, func(tx Tx) error {
		queued = false
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		before := t.Status
		if err := s.apply(tx, t, a, now); err != nil {
			return err
		}
		if err := tx.Put(t); err != nil {
			return err
		}
		if t.Status != before && t.OnChangeCallback != "" {
			queued = true
			if err := tx.EnqueueCallback(t.ID, now); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err == nil && queued {
		s.wake()
	}
	return out, err
}

// ApplyInTx applies an action to t inside a store transaction the caller runs (the withdrawal
// watcher records a payment and its cursor together). The caller puts t.
func (s *Service) ApplyInTx(tx Tx, t *Transaction, a Action, now time.Time) error {
	return s.apply(tx, t, a, now)
}

// WithdrawMemoNamespace is where withdrawal memos of an anchor account are reserved.
func WithdrawMemoNamespace(account string) string { return "withdraw-memo:" + account }

func (s *Service) apply(tx Tx, t *Transaction, a Action, now time.Time) error {
	switch a.Name {
	case ActReceived, ActWithdrawReceived:
		want := Deposit
		if a.Name == ActWithdrawReceived {
			want = Withdrawal
		}
		if t.Kind != want {
			return inputErr("%s is a %s", t.ID, t.Kind)
		}
		v, err := ParseAmount(a.Amount)
		if err != nil {
			return inputErr("amount: %v", err)
		}
		if a.Name == ActReceived {
			if t.FundsReceivedAt != nil {
				return inputErr("the fiat of deposit %s was already recorded at %s (external id %s)", t.ID, t.FundsReceivedAt.Format(time.RFC3339), t.ExternalTransactionID)
			}
			if a.ExternalID == "" {
				return inputErr("the external id of the incoming transfer is required")
			}
			if other, err := tx.ByExternalID(a.ExternalID); err == nil && other != t.ID {
				return inputErr("external id %q already belongs to transaction %s", a.ExternalID, other)
			}
			t.ExternalTransactionID = a.ExternalID
		} else {
			if a.StellarID == "" {
				return inputErr("the Stellar transaction hash is required")
			}
			if other, err := tx.ByStellarID(a.StellarID); err == nil && other != t.ID {
				return inputErr("Stellar transaction %s already belongs to transaction %s", a.StellarID, other)
			}
			t.StellarTransactionID, t.StellarOperationID = a.StellarID, a.OperationID
		}
		asset := s.assetOf(t)
		dir := asset.Deposit
		if t.Kind == Withdrawal {
			dir = asset.Withdraw
		}
		t.AmountIn = &v
		if t.Exchange() {
			return s.exchangeReceived(tx, t, a, v, &dir, now)
		}
		if st, why := limits(&dir, v); st != "" {
			return t.MoveTo(st, a.By, "received "+FormatAmount(v)+", "+why, now)
		}
		fee, err := s.fee(t, v)
		if err != nil {
			return err
		}
		out := v - fee
		t.AmountFee, t.AmountOut = &fee, &out
		reason := nonEmpty(a.Reason, "funds received")
		if t.Kind == Withdrawal {
			return t.MoveTo(PendingAnchor, a.By, reason, now)
		}
		return s.depositReceived(tx, t, a.By, reason, now)
	case ActPaid:
		if t.Kind != Withdrawal {
			return inputErr("%s is a %s; paid is for withdrawals", t.ID, t.Kind)
		}
		if a.ExternalID == "" {
			return inputErr("the external id of the outgoing transfer is required")
		}
		if err := RequireAccepted(tx, s.Config, t); err != nil {
			return err
		}
		if t.Exchange() && t.AmountOut == nil {
			return inputErr("withdrawal %s is not priced yet, so what to pay is unknown: anchor tx price %s", t.ID, t.ID)
		}
		t.ExternalTransactionID = a.ExternalID
		return t.MoveTo(Completed, a.By, nonEmpty(a.Reason, "funds sent to the customer"), now)
	case ActHold:
		if a.Reason == "" {
			return inputErr("a hold needs a reason")
		}
		return t.MoveTo(OnHold, a.By, a.Reason, now)
	case ActRelease:
		if t.Status != OnHold {
			return inputErr("%s is %s, not on_hold", t.ID, t.Status)
		}
		return t.MoveTo(t.HeldFrom, a.By, nonEmpty(a.Reason, "released"), now)
	case ActFail:
		if a.Reason == "" {
			return inputErr("failing a transaction needs a reason")
		}
		t.Message = a.Reason
		return t.MoveTo(Error, a.By, a.Reason, now)
	case ActRefund:
		if a.PaymentID == "" {
			return inputErr("the refund payment's id is required")
		}
		return s.refund(t, a, now)
	case ActPrice:
		return s.priceLater(t, a, now)
	}
	return inputErr("unknown action %q", a.Name)
}

// fee is the anchor's fee on amount v of t's asset and direction (at most v).
func (s *Service) fee(t *Transaction, v int64) (int64, error) {
	asset := s.assetOf(t)
	dir := asset.Deposit
	if t.Kind == Withdrawal {
		dir = asset.Withdraw
	}
	var fixed int64
	if dir.FeeFixed != "" {
		var err error
		if fixed, err = money.Parse(dir.FeeFixed); err != nil {
			return 0, fmt.Errorf("fee_fixed %q: %w", dir.FeeFixed, err)
		}
	}
	fee, err := Fee(v, fixed, dir.FeePercent)
	if err != nil {
		return 0, err
	}
	return min(fee, v), nil
}

// depositReceived moves a deposit whose fiat arrived on, by its customer's compliance status
// read in the same store transaction: ACCEPTED → pending_anchor (ready to credit); REJECTED →
// error, waiting for the operator's refund; otherwise it stays (or goes back) in
// pending_customer_info_update with the fiat recorded, and moves on by itself once compliance
// approves. A deposit holding fiat never expires.
func (s *Service) depositReceived(tx Tx, t *Transaction, by, reason string, now time.Time) error {
	at := now
	t.FundsReceivedAt = &at
	st, _, err := Compliance(tx, s.Config, t)
	if err != nil {
		return err
	}
	defer func() { t.UserActionRequiredBy = nil }()
	switch st {
	case kyc.Accepted:
		return t.MoveTo(PendingAnchor, by, reason, now)
	case kyc.Rejected:
		t.Message = rejectedWithFunds
		if t.Status == Error {
			t.Note(by, reason+"; "+rejectedWithFunds, now)
			return nil
		}
		return t.MoveTo(Error, by, reason+"; "+rejectedWithFunds, now)
	}
	why := reason + "; waiting for compliance to accept the customer (" + string(st) + ") before crediting"
	if t.Status == PendingCustomerInfoUpdate {
		t.Note(by, why, now)
		return nil
	}
	return t.MoveTo(PendingCustomerInfoUpdate, by, why, now)
}

const rejectedWithFunds = "the customer's information was rejected; the received funds wait for a refund (anchor tx refund)"

// refund records a refund payment. SEP-6's Amount Formulas hold after it: amount_out =
// amount_in - amount_fee - refunds.amount_refunded - refunds.amount_fee. A partial refund keeps
// the transaction where it is, with amount_out reduced (refunded: false); a refund of all that
// was received (the default amount) waives the anchor's fee and ends it in refunded, with
// amount_out 0.
func (s *Service) refund(t *Transaction, a Action, now time.Time) error {
	if t.Status == PendingStellar || Terminal(t.Status) {
		return inputErr("%s %s is %s: its amounts are settled, so it cannot be refunded", t.Kind, t.ID, t.Status)
	}
	var fee int64
	if a.Fee != "" {
		v, err := money.Parse(a.Fee)
		if err != nil {
			return inputErr("fee: %v", err)
		}
		fee = v
	}
	var in, done int64 // received, and refunded so far (amounts and fees)
	if t.AmountIn != nil {
		in = *t.AmountIn
	}
	if t.Refunds != nil {
		done = t.Refunds.AmountRefunded + t.Refunds.AmountFee
	}
	amt := in - done - fee // default: everything left
	if a.Amount != "" {
		v, err := ParseAmount(a.Amount)
		if err != nil {
			return inputErr("amount: %v", err)
		}
		amt = v
	}
	if amt <= 0 {
		return inputErr("the refund amount is required (nothing is left to refund)")
	}
	if t.AmountIn != nil && done+amt+fee > in {
		return inputErr("refund %s plus fee %s exceed the %s received and not yet refunded", FormatAmount(amt), FormatAmount(fee), FormatAmount(in-done))
	}
	if t.Exchange() && t.AmountIn != nil && done+amt+fee != in {
		// What is left to pay out would need pricing again: refund all of it, or none.
		return inputErr("%s is an exchange: refund all that is left (%s, fee included), not a part", t.ID, FormatAmount(in-done))
	}
	idType := "external"
	if t.Kind == Withdrawal {
		idType = "stellar"
	}
	if t.Refunds == nil {
		t.Refunds = &Refunds{}
	}
	t.Refunds.AmountRefunded += amt
	t.Refunds.AmountFee += fee
	t.Refunds.Payments = append(t.Refunds.Payments, RefundPayment{ID: a.PaymentID, IDType: idType, Amount: amt, Fee: fee})
	full := t.AmountIn == nil || done+amt+fee == in
	if full {
		zero := int64(0)
		if t.AmountIn != nil {
			t.AmountFee, t.AmountOut = &zero, &zero
		}
		return t.MoveTo(Refunded, a.By, nonEmpty(a.Reason, "refunded"), now)
	}
	var txFee int64
	if t.AmountFee != nil {
		txFee = *t.AmountFee
	}
	out := in - txFee - t.Refunds.AmountRefunded - t.Refunds.AmountFee
	if out < 0 {
		return inputErr("a partial refund of %s would leave less than the fee %s; refund it all instead", FormatAmount(amt), FormatAmount(txFee))
	}
	t.AmountOut = &out
	t.Note(a.By, nonEmpty(a.Reason, "partially refunded "+FormatAmount(amt)+" (fee "+FormatAmount(fee)+")"), now)
	return nil
}

func nonEmpty(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// Reconcile moves transactions on by themselves: those whose user_action_required_by has passed
// to expired, and those waiting for the KYC of a customer whose KYC changed (journaled by the
// KYC service in the same transaction as the change, also when the CLI decided with no server
// running) to pending_user_transfer_start / pending_anchor once ACCEPTED, or error once
// REJECTED. The server runs it periodically; it reads only what is due or changed, so an idle
// server costs nothing however many transactions wait. It is idempotent.
func (s *Service) Reconcile(ctx context.Context) (advanced, expired int, err error) {
	now := s.now()
	var due []string
	if err := s.Store.DueExpiries(ctx, now, func(id string) bool {
		due = append(due, id)
		return len(due) < 1000
	}); err != nil {
		return 0, 0, err
	}
	for _, id := range due {
		moved, err := s.move(ctx, id, Expired, now)
		if err != nil {
			return advanced, expired, err
		}
		if moved {
			expired++
		}
	}
	changed, err := s.Store.ChangedCustomers(ctx, 1000)
	if err != nil {
		return advanced, expired, err
	}
	for _, c := range changed {
		n, err := s.advance(ctx, c.Account, c.Memo)
		if err != nil {
			return advanced, expired, err
		}
		advanced += n
	}
	return advanced, expired, s.Store.DoneChanged(ctx, changed)
}

// AdvanceCustomer moves one owner's transactions waiting for KYC (called when their KYC
// status changes).
func (s *Service) AdvanceCustomer(ctx context.Context, account, memo string) error {
	_, err := s.advance(ctx, account, memo)
	return err
}

// advance moves the owner's transactions waiting for its KYC on, as its status allows; it reads
// only those (an index), and returns how many moved.
func (s *Service) advance(ctx context.Context, account, memo string) (int, error) {
	var waiting []*Transaction
	if err := s.Store.WaitingForKYC(ctx, account, memo, func(t *Transaction) bool {
		waiting = append(waiting, t)
		return true
	}); err != nil {
		return 0, err
	}
	n := 0
	statuses := map[string]kyc.Status{}
	for _, t := range waiting {
		st, ok := statuses[t.KYCType]
		if !ok {
			var err error
			if st, _, _, err = s.KYC.CustomerStatus(ctx, t.Account, t.Memo, t.KYCType); err != nil {
				return n, fmt.Errorf("KYC status of transaction %s: %w", t.ID, err)
			}
			statuses[t.KYCType] = st
		}
		to := Status("")
		switch st {
		case kyc.Accepted:
			to = PendingUserTransferStart
		case kyc.Rejected:
			to = Error
		default:
			// Waiting on: the anchor (PROCESSING: no deadline) or the user (NEEDS_INFO).
			if err := s.setDeadline(ctx, t.ID, st == kyc.NeedsInfo); err != nil {
				return n, err
			}
			continue
		}
		moved, err := s.move(ctx, t.ID, to, s.now())
		if err != nil {
			return n, err
		}
		if moved {
			n++
		}
	}
	return n, nil
}

// setDeadline gives a transaction waiting for KYC a user_action_required_by while the user has
// something to do (userTurn) and none while the anchor reviews, in one write.
func (s *Service) setDeadline(ctx context.Context, id string, userTurn bool) error {
	now := s.now()
	var queued bool
	err := s.Store.TransferUpdate(ctx, func(tx Tx) error {
		queued = false
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		if t.Status != PendingCustomerInfoUpdate || t.FundsReceivedAt != nil || (t.UserActionRequiredBy != nil) == userTurn {
			return nil
		}
		if userTurn {
			by := now.Add(s.Config.SEP6.TransferExpiry)
			t.UserActionRequiredBy = &by
			t.Note("anchor", "the customer must provide information before "+by.Format(time.RFC3339), now)
		} else {
			t.UserActionRequiredBy = nil
			t.Note("anchor", "the customer's information is in review; no deadline meanwhile", now)
		}
		if err := tx.Put(t); err != nil {
			return err
		}
		if t.OnChangeCallback != "" {
			queued = true
			return tx.EnqueueCallback(t.ID, now)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil && queued {
		s.wake()
	}
	return err
}

// move applies a system move decided from a read, re-checking it inside the write (the
// transaction may have moved meanwhile): false when it no longer applies.
func (s *Service) move(ctx context.Context, id string, to Status, now time.Time) (bool, error) {
	var moved, queued bool
	err := s.Store.TransferUpdate(ctx, func(tx Tx) error {
		moved, queued = false, false
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		before := t.Status
		switch to {
		case Expired:
			if !t.WaitingForUser() || t.FundsReceivedAt != nil || t.UserActionRequiredBy == nil || !now.After(*t.UserActionRequiredBy) {
				return nil
			}
			err = t.MoveTo(Expired, "anchor", "no action from the user before "+t.UserActionRequiredBy.Format(time.RFC3339), now)
		case PendingUserTransferStart:
			if t.Status != PendingCustomerInfoUpdate {
				return nil
			}
			// Decided on a read: confirm in this write that compliance still accepts.
			if st, _, cerr := Compliance(tx, s.Config, t); cerr != nil || st != kyc.Accepted {
				return cerr
			}
			if t.FundsReceivedAt != nil {
				// The fiat is in: ready to credit.
				t.Message = ""
				err = t.MoveTo(PendingAnchor, "anchor", "customer information accepted; the received funds can be credited", now)
				break
			}
			s.release(t, s.assetOf(t))
			err = t.MoveTo(PendingUserTransferStart, "anchor", "customer information accepted", now)
			by := now.Add(s.Config.SEP6.TransferExpiry)
			t.UserActionRequiredBy = &by
		case Error:
			if t.Status != PendingCustomerInfoUpdate {
				return nil
			}
			if st, _, cerr := Compliance(tx, s.Config, t); cerr != nil || st != kyc.Rejected {
				return cerr
			}
			t.Message = "the customer's information was rejected"
			if t.FundsReceivedAt != nil {
				t.Message = rejectedWithFunds
			}
			err = t.MoveTo(Error, "anchor", t.Message, now)
		}
		if err != nil {
			return err
		}
		if err := tx.Put(t); err != nil {
			return err
		}
		moved = true
		if t.Status != before && t.OnChangeCallback != "" {
			queued = true
			return tx.EnqueueCallback(t.ID, now)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err == nil && queued {
		s.wake()
	}
	return moved, err
}

// OpsFilter selects transactions for `anchor tx list`.
type OpsFilter struct {
	Status Status
	// AnyStatus, when set, matches transactions in any of these statuses.
	AnyStatus []Status
	// Kind is deposit or withdrawal (exchanges included), or deposit-exchange or
	// withdrawal-exchange (exchanges only).
	Kind     Kind
	Account  string
	StuckFor time.Duration
	Limit    int
	// Reference finds, through the indexes, the deposit whose reference it is (what the user's
	// bank wire names) and the transaction recorded with it as external id.
	Reference string
}

// OperatorList returns transactions matching f, newest first.
func (s *Service) OperatorList(ctx context.Context, f OpsFilter) ([]*Transaction, error) {
	out := []*Transaction{}
	err := s.OperatorEach(ctx, f, func(t *Transaction) bool {
		out = append(out, t)
		return true
	})
	return out, err
}

// OperatorEach calls fn with each transaction matching f, newest first, until fn returns false
// or f.Limit were given: the store is read only as far as that, and nothing is held.
func (s *Service) OperatorEach(ctx context.Context, f OpsFilter, fn func(*Transaction) bool) error {
	now := s.now()
	if f.Reference != "" {
		list, err := s.byReference(ctx, f, now)
		for _, t := range list {
			if !fn(t) {
				break
			}
		}
		return err
	}
	n := 0
	return s.Store.AllTransfers(ctx, func(t *Transaction) bool {
		if !f.matches(t, now) {
			return true
		}
		n++
		return fn(t) && (f.Limit <= 0 || n < f.Limit)
	})
}

// byReference answers OperatorList with a Reference from the reference and external-id
// indexes, without a scan.
func (s *Service) byReference(ctx context.Context, f OpsFilter, now time.Time) ([]*Transaction, error) {
	out := []*Transaction{}
	ref := strings.TrimSpace(f.Reference)
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		seen := map[string]bool{}
		for _, find := range []func() (string, error){
			func() (string, error) { return tx.MemoOwner("deposit-reference", ref) },
			func() (string, error) { return tx.ByExternalID(ref) },
		} {
			id, err := find()
			if errors.Is(err, ErrNotFound) || seen[id] {
				continue
			}
			if err != nil {
				return err
			}
			seen[id] = true
			t, err := tx.Get(id)
			if err != nil {
				return err
			}
			if f.matches(t, now) {
				out = append(out, t)
			}
		}
		return nil
	})
	return out, err
}

// matches reports whether t passes every filter but Reference and Limit.
func (f OpsFilter) matches(t *Transaction, now time.Time) bool {
	if (f.Status != "" && t.Status != f.Status) || (f.Kind != "" && t.Kind != f.Kind && t.WireKind() != f.Kind) || (f.Account != "" && t.Account != f.Account) {
		return false
	}
	if len(f.AnyStatus) > 0 && !slices.Contains(f.AnyStatus, t.Status) {
		return false
	}
	return f.StuckFor <= 0 || (!Terminal(t.Status) && now.Sub(t.UpdatedAt) >= f.StuckFor)
}

// ShowTx returns one transaction for the operator.
func (s *Service) ShowTx(ctx context.Context, id string) (*Transaction, error) {
	var t *Transaction
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		var err error
		t, err = tx.Get(id)
		return err
	})
	return t, err
}
