// Package sep6 serves the SEP-6 transfer server (TRANSFER_SERVER): /info, /deposit, /withdraw,
// /transactions, /transaction. The transaction model and its state machine are in transfer.
package sep6

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/sep10"
	"github.com/anchorkit/anchor/internal/transfer"
)

// Handlers serve SEP-6.
type Handlers struct {
	Service *transfer.Service
	Config  *config.Config
	// Info is the body of GET /info (BuildInfo), rendered once when the server starts.
	Info []byte
}

// BuildInfo renders GET /info from the configuration; an error here stops the server from
// starting rather than answering an empty /info.
func BuildInfo(cfg *config.Config) ([]byte, error) {
	b, err := json.Marshal((&Handlers{Config: cfg}).buildInfo())
	if err != nil {
		return nil, fmt.Errorf("render SEP-6 /info: %w", err)
	}
	return b, nil
}

// Route is one endpoint.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// RejectAuth answers SEP-6's "Authentication required": 403 {"type": "authentication_required"}.
func RejectAuth(w http.ResponseWriter, r *http.Request, msg string) {
	httpx.WriteJSON(w, http.StatusForbidden, map[string]string{"type": "authentication_required", "error": msg})
}

// Routes returns the endpoints under prefix; auth guards all but /info.
func (h *Handlers) Routes(prefix string, auth func(http.Handler) http.Handler) []Route {
	a := func(fn http.HandlerFunc) http.Handler { return auth(fn) }
	return []Route{
		{"GET", prefix + "/info", http.HandlerFunc(h.getInfo)},
		{"GET", prefix + "/deposit", a(h.deposit)},
		{"GET", prefix + "/withdraw", a(h.withdraw)},
		{"GET", prefix + "/deposit-exchange", a(h.exchange(transfer.Deposit))},
		{"GET", prefix + "/withdraw-exchange", a(h.exchange(transfer.Withdrawal))},
		{"GET", prefix + "/transactions", a(h.transactions)},
		{"GET", prefix + "/transaction", a(h.transaction)},
		{"PATCH", prefix + "/transactions/{id}", a(h.patch)},
	}
}

func principal(r *http.Request) transfer.Principal {
	a, _ := sep10.FromContext(r.Context())
	return transfer.Principal{Account: a.Account, Memo: a.Memo}
}

// WriteError answers a transfer service error as SEP-6 (and SEP-24) do: 400 for bad input and
// illegal moves, 429 for limits, 403 for legacy KYC answers, 404 for another's or no
// transaction, else 500 (503 when the store is unavailable).
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeErr(w, r, err) }

func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var ie *transfer.InputError
	var le *transfer.LegacyKYCError
	var lim *transfer.LimitError
	switch {
	case errors.As(err, &ie):
		httpx.Error(w, http.StatusBadRequest, ie.Msg)
	case errors.As(err, &lim):
		httpx.Error(w, http.StatusTooManyRequests, lim.Msg)
	case errors.As(err, &le):
		httpx.WriteJSON(w, http.StatusForbidden, le)
	case errors.Is(err, transfer.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, "transaction not found")
	case errors.Is(err, transfer.ErrIllegalMove):
		httpx.Error(w, http.StatusBadRequest, err.Error())
	default:
		httpx.Internal(w, r, err)
	}
}

// number renders an exact decimal string as a JSON number (never through float64).
func number(s string) json.Number { return money.JSONNumber(s) }

type assetInfo struct {
	Enabled                bool                      `json:"enabled"`
	AuthenticationRequired bool                      `json:"authentication_required"`
	MinAmount              json.Number               `json:"min_amount,omitempty"`
	MaxAmount              json.Number               `json:"max_amount,omitempty"`
	FeeFixed               json.Number               `json:"fee_fixed,omitempty"`
	FeePercent             json.Number               `json:"fee_percent,omitempty"`
	FundingMethods         []string                  `json:"funding_methods,omitempty"`
	Fields                 map[string]fieldInfo      `json:"fields,omitempty"`
	Types                  map[string]map[string]any `json:"types,omitempty"`
}

