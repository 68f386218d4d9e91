package transfer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/quotes"
)

// View is a transaction as SEP-6 shows it (GET /transaction(s), on_change_callback).
type View struct {
	ID                          string                        `json:"id"`
	Kind                        Kind                          `json:"kind"`
	Status                      Status                        `json:"status"`
	AmountIn                    string                        `json:"amount_in,omitempty"`
	AmountInAsset               string                        `json:"amount_in_asset,omitempty"`
	AmountOut                   string                        `json:"amount_out,omitempty"`
	AmountOutAsset              string                        `json:"amount_out_asset,omitempty"`
	AmountFee                   string                        `json:"amount_fee,omitempty"`
	AmountFeeAsset              string                        `json:"amount_fee_asset,omitempty"`
	FeeDetails                  *FeeDetails                   `json:"fee_details,omitempty"`
	QuoteID                     string                        `json:"quote_id,omitempty"`
	From                        string                        `json:"from,omitempty"`
	To                          string                        `json:"to,omitempty"`
	DepositMemo                 string                        `json:"deposit_memo,omitempty"`
	DepositMemoType             string                        `json:"deposit_memo_type,omitempty"`
	WithdrawAnchorAccount       string                        `json:"withdraw_anchor_account,omitempty"`
	WithdrawMemo                string                        `json:"withdraw_memo,omitempty"`
	WithdrawMemoType            string                        `json:"withdraw_memo_type,omitempty"`
	StartedAt                   string                        `json:"started_at"`
	UpdatedAt                   string                        `json:"updated_at"`
	CompletedAt                 string                        `json:"completed_at,omitempty"`
	UserActionRequiredBy        string                        `json:"user_action_required_by,omitempty"`
	StellarTransactionID        string                        `json:"stellar_transaction_id,omitempty"`
	ExternalTransactionID       string                        `json:"external_transaction_id,omitempty"`
	Message                     string                        `json:"message,omitempty"`
	Refunded                    *bool                         `json:"refunded,omitempty"`
	Refunds                     *RefundsView                  `json:"refunds,omitempty"`
	RequiredInfoMessage         string                        `json:"required_info_message,omitempty"`
	RequiredCustomerInfoUpdates []string                      `json:"required_customer_info_updates,omitempty"`
	Instructions                map[string]config.Instruction `json:"instructions,omitempty"`
	ClaimableBalanceID          string                        `json:"claimable_balance_id,omitempty"`
	MoreInfoURL                 string                        `json:"more_info_url,omitempty"`
}

// FeeDetails is SEP-6's fee_details (a quote's fee object, for an exchange with one).
type FeeDetails struct {
	Total   string             `json:"total"`
	Asset   string             `json:"asset"`
	Details []quotes.FeeDetail `json:"details,omitempty"`
}

// RefundsView is SEP-6's refunds object with decimal strings.
type RefundsView struct {
	AmountRefunded string              `json:"amount_refunded"`
	AmountFee      string              `json:"amount_fee"`
	Payments       []RefundPaymentView `json:"payments"`
}

