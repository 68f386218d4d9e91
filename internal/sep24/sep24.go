// Package sep24 serves SEP-24, interactive deposits and withdrawals (TRANSFER_SERVER_SEP0024):
// /info, the interactive deposit and withdraw requests, /transaction and /transactions. A
// request creates the transaction in incomplete and answers the URL of the anchor's pages
// (internal/web) where the user goes on. The transactions are transfer's, with SEP-6's state
// machine, KYC, treasury and callbacks; each protocol's endpoints show only their own.
package sep24

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/sep10"
	"github.com/anchorkit/anchor/internal/sep6"
	"github.com/anchorkit/anchor/internal/sep9"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/web"
)

// Handlers serve SEP-24.
type Handlers struct {
	Service *transfer.Service
	Config  *config.Config
	Links   *web.Links
	// Info is the body of GET /info (BuildInfo), rendered once at start.
	Info []byte
	Now  func() time.Time
}

// Route is one endpoint.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Routes returns the endpoints under prefix; auth guards all but /info.
func (h *Handlers) Routes(prefix string, auth func(http.Handler) http.Handler) []Route {
	a := func(fn http.HandlerFunc) http.Handler { return auth(fn) }
	return []Route{
		{"GET", prefix + "/info", http.HandlerFunc(h.getInfo)},
		{"POST", prefix + "/transactions/deposit/interactive", a(h.interactive(transfer.Deposit))},
		{"POST", prefix + "/transactions/withdraw/interactive", a(h.interactive(transfer.Withdrawal))},
		{"GET", prefix + "/transaction", a(h.transaction)},
		{"GET", prefix + "/transactions", a(h.transactions)},
	}
}

// RejectAuth answers SEP-24's "Authentication required": 403 {"type": "authentication_required"}.
func RejectAuth(w http.ResponseWriter, r *http.Request, msg string) { sep6.RejectAuth(w, r, msg) }

type assetInfo struct {
	Enabled    bool        `json:"enabled"`
	MinAmount  json.Number `json:"min_amount,omitempty"`
	MaxAmount  json.Number `json:"max_amount,omitempty"`
	FeeFixed   json.Number `json:"fee_fixed,omitempty"`
	FeePercent json.Number `json:"fee_percent,omitempty"`
}

// BuildInfo renders GET /info (SEP-24's shape: no fields or types, which the interactive
// pages collect).
func BuildInfo(cfg *config.Config) ([]byte, error) {
	deposit, withdraw := map[string]assetInfo{}, map[string]assetInfo{}
	accountCreation := false
	dir := func(d config.Direction) assetInfo {
		if !d.Enabled {
			return assetInfo{}
		}
		return assetInfo{Enabled: true, MinAmount: money.JSONNumber(d.MinAmount), MaxAmount: money.JSONNumber(d.MaxAmount),
			FeeFixed: money.JSONNumber(d.FeeFixed), FeePercent: money.JSONNumber(d.FeePercent)}
	}
	for _, a := range cfg.Assets {
		deposit[a.Code], withdraw[a.Code] = dir(a.Deposit), dir(a.Withdraw)
		accountCreation = accountCreation || (a.AccountCreation && a.Deposit.Enabled)
	}
	b, err := json.Marshal(map[string]any{
		"deposit":  deposit,
		"withdraw": withdraw,
		"fee":      map[string]any{"enabled": false},
		"features": map[string]any{"account_creation": accountCreation, "claimable_balances": true},
	})
	if err != nil {
		return nil, fmt.Errorf("render SEP-24 /info: %w", err)
	}
	return b, nil
}