type fieldInfo struct {
	Description string   `json:"description"`
	Optional    bool     `json:"optional"`
	Choices     []string `json:"choices,omitempty"`
}

func direction(d config.Direction) assetInfo {
	return assetInfo{Enabled: d.Enabled, AuthenticationRequired: true,
		MinAmount: number(d.MinAmount), MaxAmount: number(d.MaxAmount),
		FeeFixed: number(d.FeeFixed), FeePercent: number(d.FeePercent), FundingMethods: d.FundingMethods}
}

// buildInfo is GET /info from the configured assets. Per SEP-6, `fields` lists only what
// /deposit itself takes (KYC goes through SEP-12), and features are true only where anchor
// implements them.
func (h *Handlers) buildInfo() map[string]any {
	deposit, withdraw := map[string]assetInfo{}, map[string]assetInfo{}
	for _, a := range h.Config.Assets {
		d := direction(a.Deposit)
		if a.Deposit.Enabled {
			d.Fields = map[string]fieldInfo{
				"email_address": {Description: "your email address, for updates on the deposit", Optional: true},
				"country_code":  {Description: "country of your address (ISO 3166-1 alpha-3)", Optional: true},
				"amount":        {Description: "amount you intend to deposit", Optional: true},
			}
		}
		deposit[a.Code] = d
		wd := direction(a.Withdraw)
		if a.Withdraw.Enabled {
			wd.Types = map[string]map[string]any{}
			for _, m := range a.Withdraw.FundingMethods {
				wd.Types[m] = map[string]any{"fields": map[string]fieldInfo{}}
			}
		}
		withdraw[a.Code] = wd
	}
	info := map[string]any{
		"deposit":      deposit,
		"withdraw":     withdraw,
		"fee":          map[string]any{"enabled": false, "description": "Fixed and percentage fees are listed per asset."},
		"transactions": map[string]any{"enabled": true, "authentication_required": true},
		"transaction":  map[string]any{"enabled": true, "authentication_required": true},
		"features":     map[string]any{"account_creation": h.accountCreation(), "claimable_balances": true},
	}
	// The exchange endpoints are advertised only when quotes price a pair (SEP-38).
	if dx, wx := h.exchanges(); len(dx)+len(wx) > 0 {
		info["deposit-exchange"], info["withdraw-exchange"] = dx, wx
	}
	return info
}

// exchanges are /info's deposit-exchange and withdraw-exchange: the assets quotes pair with an
// off-chain asset, their limits (in the token), and the off-chain assets' delivery methods as
// funding methods (the direction's own when the off-chain asset names none).
func (h *Handlers) exchanges() (deposit, withdraw map[string]assetInfo) {
	deposit, withdraw = map[string]assetInfo{}, map[string]assetInfo{}
	offchain := map[string]config.QuoteAsset{}
	for _, a := range h.Config.Quotes.Assets {
		offchain[a.Asset] = a
	}
	add := func(to map[string]assetInfo, code string, d config.Direction, ms []config.DeliveryMethod) {
		if !d.Enabled {
			return
		}
		info, ok := to[code]
		if !ok {
			info = assetInfo{Enabled: true, AuthenticationRequired: true, MinAmount: number(d.MinAmount), MaxAmount: number(d.MaxAmount)}
		}
		for _, m := range ms {
			if !slices.Contains(info.FundingMethods, m.Name) {
				info.FundingMethods = append(info.FundingMethods, m.Name)
			}
		}
		if len(ms) == 0 {
			for _, m := range d.FundingMethods {
				if !slices.Contains(info.FundingMethods, m) {
					info.FundingMethods = append(info.FundingMethods, m)
				}
			}
		}
		to[code] = info
	}
	for _, p := range h.Config.Quotes.Pairs {
		for _, a := range h.Config.Assets {
			if a.Code == p.Asset {
				add(deposit, a.Code, a.Deposit, offchain[p.Offchain].SellDeliveryMethods)
				add(withdraw, a.Code, a.Withdraw, offchain[p.Offchain].BuyDeliveryMethods)
			}
		}
	}
	return deposit, withdraw
}

