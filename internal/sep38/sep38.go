// Package sep38 is the SEP-38 quote server (ANCHOR_QUOTE_SERVER): GET /info, /prices, /price
// (indicative; SEP-10 optional), POST /quote and GET /quote/{id} (firm; SEP-10 required).
package sep38

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/sep10"
)

// Handlers serve SEP-38 over a quotes.Service.
type Handlers struct {
	Service *quotes.Service
}

// Route is one endpoint.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Routes returns the endpoints under prefix; auth guards the firm quotes, and limit the
// indicative prices (no token needed, and each may ask the business's pricing endpoint).
func (h *Handlers) Routes(prefix string, auth, limit func(http.Handler) http.Handler) []Route {
	return []Route{
		{"GET", prefix + "/info", http.HandlerFunc(h.info)},
		{"GET", prefix + "/prices", limit(http.HandlerFunc(h.prices))},
		{"GET", prefix + "/price", limit(http.HandlerFunc(h.price))},
		{"POST", prefix + "/quote", auth(http.HandlerFunc(h.createQuote))},
		{"GET", prefix + "/quote/{id}", auth(http.HandlerFunc(h.getQuote))},
	}
}

// RejectAuth answers SEP-38's 403 for a missing or refused token.
func RejectAuth(w http.ResponseWriter, r *http.Request, msg string) {
	httpx.Error(w, http.StatusForbidden, msg)
}

func (h *Handlers) info(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"assets": h.Service.Info()})
}

// request reads the parameters every endpoint shares (each at most once).
func request(get func(string) ([]string, bool)) (quotes.Request, error) {
	var out quotes.Request
	for name, dst := range map[string]*string{
		"sell_asset": &out.SellAsset, "buy_asset": &out.BuyAsset, "sell_amount": &out.SellAmount, "buy_amount": &out.BuyAmount,
		"sell_delivery_method": &out.SellDeliveryMethod, "buy_delivery_method": &out.BuyDeliveryMethod,
		"country_code": &out.CountryCode, "context": &out.Context,
	} {
		vs, ok := get(name)
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return out, &quotes.InputError{Msg: name + " is given more than once"}
		}
		*dst = strings.TrimSpace(vs[0])
	}
	return out, nil
}

func query(r *http.Request) (quotes.Request, error) {
	q := r.URL.Query()
	return request(func(k string) ([]string, bool) { v, ok := q[k]; return v, ok })
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *quotes.InputError
	switch {
	case errors.As(err, &ie):
		httpx.Error(w, http.StatusBadRequest, ie.Msg)
	case errors.Is(err, quotes.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, "quote not found")
	case errors.Is(err, quotes.ErrUnavailable):
		// The business's pricing failed: say so, never price on our own; the operator's log
		// says why (the wallet is not told the endpoint's address or answer).
		httpx.Logger(r.Context()).Warn("pricing endpoint", "err", err)
		w.Header().Set("Retry-After", "5")
		httpx.Error(w, http.StatusServiceUnavailable, "prices are unavailable at the moment; try again shortly")
	default:
		httpx.Internal(w, r, err)
	}
}

func (h *Handlers) prices(w http.ResponseWriter, r *http.Request) {
	req, err := query(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	buy, sell, err := h.Service.Prices(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.SellAsset != "" {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"buy_assets": buy})
	} else {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"sell_assets": sell})
	}
}

func (h *Handlers) price(w http.ResponseWriter, r *http.Request) {
	req, err := query(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.Service.Price(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, p)
}

// quoteView is a firm quote as SEP-38 answers it (never whose it is).
type quoteView struct {
	ID                 string     `json:"id"`
	ExpiresAt          string     `json:"expires_at"`
	TotalPrice         string     `json:"total_price"`
	Price              string     `json:"price"`
	SellAsset          string     `json:"sell_asset"`
	SellAmount         string     `json:"sell_amount"`
	SellDeliveryMethod string     `json:"sell_delivery_method,omitempty"`
	BuyAsset           string     `json:"buy_asset"`
	BuyAmount          string     `json:"buy_amount"`
	BuyDeliveryMethod  string     `json:"buy_delivery_method,omitempty"`
	Fee                quotes.Fee `json:"fee"`
}

func view(q *quotes.Quote) quoteView {
	return quoteView{ID: q.ID, ExpiresAt: q.ExpiresAt.UTC().Format(time.RFC3339), TotalPrice: q.TotalPrice, Price: q.Price,
		SellAsset: q.SellAsset, SellAmount: q.SellAmount, SellDeliveryMethod: q.SellDeliveryMethod,
		BuyAsset: q.BuyAsset, BuyAmount: q.BuyAmount, BuyDeliveryMethod: q.BuyDeliveryMethod, Fee: q.Fee}
}

func owner(r *http.Request) quotes.Owner {
	a, _ := sep10.FromContext(r.Context())
	return quotes.Owner{Account: a.Account, Memo: a.Memo}
}

func (h *Handlers) createQuote(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		httpx.Error(w, http.StatusBadRequest, "send the quote request as application/json")
		return
	}
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		httpx.Error(w, http.StatusBadRequest, "the body is not a JSON object")
		return
	}
	get := func(k string) ([]string, bool) {
		v, ok := body[k]
		if !ok || v == nil {
			return nil, false
		}
		switch v := v.(type) {
		case string:
			return []string{v}, true
		case json.Number:
			return []string{v.String()}, true
		}
		return []string{""}, true // not a text: refused as a bad value
	}
	req, err := request(get)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if v, ok := get("expire_after"); ok {
		t, err := time.Parse(time.RFC3339, v[0])
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, "expire_after "+v[0]+" is not an ISO 8601 time such as 2026-12-01T18:00:00Z")
			return
		}
		req.ExpireAfter = t
	}
	q, err := h.Service.Create(r.Context(), owner(r), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, view(q))
}

func (h *Handlers) getQuote(w http.ResponseWriter, r *http.Request) {
	q, err := h.Service.Get(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view(q))
}
