// Package transfer models SEP-6 transactions and the one state machine all their status changes
// go through. Amounts are int64 stroops (7 decimals), never floats.
package transfer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/quotes"
)

// Kind of transaction.
type Kind string

// Kinds of transaction. An exchange (SEP-6 deposit-exchange / withdrawal-exchange) is a deposit
// or withdrawal with Offchain set: the state machine, treasury and watcher treat it as its kind.
const (
	Deposit    Kind = "deposit"
	Withdrawal Kind = "withdrawal"
)

// Status is a SEP-6 transaction status.
type Status string

// Every SEP-6 status.
const (
	Incomplete                   Status = "incomplete"
	PendingUserTransferStart     Status = "pending_user_transfer_start"
	PendingUserTransferComplete  Status = "pending_user_transfer_complete"
	PendingExternal              Status = "pending_external"
	PendingAnchor                Status = "pending_anchor"
	OnHold                       Status = "on_hold"
	PendingStellar               Status = "pending_stellar"
	PendingTrust                 Status = "pending_trust"
	PendingUser                  Status = "pending_user"
	PendingCustomerInfoUpdate    Status = "pending_customer_info_update"
	PendingTransactionInfoUpdate Status = "pending_transaction_info_update"
	Expired                      Status = "expired"
	NoMarket                     Status = "no_market"
	TooSmall                     Status = "too_small"
	TooLarge                     Status = "too_large"
	Error                        Status = "error"
	Refunded                     Status = "refunded"
	Completed                    Status = "completed"
)

// Statuses lists every status.
var Statuses = []Status{Incomplete, PendingUserTransferStart, PendingUserTransferComplete, PendingExternal,
	PendingAnchor, OnHold, PendingStellar, PendingTrust, PendingUser, PendingCustomerInfoUpdate,
	PendingTransactionInfoUpdate, Expired, NoMarket, TooSmall, TooLarge, Error, Refunded, Completed}

// moves is the state machine: the statuses each status may move to. Kind-specific limits are in
// kindOnly. Terminal statuses (completed, refunded, expired) have no moves; too_small, too_large,
// no_market and error can still be refunded (and error retried).
var moves = map[Status][]Status{
	Incomplete:                   {PendingCustomerInfoUpdate, PendingUserTransferStart, Expired, Error},
	PendingCustomerInfoUpdate:    {PendingUserTransferStart, PendingAnchor, Expired, Error, OnHold},
	PendingUserTransferStart:     {PendingExternal, PendingAnchor, PendingCustomerInfoUpdate, OnHold, Expired, TooSmall, TooLarge, Error},
	PendingExternal:              {PendingAnchor, PendingCustomerInfoUpdate, Completed, OnHold, TooSmall, TooLarge, Error},
	PendingAnchor:                {PendingStellar, PendingTrust, PendingExternal, PendingUser, PendingUserTransferComplete, PendingCustomerInfoUpdate, PendingTransactionInfoUpdate, OnHold, Completed, Refunded, NoMarket, Error},
	PendingTrust:                 {PendingStellar, PendingAnchor, Expired, Refunded, Error},
	PendingStellar:               {Completed, PendingAnchor, Error},
	PendingUser:                  {PendingAnchor, Expired, Error},
	PendingUserTransferComplete:  {Completed, Expired, Error},
	PendingTransactionInfoUpdate: {PendingAnchor, Expired, Error},
	OnHold:                       {PendingUserTransferStart, PendingExternal, PendingAnchor, PendingCustomerInfoUpdate, Refunded, Error},
	TooSmall:                     {Refunded},
	TooLarge:                     {Refunded},
	NoMarket:                     {Refunded},
	Error:                        {PendingAnchor, Refunded},
}

// kindOnly restricts statuses to one kind.
var kindOnly = map[Status]Kind{
	PendingTrust:                Deposit,
	PendingUserTransferComplete: Withdrawal,
}

// Terminal reports whether no move leaves s.
func Terminal(s Status) bool { return len(moves[s]) == 0 }

// Allowed lists the statuses a transaction of kind k may move to from s.
func Allowed(k Kind, s Status) []Status {
	var out []Status
	for _, to := range moves[s] {
		if only, ok := kindOnly[to]; ok && only != k {
			continue
		}
		out = append(out, to)
	}
	return out
}

// ErrIllegalMove is wrapped by every refused move.
var ErrIllegalMove = errors.New("illegal status change")