func (h *Handlers) accountCreation() bool {
	for _, a := range h.Config.Assets {
		if a.AccountCreation && a.Deposit.Enabled {
			return true
		}
	}
	return false
}

func (h *Handlers) getInfo(w http.ResponseWriter, r *http.Request) {
	httpx.WriteRawJSON(w, http.StatusOK, h.Info)
}

func request(r *http.Request, kind transfer.Kind) transfer.Request {
	q := r.URL.Query()
	method := q.Get("funding_method")
	if method == "" {
		method = q.Get("type") // deprecated alias
	}
	return transfer.Request{Kind: kind, AssetCode: q.Get("asset_code"), Account: q.Get("account"), FundingMethod: method,
		MemoType: q.Get("memo_type"), Memo: q.Get("memo"), Email: q.Get("email_address"), Amount: q.Get("amount"),
		CountryCode: q.Get("country_code"), ClaimableBalanceSupported: q.Get("claimable_balance_supported"),
		OnChangeCallback: q.Get("on_change_callback"), Lang: q.Get("lang"), CustomerID: q.Get("customer_id"),
		LocationID: q.Get("location_id"), RefundMemo: q.Get("refund_memo"), RefundMemoType: q.Get("refund_memo_type"),
		Dest: q.Get("dest"), DestExtra: q.Get("dest_extra")}
}

// terms adds min/max/fees (exact numbers) to a deposit or withdraw response; an exchange's fee
// is its quote's or price's, in the off-chain asset, not the token's.
func terms(out map[string]any, d *config.Direction, t *transfer.Transaction) {
	for k, v := range map[string]string{"min_amount": d.MinAmount, "max_amount": d.MaxAmount, "fee_fixed": d.FeeFixed, "fee_percent": d.FeePercent} {
		if v != "" && !(t.Exchange() && strings.HasPrefix(k, "fee")) {
			out[k] = number(v)
		}
	}
	if d.ETA > 0 {
		out["eta"] = d.ETA
	}
}

// exchangeRequest reads GET /deposit-exchange and /withdraw-exchange: the token is
// destination_asset of a deposit and source_asset of a withdrawal, the other one the off-chain
// asset (SEP-38 Asset Identification Format). amount is required (SEP-6 marks it so) unless a
// quote fixes it.
func exchangeRequest(r *http.Request, kind transfer.Kind) (transfer.Request, error) {
	q := r.URL.Query()
	req := request(r, kind)
	token, offchain, obj := "destination_asset", "source_asset", "deposit-exchange"
	if kind == transfer.Withdrawal {
		token, offchain, obj = offchain, token, "withdraw-exchange"
	}
	req.AssetCode, req.Offchain, req.QuoteID, req.Exchange = q.Get(token), q.Get(offchain), q.Get("quote_id"), true
	switch {
	case req.AssetCode == "":
		return req, &transfer.InputError{Msg: token + " is required (the code of one of the assets in /info's " + obj + ")"}
	case req.Amount == "" && req.QuoteID == "":
		return req, &transfer.InputError{Msg: "amount is required (of " + offchain + "), or a quote_id"}
	}
	return req, nil
}

// exchange serves GET /deposit-exchange and /withdraw-exchange.
func (h *Handlers) exchange(kind transfer.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := exchangeRequest(r, kind)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		h.create(w, r, req)
	}
}

func (h *Handlers) deposit(w http.ResponseWriter, r *http.Request) {
	h.create(w, r, request(r, transfer.Deposit))
}

func (h *Handlers) withdraw(w http.ResponseWriter, r *http.Request) {
	h.create(w, r, request(r, transfer.Withdrawal))
}