func (h *Handlers) getInfo(w http.ResponseWriter, r *http.Request) {
	httpx.WriteRawJSON(w, http.StatusOK, h.Info)
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func principal(r *http.Request) transfer.Principal {
	a, _ := sep10.FromContext(r.Context())
	return transfer.Principal{Account: a.Account, Memo: a.Memo}
}

// maxParams bounds a request body without files; with files (SEP-9 binary fields, which the
// pages will take over), up to the KYC quota.
const maxParams = 1 << 20

// params reads the request's parameters: SEP-24 says multipart/form-data, its examples use
// application/x-www-form-urlencoded, and wallets send JSON too. The first value of a repeated
// parameter counts; files are not read (the pages collect them).
func (h *Handlers) params(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	switch ct {
	case "application/json":
		r.Body = http.MaxBytesReader(w, r.Body, maxParams)
		var raw map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("the body is not a JSON object")
		}
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
				continue
			}
			switch t := strings.TrimSpace(string(v)); {
			case t == "true" || t == "false":
				out[k] = t
			case len(t) > 0 && (t[0] == '-' || t[0] >= '0' && t[0] <= '9'):
				out[k] = t // a number, as written (never through float64)
			case t == "null":
			default:
				return nil, fmt.Errorf("%s must be a string, a number or a boolean", k)
			}
		}
		return out, nil
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, h.Config.KYC.CustomerQuota+maxParams)
		if err := r.ParseMultipartForm(maxParams); err != nil {
			return nil, errors.New("the multipart body cannot be read")
		}
		defer r.MultipartForm.RemoveAll()
		for k, vs := range r.MultipartForm.Value {
			out[k] = vs[0]
		}
		return out, nil
	case "application/x-www-form-urlencoded", "":
		r.Body = http.MaxBytesReader(w, r.Body, maxParams)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, errors.New("the body is too large")
		}
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("the form body cannot be read")
		}
		for k, vs := range q {
			out[k] = vs[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("content type %q is not accepted; send multipart/form-data, application/x-www-form-urlencoded or JSON", ct)
}

// interactive serves POST /transactions/{deposit,withdraw}/interactive.
func (h *Handlers) interactive(kind transfer.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ps, err := h.params(w, r)
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		// An exchange: the off-chain asset the user sends (deposit: source_asset) or gets
		// (withdrawal: destination_asset), or a quote that names it.
		offchain, other := "source_asset", "destination_asset"
		if kind == transfer.Withdrawal {
			offchain, other = other, offchain
		}
		if ps[other] != "" {
			httpx.Error(w, http.StatusBadRequest, other+" is not a parameter of this request; the off-chain asset is "+offchain)
			return
		}
		if strings.HasPrefix(ps["account"], "C") {
			httpx.Error(w, http.StatusBadRequest, "account: contract accounts (C...) are not supported; use a G... or M... account")
			return
		}
		if cb := ps["claimable_balance_supported"]; cb != "" && cb != "true" && cb != "false" {
			httpx.Error(w, http.StatusBadRequest, "claimable_balance_supported must be true or false")
			return
		}
		if issuer := ps["asset_issuer"]; issuer != "" {
			if a, _, err := h.Service.Asset(ps["asset_code"], kind); err == nil && a.Issuer != issuer {
				httpx.Error(w, http.StatusBadRequest, "asset_issuer "+issuer+" does not issue "+a.Code+" here; leave it out or use "+a.Issuer)
				return
			}
		}
		// SEP-9 fields "may be passed as well to make the onboarding experience simpler": kept
		// to pre-fill the flow's form, each checked as SEP-12 checks it.
		prefill := map[string]string{}
		for k, v := range ps {
			f, ok := sep9.Lookup(k)
			if !ok || f.Type == sep9.Binary || v == "" {
				continue
			}
			if err := f.Check(v); err != nil {
				httpx.Error(w, http.StatusBadRequest, k+": "+err.Error())
				return
			}
			prefill[k] = v
		}
		req := transfer.Request{Kind: kind, Prefill: prefill, AssetCode: ps["asset_code"], Account: ps["account"], MemoType: ps["memo_type"],
			Memo: ps["memo"], Amount: ps["amount"], Lang: ps["lang"], ClaimableBalanceSupported: ps["claimable_balance_supported"],
			CustomerID: ps["customer_id"], Email: ps["email_address"], Offchain: ps[offchain], QuoteID: ps["quote_id"]}
		if kind == transfer.Withdrawal {
			req.RefundMemo, req.RefundMemoType = ps["refund_memo"], ps["refund_memo_type"]
		}
		p := principal(r)
		t, err := h.Service.CreateInteractive(r.Context(), p, req)
		if err != nil {
			sep6.WriteError(w, r, err)
			return
		}
		u, err := h.Links.Interactive(t.ID, p.Account, p.Memo, req.Lang, h.now().Add(web.InteractiveLifetime))
		if err != nil {
			httpx.Internal(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"type": "interactive_customer_info_needed", "url": u, "id": t.ID})
	}
}

// view is a transaction as SEP-24 shows it: SEP-6's object without what only SEP-6 has (its
// deposit instructions and customer-info fields: the pages show those).
func (h *Handlers) view(r *http.Request, t *transfer.Transaction) *transfer.View {
	v := h.Service.View(r.Context(), t)
	v.Instructions, v.RequiredCustomerInfoUpdates, v.RequiredInfoMessage = nil, nil, ""
	return v
}

func (h *Handlers) transaction(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := h.Service.Get(r.Context(), principal(r), q.Get("id"), q.Get("stellar_transaction_id"), q.Get("external_transaction_id"))
	if err == nil && t.Protocol != transfer.ProtocolSEP24 {
		err = transfer.ErrNotFound // a SEP-6 transaction: GET TRANSFER_SERVER/transaction
	}
	if err != nil {
		sep6.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"transaction": h.view(r, t)})
}

func (h *Handlers) transactions(w http.ResponseWriter, r *http.Request) {
	lq, err := transfer.ParseListQuery(r.URL.Query(), "deposit", "withdrawal")
	if err != nil {
		sep6.WriteError(w, r, err)
		return
	}
	lq.Protocol = transfer.ProtocolSEP24
	list, err := h.Service.List(r.Context(), principal(r), lq)
	if err != nil {
		sep6.WriteError(w, r, err)
		return
	}
	views := make([]*transfer.View, 0, len(list))
	for _, t := range list {
		views = append(views, h.view(r, t))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"transactions": views})
}
