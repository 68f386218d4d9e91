package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/horizon"
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

// CreditLine is one line of the streamed answer to `credit --all`: a deposit's result, or the
// last line (Done) with the totals and the error that stopped the batch, if any.
type CreditLine struct {
	CreditResult
	Done   bool   `json:"done,omitempty"`
	Total  int    `json:"total,omitempty"`
	Failed int    `json:"failed,omitempty"`
	Fatal  string `json:"fatal,omitempty"`
}

// CreditAll credits every deposit waiting for its tokens (pending_anchor, pending_trust) and
// resumes those in pending_stellar, calling progress (when set) after each.
func CreditAll(ctx context.Context, t *treasury.Treasury, transfers *transfer.Service, progress func(CreditResult)) ([]CreditResult, error) {
	ids, err := treasury.Deposits(ctx, transfers, transfer.PendingStellar, transfer.PendingAnchor, transfer.PendingTrust)
	if err != nil {
		return nil, err
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
		if progress != nil {
			progress(r)
		}
	}
	return out, nil
}

// TreasuryFactory builds the server's treasury for an operator, and returns the issuer key
// when one is configured.
type TreasuryFactory func(by string) (*treasury.Treasury, *keypair.Full, error)

// MountTreasury adds the credit and unmatched-payment endpoints to an admin mux. Treasury work
// may take longer than the server's write timeout (Horizon retries, many deposits), so these
// responses have none; life is the server's lifetime, which a batch runs under rather than
// under the connection of the CLI that asked for it.
func MountTreasury(life context.Context, mux mux, mk TreasuryFactory, transfers *transfer.Service) {
	// handle serves pattern with the treasury of the operator named by ?by=.
	handle := func(pattern string, fn func(r *http.Request, t *treasury.Treasury, issuer *keypair.Full) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
			t, issuer, err := mk(Actor(r.Context(), r.URL.Query().Get("by")))
			if err != nil {
				httpx.Error(w, http.StatusBadRequest, err.Error())
				return
			}
			v, err := fn(r, t, issuer)
			replyTreasury(w, r, v, err)
		})
	}
	// Unmatched payments newest first, streamed; ?unsettled=1 only those not settled, ?limit=N.
	mux.HandleFunc("GET /v1/treasury/unmatched", func(w http.ResponseWriter, r *http.Request) {
		t, _, err := mk(Actor(r.Context(), ""))
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		unsettled := r.URL.Query().Get("unsettled") == "1"
		streamArray(w, r, func(emit func(any) bool) error {
			n := 0
			return t.Store.EachUnmatched(r.Context(), func(u *treasury.Unmatched) bool {
				if unsettled && u.Settlement != nil {
					return true
				}
				n++
				return emit(u) && (limit <= 0 || n < limit)
			})
		})
	})
	handle("POST /v1/treasury/payments/{id}/return", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		t.DryRun = r.URL.Query().Get("dry_run") == "1"
		return t.ReturnPayment(r.Context(), r.PathValue("id"))
	})
	handle("POST /v1/treasury/payments/{id}/resolve", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		var req ResolveRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			return nil, errors.New("body is not a resolution")
		}
		return t.ResolvePayment(r.Context(), transfers, r.PathValue("id"), req.Withdrawal, req.Note)
	})
	handle("POST /v1/treasury/weights", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		var req struct {
			Envelope string `json:"envelope"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			return nil, errors.New("body is not an envelope")
		}
		return t.Weights(r.Context(), req.Envelope)
	})
	handle("GET /v1/treasury/proposals", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		return t.Proposals(r.Context())
	})
	handle("POST /v1/treasury/proposals/{id...}", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		t.DryRun = r.URL.Query().Get("dry_run") == "1"
		return t.Approve(r.Context(), r.PathValue("id"))
	})
	handle("POST /v1/treasury/burn-withdrawals", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		t.DryRun = r.URL.Query().Get("dry_run") == "1"
		ops, err := t.BurnWithdrawals(r.Context(), transfers)
		if ops == nil {
			ops = []*treasury.Op{}
		}
		return ops, err
	})
	handle("POST /v1/treasury/prepare-credit/{id}", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		t.XDROut = true
		if r.URL.Query().Get("unsigned") == "1" {
			t.Signer = nil
		}
		if v := r.URL.Query().Get("valid_for"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, &treasury.InputError{Msg: "valid_for " + strconv.Quote(v) + " is not a duration such as 24h"}
			}
			t.ValidFor = d
		}
		if _, err := t.Credit(r.Context(), r.PathValue("id")); err != nil {
			return nil, err
		}
		return t.Prepared(r.Context(), r.PathValue("id"))
	})
	handle("GET /v1/treasury/plan-credit/{id}", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		return t.PlanCredit(r.Context(), r.PathValue("id"))
	})
	handle("POST /v1/treasury/submit", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		var req struct {
			Envelope string `json:"envelope"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			return nil, errors.New("body is not an envelope")
		}
		return t.Submit(r.Context(), req.Envelope)
	})
	handle("GET /v1/treasury/reconcile", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		rep, err := treasury.Reconcile(r.Context(), t.Store, transfers, t.Config, t.Horizon.(horizon.Ledger))
		if err == nil {
			err = events.RecordReconcile(r.Context(), t.Store, rep)
		}
		return rep, err
	})
	handle("POST /v1/treasury/actions", func(r *http.Request, t *treasury.Treasury, issuer *keypair.Full) (any, error) {
		var req ActionRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			return nil, errors.New("body is not an action")
		}
		t.By = Actor(r.Context(), req.By)
		return RunAction(r.Context(), t, issuer, req)
	})
	handle("POST /v1/treasury/credit/{id}", func(r *http.Request, t *treasury.Treasury, _ *keypair.Full) (any, error) {
		return t.Credit(r.Context(), r.PathValue("id"))
	})
	// credit --all streams one JSON line per deposit as it is done, then a Done line. The batch
	// belongs to the server: a CLI that is interrupted or goes away neither stops it halfway nor
	// repeats anything (each credit is exactly once), and `anchor tx list` shows where it is.
	mux.HandleFunc("POST /v1/treasury/credit", func(w http.ResponseWriter, r *http.Request) {
		t, _, err := mk(Actor(r.Context(), r.URL.Query().Get("by")))
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		ctx, cancel := context.WithCancel(life)
		defer cancel()
		enc := json.NewEncoder(w)
		results, err := CreditAll(ctx, t, transfers, func(res CreditResult) {
			_ = enc.Encode(CreditLine{CreditResult: res})
			_ = rc.Flush()
		})
		last := CreditLine{Done: true, Total: len(results)}
		for _, res := range results {
			if res.Error != "" {
				last.Failed++
			}
		}
		if err != nil {
			last.Fatal = err.Error()
		}
		_ = enc.Encode(last)
	})
}

