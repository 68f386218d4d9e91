package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// CreditResult is one deposit of `credit --all`.
type CreditResult struct {
	ID     string `json:"id"`
	Status string `json:"status,omitempty"`
	Hash   string `json:"hash,omitempty"`
	Error  string `json:"error,omitempty"`
}

// CreditAll credits every deposit waiting for its tokens (pending_anchor, pending_trust) and
// resumes those in pending_stellar.
func CreditAll(ctx context.Context, t *treasury.Treasury, transfers *transfer.Service) ([]CreditResult, error) {
	var ids []string
	for _, st := range []transfer.Status{transfer.PendingStellar, transfer.PendingAnchor, transfer.PendingTrust} {
		list, err := transfers.OperatorList(ctx, transfer.OpsFilter{Status: st, Kind: transfer.Deposit})
		if err != nil {
			return nil, err
		}
		for _, tx := range list {
			ids = append(ids, tx.ID)
		}
	}
	out := []CreditResult{}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		tx, err := t.Credit(ctx, id)
		r := CreditResult{ID: id}
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Status, r.Hash = string(tx.Status), tx.StellarTransactionID
		}
		out = append(out, r)
	}
	return out, nil
}

// TreasuryFactory builds the server's treasury for an operator (nil when not configured).
type TreasuryFactory func(by string) (*treasury.Treasury, error)

// MountTreasury adds the credit and unmatched-payment endpoints to an admin mux.
func MountTreasury(mux *http.ServeMux, mk TreasuryFactory, transfers *transfer.Service) {
	mux.HandleFunc("GET /v1/treasury/unmatched", func(w http.ResponseWriter, r *http.Request) {
		t, err := mk("")
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		out, err := t.Store.UnmatchedPayments(r.Context())
		replyTreasury(w, r, out, err)
	})
	mux.HandleFunc("POST /v1/treasury/credit/{id}", func(w http.ResponseWriter, r *http.Request) {
		t, err := mk(r.URL.Query().Get("by"))
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		tx, err := t.Credit(r.Context(), r.PathValue("id"))
		replyTreasury(w, r, tx, err)
	})
	mux.HandleFunc("POST /v1/treasury/credit", func(w http.ResponseWriter, r *http.Request) {
		t, err := mk(r.URL.Query().Get("by"))
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		out, err := CreditAll(r.Context(), t, transfers)
		replyTreasury(w, r, out, err)
	})
}

func replyTreasury(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err == nil {
		httpx.WriteJSON(w, http.StatusOK, v)
		return
	}
	// Treasury errors are the operator's to read (no secrets in them): say them.
	httpx.Error(w, http.StatusBadRequest, err.Error())
}

// Credit asks the server to credit a deposit.
func (c *Client) Credit(ctx context.Context, id, by string) (*transfer.Transaction, error) {
	var out transfer.Transaction
	if err := c.do(ctx, "POST", "/v1/treasury/credit/"+url.PathEscape(id)+"?by="+url.QueryEscape(by), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreditAll asks the server to credit every waiting deposit.
func (c *Client) CreditAll(ctx context.Context, by string) ([]CreditResult, error) {
	var out []CreditResult
	err := c.do(ctx, "POST", "/v1/treasury/credit?by="+url.QueryEscape(by), nil, &out)
	return out, err
}

// UnmatchedPayments asks the server for the payments that matched no withdrawal.
func (c *Client) UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error) {
	var out []treasury.Unmatched
	err := c.do(ctx, "GET", "/v1/treasury/unmatched", nil, &out)
	return out, err
}
