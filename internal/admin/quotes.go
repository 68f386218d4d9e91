package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
)

// Quotes is what `anchor quote` needs: Local (the store) and QuotesClient (the socket)
// implement it.
type Quotes interface {
	ListQuotes(ctx context.Context, f quotes.Filter) ([]*quotes.Quote, error)
	// ShowQuote returns a quote with the transaction that used it (TransferID).
	ShowQuote(ctx context.Context, id string) (*quotes.Quote, error)
}

// QuoteStore is the store's side of the quotes.
type QuoteStore interface {
	quotes.Store
	quotes.Lister
}

// LocalQuotes reads quotes from the store, and their use from the transactions.
type LocalQuotes struct {
	Store     QuoteStore
	Transfers *transfer.Service
}

var (
	_ Quotes = LocalQuotes{}
	_ Quotes = QuotesClient{}
)

// ListQuotes implements Quotes.
func (l LocalQuotes) ListQuotes(ctx context.Context, f quotes.Filter) ([]*quotes.Quote, error) {
	return quotes.List(ctx, l.Store, f)
}

// ShowQuote implements Quotes.
func (l LocalQuotes) ShowQuote(ctx context.Context, id string) (*quotes.Quote, error) {
	q, err := l.Store.Quote(ctx, id)
	if err != nil {
		return nil, err
	}
	q.TransferID, err = l.Transfers.QuoteUser(ctx, id)
	return q, err
}

// mountQuotes adds GET /v1/quotes (account=G..., limit=N) and GET /v1/quotes/{id}.
func mountQuotes(mux mux, qs Quotes) {
	mux.HandleFunc("GET /v1/quotes", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := quotes.Filter{Account: q.Get("account")}
		var ok bool
		if f.Limit, ok = limitParam(w, q); !ok {
			return
		}
		out, err := qs.ListQuotes(r.Context(), f)
		reply(w, r, out, err)
	})
	mux.HandleFunc("GET /v1/quotes/{id}", func(w http.ResponseWriter, r *http.Request) {
		out, err := qs.ShowQuote(r.Context(), r.PathValue("id"))
		reply(w, r, out, err)
	})
}

// QuotesClient reads quotes through a running server's socket.
type QuotesClient struct{ *Client }

// ListQuotes implements Quotes.
func (c QuotesClient) ListQuotes(ctx context.Context, f quotes.Filter) ([]*quotes.Quote, error) {
	var out []*quotes.Quote
	err := c.do(ctx, "GET", "/v1/quotes?"+url.Values{"account": {f.Account}, "limit": {strconv.Itoa(f.Limit)}}.Encode(), nil, &out)
	return out, err
}

// ShowQuote implements Quotes.
func (c QuotesClient) ShowQuote(ctx context.Context, id string) (*quotes.Quote, error) {
	var out quotes.Quote
	if err := c.do(ctx, "GET", "/v1/quotes/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