func replyTreasury(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err == nil {
		httpx.WriteJSON(w, http.StatusOK, present(r, v))
		return
	}
	// Held by the two-person rule: accepted, waiting for a second person.
	if errors.As(err, new(*treasury.ProposedError)) {
		httpx.Error(w, http.StatusAccepted, err.Error())
		return
	}
	// Treasury errors are the operator's to read (no secrets in them): say them. Horizon that
	// cannot be reached is a 503, so that the CLI can tell it from a refusal.
	if errors.Is(err, horizon.ErrUnavailable) {
		httpx.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
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

// CreditAll asks the server to credit every waiting deposit, calling progress with each result
// as the server streams it. Cancelling ctx stops listening, not the server's batch.
func (c *Client) CreditAll(ctx context.Context, by string, progress func(CreditResult)) ([]CreditResult, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://anchor/v1/treasury/credit?by="+url.QueryEscape(by), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.long.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.errorOf(resp)
	}
	out := []CreditResult{}
	dec := json.NewDecoder(resp.Body)
	for {
		var line CreditLine
		if err := dec.Decode(&line); err != nil {
			if ctx.Err() != nil {
				return out, fmt.Errorf("stopped listening (%w); the server carries on with the batch: see anchor tx list", ctx.Err())
			}
			return out, fmt.Errorf("admin API: the answer ended early (%v); the server may still be crediting: see anchor tx list", err)
		}
		if line.Done {
			if line.Fatal != "" {
				return out, errors.New(line.Fatal)
			}
			return out, nil
		}
		out = append(out, line.CreditResult)
		if progress != nil {
			progress(line.CreditResult)
		}
	}
}

// UnmatchedPayments asks the server for the payments that matched no withdrawal.
func (c *Client) UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error) {
	out := []treasury.Unmatched{}
	err := c.EachPayment(ctx, false, 0, func(u *treasury.Unmatched) bool { out = append(out, *u); return true })
	return out, err
}