// create answers a deposit or withdrawal request (plain or exchange) as SEP-6 does.
func (h *Handlers) create(w http.ResponseWriter, r *http.Request, req transfer.Request) {
	if req.Kind == transfer.Withdrawal {
		h.createWithdrawal(w, r, req)
		return
	}
	t, err := h.Service.Create(r.Context(), principal(r), req)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	_, dir, _ := h.Service.Asset(t.AssetCode, transfer.Deposit)
	out := map[string]any{"id": t.ID}
	terms(out, dir, t)
	if t.Status == transfer.PendingUserTransferStart {
		ins := h.Service.Instructions(t)
		out["instructions"] = ins
		out["how"] = how(ins)
	} else {
		msg := "Provide the customer information listed by GET /transaction (required_customer_info_updates) with SEP-12; the deposit instructions then appear on the transaction."
		out["extra_info"] = map[string]string{"message": msg}
		// how is deprecated, but some wallets still require it in a 200 answer. It says how to
		// deposit (SEP-6: "instructions for how to deposit the asset"): the transfer, without
		// the reference that identifies it until the customer is accepted.
		ins := h.Service.Instructions(t)
		delete(ins, "external_transfer_memo")
		out["how"] = how(ins) + "Quote the reference shown on the transaction (GET /transaction) once your customer information is accepted."
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func how(ins map[string]config.Instruction) string {
	var parts []string
	for _, k := range []string{"organization.bank_name", "organization.bank_number", "organization.bank_account_number", "external_transfer_memo"} {
		if v, ok := ins[k]; ok {
			parts = append(parts, v.Description+": "+v.Value)
		}
	}
	if len(parts) == 0 {
		return "Make a bank transfer. "
	}
	return "Make a bank transfer. " + strings.Join(parts, "; ") + ". "
}

func (h *Handlers) createWithdrawal(w http.ResponseWriter, r *http.Request, req transfer.Request) {
	t, err := h.Service.Create(r.Context(), principal(r), req)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	_, dir, _ := h.Service.Asset(t.AssetCode, transfer.Withdrawal)
	out := map[string]any{"id": t.ID}
	terms(out, dir, t)
	if t.Status == transfer.PendingUserTransferStart {
		out["account_id"] = t.WithdrawAnchorAccount
		out["memo_type"] = t.WithdrawMemoType
		out["memo"] = t.WithdrawMemo
	} else {
		out["extra_info"] = map[string]string{"message": "Provide the customer information listed by GET /transaction (required_customer_info_updates) with SEP-12; where to send the payment then appears on the transaction."}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) transactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := principal(r)
	if acct := q.Get("account"); acct != "" && acct != p.Account {
		httpx.Error(w, http.StatusForbidden, "account does not match the authenticated account")
		return
	}
	// deposit-exchange and withdrawal-exchange are accepted; none exist (no quotes).
	lq, err := transfer.ParseListQuery(q, "deposit", "deposit-exchange", "withdrawal", "withdrawal-exchange")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	list, err := h.Service.List(r.Context(), p, lq)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	views := make([]*transfer.View, 0, len(list))
	for _, t := range list {
		views = append(views, h.Service.View(r.Context(), t))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"transactions": views})
}

func (h *Handlers) transaction(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := h.Service.Get(r.Context(), principal(r), q.Get("id"), q.Get("stellar_transaction_id"), q.Get("external_transaction_id"))
	if err == nil && t.Protocol != "" {
		err = transfer.ErrNotFound // a SEP-24 transaction: GET TRANSFER_SERVER_SEP0024/transaction
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"transaction": h.Service.View(r.Context(), t)})
}

// patch serves PATCH /transactions/{id}: anchor never asks for transaction info updates yet, so
// (as SEP-6 requires when no update was requested) it answers 400 for the owner's transactions.
func (h *Handlers) patch(w http.ResponseWriter, r *http.Request) {
	t, err := h.Service.Get(r.Context(), principal(r), r.PathValue("id"), "", "")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.Error(w, http.StatusBadRequest, "transaction "+t.ID+" is "+string(t.Status)+"; no information update was requested")
}