// RefundPaymentView is one refund payment.
type RefundPaymentView struct {
	ID     string `json:"id"`
	IDType string `json:"id_type"`
	Amount string `json:"amount"`
	Fee    string `json:"fee"`
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func amountStr(v *int64) string {
	if v == nil {
		return ""
	}
	return FormatAmount(*v)
}

// Instructions are the deposit instructions: the asset's configured account details and the
// transaction's unique reference.
func (s *Service) Instructions(t *Transaction) map[string]config.Instruction {
	out := map[string]config.Instruction{}
	for k, v := range s.assetOf(t).Deposit.Instructions {
		out[k] = v
	}
	out["external_transfer_memo"] = config.Instruction{Value: t.Reference, Description: "Reference to include with your transfer; it identifies this deposit"}
	return out
}

// View renders t for the wallet. Deposit instructions and withdrawal destinations appear once
// the customer's KYC is accepted; while it is not, the fields still needed are listed.
func (s *Service) View(ctx context.Context, t *Transaction) *View {
	v := &View{
		ID: t.ID, Kind: t.Kind, Status: t.Status,
		AmountIn: amountStr(t.AmountIn), AmountOut: amountStr(t.AmountOut), AmountFee: amountStr(t.AmountFee),
		From: t.From, To: t.To, DepositMemo: t.DepositMemo, DepositMemoType: t.DepositMemoType,
		StartedAt: ts(t.StartedAt), UpdatedAt: ts(t.UpdatedAt),
		StellarTransactionID: t.StellarTransactionID, ExternalTransactionID: t.ExternalTransactionID,
		Message: t.Message, ClaimableBalanceID: t.ClaimableBalanceID,
	}
	if s.MoreInfoURL != nil {
		v.MoreInfoURL = s.MoreInfoURL(t.ID, t.Lang)
	}
	switch {
	case t.Exchange():
		s.exchangeView(t, v)
	case t.AmountIn == nil && t.RequestedAmount != nil:
		// Known before it arrives: what the user is to send, and what follows from it (SEP-6
		// "amount_in: the amount expected in the Stellar payment" for a withdrawal).
		if fee, err := s.fee(t, *t.RequestedAmount); err == nil {
			out := *t.RequestedAmount - fee
			v.AmountIn, v.AmountFee, v.AmountOut = FormatAmount(*t.RequestedAmount), FormatAmount(fee), FormatAmount(out)
		}
	}
	if v.AmountFee != "" && v.FeeDetails == nil {
		v.FeeDetails = &FeeDetails{Total: v.AmountFee, Asset: "stellar:" + t.AssetCode + ":" + t.AssetIssuer}
	}
	if t.CompletedAt != nil {
		v.CompletedAt = ts(*t.CompletedAt)
	}
	if t.UserActionRequiredBy != nil {
		v.UserActionRequiredBy = ts(*t.UserActionRequiredBy)
	}
	if t.Refunds != nil {
		full := t.AmountIn != nil && t.Refunds.AmountRefunded+t.Refunds.AmountFee == *t.AmountIn
		v.Refunded = &full
		r := &RefundsView{AmountRefunded: FormatAmount(t.Refunds.AmountRefunded), AmountFee: FormatAmount(t.Refunds.AmountFee)}
		for _, p := range t.Refunds.Payments {
			r.Payments = append(r.Payments, RefundPaymentView{ID: p.ID, IDType: p.IDType, Amount: FormatAmount(p.Amount), Fee: FormatAmount(p.Fee)})
		}
		v.Refunds = r
	}
	released := t.Status != PendingCustomerInfoUpdate && t.Status != Incomplete && !(t.Status == Error && t.WithdrawAnchorAccount == "" && t.Kind == Withdrawal)
	if t.Kind == Withdrawal && t.WithdrawAnchorAccount != "" && released {
		v.WithdrawAnchorAccount, v.WithdrawMemo, v.WithdrawMemoType = t.WithdrawAnchorAccount, t.WithdrawMemo, t.WithdrawMemoType
	}
	// Bank details only while the anchor waits for the user's transfer: never for a transaction
	// it can no longer match (on_hold, expired, error...).
	if t.Kind == Deposit && t.Status == PendingUserTransferStart {
		v.Instructions = s.Instructions(t)
	}
	if t.Status == PendingCustomerInfoUpdate && s.KYC != nil {
		if _, missing, _, err := s.KYC.CustomerStatus(ctx, t.Account, t.Memo, t.KYCType); err == nil {
			v.RequiredCustomerInfoUpdates = missing
			if len(missing) > 0 {
				v.RequiredInfoMessage = "provide the listed fields with SEP-12 PUT /customer (type " + t.KYCType + ")"
			} else {
				v.RequiredInfoMessage = "the customer's information is being reviewed"
			}
		}
	}
	return v
}

// exchangeView adds an exchange's assets, quote and fee (SEP-6: amount_in_asset,
// amount_out_asset and amount_fee_asset "must be present if the deposit/withdraw was made using
// quotes"; fee_details "should match the referenced quote's fee object"). Before the money
// arrives, a quote's amounts are what the user is to send and get.
func (s *Service) exchangeView(t *Transaction, v *View) {
	v.Kind = t.WireKind()
	v.AmountInAsset, v.AmountOutAsset, v.AmountFeeAsset = t.Assets()
	details := t.FeeDetails
	switch {
	case t.AmountIn == nil && t.Quote != nil:
		q := t.Quote
		v.AmountIn, v.AmountFee, v.AmountOut = FormatAmount(q.SellAmount), FormatAmount(q.Fee), FormatAmount(q.BuyAmount)
		details = q.FeeDetails
	case t.AmountIn == nil && t.RequestedAmount != nil:
		v.AmountIn = FormatAmount(*t.RequestedAmount)
	}
	if t.Quote != nil {
		v.QuoteID = t.Quote.ID
	}
	if v.AmountFee != "" {
		v.FeeDetails = &FeeDetails{Total: v.AmountFee, Asset: v.AmountFeeAsset, Details: details}
	}
}

// CallbackKind is the callback queue kind of SEP-6 transactions.
const CallbackKind = "tx"

// DoneCallbackKind is the callback queue kind of SEP-24's "interactive flow done" callback.
const DoneCallbackKind = "sep24-done"

// RenderDoneCallback is the callback.Renderer of DoneCallbackKind: {"transaction": ...} to the
// callback URL the wallet gave the interactive flow.
func (s *Service) RenderDoneCallback(ctx context.Context, id string) (string, []byte, error) {
	t, err := s.ShowTx(ctx, id)
	if err != nil || t.DoneCallback == "" || t.DoneCallback == "postMessage" {
		return "", nil, callback.ErrGone
	}
	body, err := json.Marshal(map[string]any{"transaction": s.View(ctx, t)})
	return t.DoneCallback, body, err
}

// RenderCallback is the callback.Renderer of transactions: {"transaction": ...} to
// on_change_callback, as GET /transaction answers.
func (s *Service) RenderCallback(ctx context.Context, id string) (string, []byte, error) {
	t, err := s.ShowTx(ctx, id)
	if err != nil || t.OnChangeCallback == "" {
		return "", nil, callback.ErrGone
	}
	body, err := json.Marshal(map[string]any{"transaction": s.View(ctx, t)})
	return t.OnChangeCallback, body, err
}