// EachPayment calls fn with the recorded unmatched payments (only unsettled ones with
// unsettled), newest first, at most limit (0: all), as the server streams them.
func (c *Client) EachPayment(ctx context.Context, unsettled bool, limit int, fn func(*treasury.Unmatched) bool) error {
	q := url.Values{}
	if unsettled {
		q.Set("unsettled", "1")
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return c.do(ctx, "GET", "/v1/treasury/unmatched?"+q.Encode(), nil, stream(decodeArray("payment list", fn)))
}

// ResolveRequest settles an unmatched payment: tied to a withdrawal, or with a note.
type ResolveRequest struct {
	Withdrawal string `json:"withdrawal,omitempty"`
	Note       string `json:"note,omitempty"`
}

// ReturnPayment asks the server to send an unmatched payment back (a plan with dryRun).
func (c *Client) ReturnPayment(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error) {
	var out treasury.Op
	q := "?by=" + url.QueryEscape(by)
	if dryRun {
		q += "&dry_run=1"
	}
	if err := c.do(ctx, "POST", "/v1/treasury/payments/"+url.PathEscape(id)+"/return"+q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResolvePayment asks the server to settle an unmatched payment without sending it back.
func (c *Client) ResolvePayment(ctx context.Context, id, by string, r ResolveRequest) (*treasury.Unmatched, error) {
	var out treasury.Unmatched
	if err := c.do(ctx, "POST", "/v1/treasury/payments/"+url.PathEscape(id)+"/resolve?by="+url.QueryEscape(by), r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Proposed is an answer of the server that the action waits for a second person's approval.
type Proposed struct{ Msg string }

func (p *Proposed) Error() string { return p.Msg }

// Proposed marks it as "waiting", not a failure.
func (p *Proposed) Proposed() bool { return true }

// Weights asks the server to weigh an envelope's signatures against its accounts' thresholds.
func (c *Client) Weights(ctx context.Context, envelope string) (*treasury.Weights, error) {
	var out treasury.Weights
	if err := c.do(ctx, "POST", "/v1/treasury/weights", map[string]string{"envelope": envelope}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Proposals asks the server for the two-person rule's proposals.
func (c *Client) Proposals(ctx context.Context) ([]treasury.Proposal, error) {
	var out []treasury.Proposal
	err := c.do(ctx, "GET", "/v1/treasury/proposals", nil, &out)
	return out, err
}

// Approve asks the server to approve and carry out a proposed action as by.
func (c *Client) Approve(ctx context.Context, id, by string, dryRun bool) (*treasury.Op, error) {
	var out treasury.Op
	q := "?by=" + url.QueryEscape(by)
	if dryRun {
		q += "&dry_run=1"
	}
	if err := c.do(ctx, "POST", "/v1/treasury/proposals/"+url.PathEscape(id)+q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ActionRequest is a treasury action an operator asks for: pay, burn or home-domain.
type ActionRequest struct {
	Kind   string `json:"kind"`
	To     string `json:"to,omitempty"`
	Amount string `json:"amount,omitempty"`
	Asset  string `json:"asset,omitempty"` // asset code; default the first configured asset
	Memo   string `json:"memo,omitempty"`  // id memo for payments
	Domain string `json:"domain,omitempty"`
	Ref    string `json:"ref,omitempty"`
	// XDROut prepares the transaction for offline signing instead of submitting it; with
	// Unsigned the server does not sign it either (the CLI signs with a prompted key).
	XDROut   bool `json:"xdr_out,omitempty"`
	Unsigned bool `json:"unsigned,omitempty"`
	// DryRun shows what would be submitted, and stores, signs and submits nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// ValidFor is how long an XDROut envelope stays valid (a Go duration; default 24h).
	ValidFor string `json:"valid_for,omitempty"`
	// By is the --by note; the actor is the OS user (Actor).
	By string `json:"by,omitempty"`
}

// RunAction builds and executes a treasury action exactly once per reference. Without --ref the
// reference is the action's parameters alone, never the clock: a repeat resumes the stored
// action whatever its age (an "outcome unknown" yesterday is looked up, not paid again), and a
// repeat of one already confirmed is refused, naming it; a deliberate second identical action
// needs its own --ref.
func RunAction(ctx context.Context, t *treasury.Treasury, issuer *keypair.Full, r ActionRequest) (*treasury.Op, error) {
	var asset *config.Asset
	for i := range t.Config.Assets {
		if a := &t.Config.Assets[i]; r.Asset == "" || a.Code == r.Asset {
			asset = a
			break
		}
	}
	if asset == nil {
		return nil, &treasury.InputError{Msg: "asset " + r.Asset + " is not configured"}
	}
	t.XDROut = r.XDROut || r.Unsigned
	t.DryRun = r.DryRun
	if r.ValidFor != "" {
		d, err := time.ParseDuration(r.ValidFor)
		if err != nil || d <= 0 {
			return nil, &treasury.InputError{Msg: "--valid-for " + strconv.Quote(r.ValidFor) + " is not a duration such as 24h"}
		}
		t.ValidFor = d
	}
	if r.Unsigned {
		t.Signer, issuer = nil, nil
	}
	credit := txnbuild.CreditAsset{Code: asset.Code, Issuer: asset.Issuer}
	switch r.Kind {
	case "pay", "burn":
		if _, err := transfer.ParseAmount(r.Amount); err != nil {
			return nil, &treasury.InputError{Msg: "--amount: " + err.Error()}
		}
		to := r.To
		if r.Kind == "burn" {
			to = asset.Issuer
		}
		if !strkey.IsValidEd25519PublicKey(to) {
			return nil, &treasury.InputError{Msg: "--to " + to + " is not a Stellar account (G...)"}
		}
		var memo txnbuild.Memo
		if r.Memo != "" {
			id, err := strconv.ParseUint(r.Memo, 10, 64)
			if err != nil {
				return nil, &treasury.InputError{Msg: "--memo must be an id memo (a number)"}
			}
			memo = txnbuild.MemoID(id)
		}
		ref := r.Ref
		if ref == "" {
			ref = strings.Join([]string{r.Kind, asset.Code, to, r.Amount, r.Memo}, "/")
		}
		if op, err := done(ctx, t, r.Kind+"/"+ref); op != nil || err != nil {
			return op, err
		}
		amt, _ := transfer.ParseAmount(r.Amount)
		return t.Execute(ctx, r.Kind+"/"+ref, r.Kind, asset.DistributionAccount, t.Signer, []txnbuild.Operation{&txnbuild.Payment{Destination: to, Amount: r.Amount, Asset: credit}}, memo,
			treasury.Moved{Asset: asset.Code + ":" + asset.Issuer, Amount: amt})
	case "home-domain":
		if issuer == nil && !t.XDROut {
			return nil, &treasury.InputError{Msg: "issuer_secret is not set (ANCHOR_ISSUER_SECRET or the secrets file)"}
		}
		if issuer != nil && issuer.Address() != asset.Issuer {
			return nil, &treasury.InputError{Msg: "issuer_secret is not the key of " + asset.Issuer}
		}
		ref := r.Ref
		if ref == "" {
			ref = r.Domain
		}
		if op, err := done(ctx, t, "home-domain/"+ref); op != nil || err != nil {
			return op, err
		}
		return t.Execute(ctx, "home-domain/"+ref, "home-domain", asset.Issuer, issuer, []txnbuild.Operation{&txnbuild.SetOptions{HomeDomain: txnbuild.NewHomeDomain(r.Domain)}}, nil, treasury.Moved{})
	}
	return nil, &treasury.InputError{Msg: "unknown action " + r.Kind}
}

// done returns the confirmed action id, marked AlreadyDone, when the same action (same
// parameters, or the same --ref) was confirmed before: it is not done again (a retry of it is
// done; a deliberate second one needs its own --ref), and nil otherwise.
func done(ctx context.Context, t *treasury.Treasury, id string) (*treasury.Op, error) {
	op, err := t.Action(ctx, id)
	if errors.Is(err, treasury.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if op.State != treasury.Confirmed {
		return nil, nil // in flight, expired or failed: Execute resumes or retries it
	}
	op.AlreadyDone = true
	return op, nil
}

// RunAction asks the server to run a treasury action.
func (c *Client) RunAction(ctx context.Context, r ActionRequest) (*treasury.Op, error) {
	var out treasury.Op
	if err := c.do(ctx, "POST", "/v1/treasury/actions", r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reconcile asks the server to reconcile the store with the ledger.
func (c *Client) Reconcile(ctx context.Context) (*treasury.Report, error) {
	var out treasury.Report
	if err := c.do(ctx, "GET", "/v1/treasury/reconcile", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BurnWithdrawals asks the server to burn what completed withdrawals collected.
// With dryRun it only shows the burns (see Treasury.DryRun).
func (c *Client) BurnWithdrawals(ctx context.Context, dryRun bool) ([]*treasury.Op, error) {
	var out []*treasury.Op
	path := "/v1/treasury/burn-withdrawals"
	if dryRun {
		path += "?dry_run=1"
	}
	err := c.do(ctx, "POST", path, nil, &out)
	return out, err
}

// PrepareCredit asks the server to prepare a deposit's credit for offline signing.
func (c *Client) PrepareCredit(ctx context.Context, id, by string, unsigned bool, validFor time.Duration) (*treasury.Op, error) {
	var out treasury.Op
	q := "?by=" + url.QueryEscape(by)
	if unsigned {
		q += "&unsigned=1"
	}
	if validFor > 0 {
		q += "&valid_for=" + url.QueryEscape(validFor.String())
	}
	if err := c.do(ctx, "POST", "/v1/treasury/prepare-credit/"+url.PathEscape(id)+q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlanCredit asks the server what crediting a deposit would submit now (a dry run).
func (c *Client) PlanCredit(ctx context.Context, id string) (*treasury.Op, error) {
	var out treasury.Op
	if err := c.do(ctx, "GET", "/v1/treasury/plan-credit/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Submit asks the server to submit an envelope signed elsewhere.
func (c *Client) Submit(ctx context.Context, envelope, by string) (*treasury.Op, error) {
	var out treasury.Op
	if err := c.do(ctx, "POST", "/v1/treasury/submit?by="+url.QueryEscape(by), map[string]string{"envelope": envelope}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