// Move is one recorded status change.
type Move struct {
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
}

// Refunds is SEP-6's refunds object (amounts in stroops).
type Refunds struct {
	AmountRefunded int64           `json:"amount_refunded"`
	AmountFee      int64           `json:"amount_fee"`
	Payments       []RefundPayment `json:"payments"`
}

// RefundPayment is one refund payment.
type RefundPayment struct {
	ID     string `json:"id"`
	IDType string `json:"id_type"` // stellar or external
	Amount int64  `json:"amount"`
	Fee    int64  `json:"fee"`
}

// Transaction is a SEP-6 deposit or withdrawal.
type Transaction struct {
	V           int    `json:"v"`
	ID          string `json:"id"`
	Kind        Kind   `json:"kind"`
	Status      Status `json:"status"`
	AssetCode   string `json:"asset_code"`
	AssetIssuer string `json:"asset_issuer"`
	// Account and Memo are the authenticated owner (JWT sub); CustomerID their SEP-12 record.
	Account string `json:"account"`
	Memo    string `json:"memo,omitempty"`
	// Protocol is ProtocolSEP24 for an interactive (SEP-24) transaction, empty for SEP-6.
	Protocol string `json:"protocol,omitempty"`
	// DoneCallback is SEP-24's callback: "postMessage", or a URL told once that the user
	// finished the interactive flow.
	DoneCallback string `json:"done_callback,omitempty"`
	// Prefill holds the SEP-9 fields a wallet passed with a SEP-24 request, to pre-fill the
	// KYC form; cleared when the user confirms (and by erasure).
	Prefill    map[string]string `json:"prefill,omitempty"`
	CustomerID string            `json:"customer_id,omitempty"`
	// ClaimedCustomerID is a SEP-12 customer the wallet said this account belongs to
	// (customer_id of another record): shown to compliance, never used for the KYC gate.
	ClaimedCustomerID string `json:"claimed_customer_id,omitempty"`
	KYCType           string `json:"kyc_type"`

	FundingMethod             string `json:"funding_method,omitempty"`
	RequestedAmount           *int64 `json:"requested_amount,omitempty"`
	Email                     string `json:"email_address,omitempty"`
	CountryCode               string `json:"country_code,omitempty"`
	ClaimableBalanceSupported bool   `json:"claimable_balance_supported,omitempty"`
	OnChangeCallback          string `json:"on_change_callback,omitempty"`
	LocationID                string `json:"location_id,omitempty"`
	Lang                      string `json:"lang,omitempty"`

	// Deposit: where tokens go, the memo to attach, and the bank transfer reference.
	To              string `json:"to,omitempty"`
	DepositMemo     string `json:"deposit_memo,omitempty"`
	DepositMemoType string `json:"deposit_memo_type,omitempty"`
	Reference       string `json:"reference,omitempty"`
	// Withdrawal: where the user sends tokens, and where fiat goes.
	From                  string `json:"from,omitempty"`
	WithdrawAnchorAccount string `json:"withdraw_anchor_account,omitempty"`
	WithdrawMemo          string `json:"withdraw_memo,omitempty"`
	WithdrawMemoType      string `json:"withdraw_memo_type,omitempty"`
	RefundMemo            string `json:"refund_memo,omitempty"`
	RefundMemoType        string `json:"refund_memo_type,omitempty"`
	Dest                  string `json:"dest,omitempty"`
	DestExtra             string `json:"dest_extra,omitempty"`

	AmountIn  *int64 `json:"amount_in,omitempty"`
	AmountOut *int64 `json:"amount_out,omitempty"`
	AmountFee *int64 `json:"amount_fee,omitempty"`

	// Offchain is, for an exchange, the SEP-38 off-chain asset (iso4217:EUR) the user pays in
	// (deposit) or is paid in (withdrawal); the token stays AssetCode. AmountIn of a deposit,
	// AmountOut of a withdrawal, AmountFee and RequestedAmount of a deposit are then in it
	// (at most 7 decimals, so stroops hold them exactly).
	Offchain string `json:"offchain,omitempty"`
	// Quote is the firm quote the transaction was created with (used by no other).
	Quote *QuoteTerms `json:"quote,omitempty"`
	// Price is what the exchange was priced at (units sold per unit bought), and FeeDetails the
	// fee's parts: the quote's, or the price source's when the money arrived.
	Price      string             `json:"price,omitempty"`
	FeeDetails []quotes.FeeDetail `json:"fee_details,omitempty"`

	StellarTransactionID string `json:"stellar_transaction_id,omitempty"`
	// StellarOperationID is the paging token of the payment operation that paid a withdrawal:
	// one Stellar transaction can hold several payments, each judged on its own.
	StellarOperationID    string   `json:"stellar_operation_id,omitempty"`
	ExternalTransactionID string   `json:"external_transaction_id,omitempty"`
	ClaimableBalanceID    string   `json:"claimable_balance_id,omitempty"`
	Message               string   `json:"message,omitempty"`
	Refunds               *Refunds `json:"refunds,omitempty"`
	// FundsReceivedAt is when the operator recorded the user's fiat (deposits): from then on
	// the transaction never expires, and it waits for compliance rather than for the user.
	FundsReceivedAt *time.Time `json:"funds_received_at,omitempty"`
	// HeldFrom is the status on_hold returns to when released.
	HeldFrom Status `json:"held_from,omitempty"`

	StartedAt            time.Time  `json:"started_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
	CompletedAt          *time.Time `json:"completed_at,omitempty"`
	UserActionRequiredBy *time.Time `json:"user_action_required_by,omitempty"`
	History              []Move     `json:"history"`
}

// MoveTo changes the status through the state machine and records who, when and why.
func (t *Transaction) MoveTo(to Status, actor, reason string, now time.Time) error {
	if !slices.Contains(Allowed(t.Kind, t.Status), to) {
		allowed := Allowed(t.Kind, t.Status)
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		hint := "none: " + string(t.Status) + " is final"
		if len(names) > 0 {
			hint = strings.Join(names, ", ")
		}
		return fmt.Errorf("%w: %s %s cannot go from %s to %s (allowed: %s)", ErrIllegalMove, t.Kind, t.ID, t.Status, to, hint)
	}
	t.History = append(t.History, Move{From: t.Status, To: to, At: now, Actor: actor, Reason: reason})
	if to == OnHold {
		t.HeldFrom = t.Status
	}
	t.Status = to
	t.UpdatedAt = now
	if to == Completed || to == Refunded {
		c := now
		t.CompletedAt = &c
	}
	if to != PendingUserTransferStart && to != PendingCustomerInfoUpdate && to != Incomplete && to != PendingUser && to != PendingTrust {
		t.UserActionRequiredBy = nil
	}
	return nil
}

// Note records an event that leaves the status as it is (e.g. fiat received while the
// customer is still in review) in the history.
func (t *Transaction) Note(actor, reason string, now time.Time) {
	t.History = append(t.History, Move{From: t.Status, To: t.Status, At: now, Actor: actor, Reason: reason})
	t.UpdatedAt = now
}

// WaitingForUser reports whether the transaction waits for the user (and can expire).
func (t *Transaction) WaitingForUser() bool {
	switch t.Status {
	case Incomplete, PendingUserTransferStart, PendingCustomerInfoUpdate, PendingUser, PendingTransactionInfoUpdate:
		return true
	}
	return false
}

// FormatAmount renders stroops as a decimal string with up to 7 places.
func FormatAmount(v int64) string { return money.Format(v) }

// ParseAmount parses a positive decimal with at most 7 places into stroops (money.Parse, the
// grammar configuration is checked with).
func ParseAmount(s string) (int64, error) {
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a positive amount", s)
	}
	v, err := money.Parse(s)
	if err != nil {
		if strings.Contains(err.Error(), "decimal places") {
			return 0, err
		}
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%q is not a positive amount", s)
	}
	return v, nil
}

// Fee computes fixed + percent × amount, in stroops, rounded up to the stroop (never in the
// user's favour by a fraction they could exploit). feePercent is a decimal string of percent.
func Fee(amountIn, feeFixed int64, feePercent string) (int64, error) {
	fee := feeFixed
	if feePercent != "" && feePercent != "0" {
		// percent with up to 7 decimals: p = P / 1e7 percent; fee = amount × P / (100 × 1e7).
		p, err := money.Parse(feePercent)
		if err != nil {
			return 0, fmt.Errorf("fee_percent %q is not valid", feePercent)
		}
		num := bigMul(amountIn, p)
		fee += ceilDiv(num, 100*10_000_000)
	}
	return fee, nil
}
