// Package horizon is anchor's narrow view of Horizon. Production code talks to a real Horizon
// through the SDK's horizonclient; tests use the loopback stand-in in package standin.
package horizon

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
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/amount"
	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	hProtocol "github.com/stellar/go-stellar-sdk/protocols/horizon"
	"github.com/stellar/go-stellar-sdk/protocols/horizon/operations"
)

var (
	// ErrNotFound: Horizon answered 404 for the resource.
	ErrNotFound = errors.New("horizon: not found")
	// ErrUnavailable: Horizon could not give an answer (network error, timeout, 5xx, 429).
	ErrUnavailable = errors.New("horizon: unavailable")
)

// UnreachableError is an ErrUnavailable where no HTTP answer came back at all (dial, DNS).
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "horizon: unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return ErrUnavailable }

// Account is what anchor reads of an account.
type Account = hProtocol.Account

// Client is the part of Horizon anchor uses.
type Client interface {
	// Account returns the account or ErrNotFound; ErrUnavailable when Horizon cannot answer.
	Account(ctx context.Context, id string) (*Account, error)
	// Signers returns what SEP-10 reads of an account (its signers and thresholds), decoded
	// alone, or ErrNotFound; ErrUnavailable when Horizon cannot answer.
	Signers(ctx context.Context, id string) (*Signers, error)
}

// Signers is an account's signers and thresholds.
type Signers struct {
	Thresholds hProtocol.AccountThresholds `json:"thresholds"`
	Signers    []hProtocol.Signer          `json:"signers"`
}

// New returns a Client for the Horizon at baseURL. Each request is bounded by timeout and
// retried (with backoff, within the context) on 5xx, 429 and timeouts.
func New(baseURL string, timeout time.Duration) Client {
	return newClient(baseURL, timeout)
}

type client struct {
	url     string
	http    *http.Client
	retries int
	backoff time.Duration
	// maxWait caps how long one Retry-After may hold a read.
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	// reads are the Signers reads under way, by account, which concurrent calls share.
	readsMu sync.Mutex
	reads   map[string]*signersRead
}

// signersRead is one Signers read, run by the call that started it and awaited by the calls
// for the same account that came while it ran.
type signersRead struct {
	done chan struct{} // closed when the read has ended
	val  *Signers
	err  error
	// again: the read ended without an answer of its own (its caller gave up, or it
	// panicked), so that those awaiting it read again.
	again bool
}

// maxIdleConns is how many idle connections to Horizon are kept for reuse. Go's default
// transport keeps 2 per host, so that beyond 2 concurrent look-ups (SEP-10 rounds of many
// wallets at once) each one opened, and against a real Horizon TLS-handshook, a connection of
// its own and closed it after.
const maxIdleConns = 256

func newClient(baseURL string, timeout time.Duration) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = maxIdleConns, maxIdleConns
	return &client{url: baseURL, http: &http.Client{Timeout: timeout, Transport: tr}, retries: 2, backoff: 100 * time.Millisecond,
		maxWait: 10 * time.Second, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// read runs a read-only call, retrying (within ctx) when Horizon is briefly unable to answer:
// 5xx, timeouts, and 429 after the Retry-After it asks for (exponential backoff otherwise).
// The last error is returned unclassified so that callers can tell 404 apart.
func (c *client) read(ctx context.Context, call func(hc *horizonclient.Client) error) error {
	for attempt := 0; ; attempt++ {
		err := call(c.hc(ctx))
		if err == nil || attempt >= c.retries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := c.backoff << attempt
		if ra, ok := retryAfter(err); ok {
			if ra > c.maxWait {
				return err // Horizon asks for longer than a read may wait: report it unavailable now.
			}
			wait = ra
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		if c.sleep(ctx, wait) != nil {
			return err
		}
	}
}

// retryAfter reads a 429/503 answer's Retry-After (seconds or an HTTP date).
func retryAfter(err error) (time.Duration, bool) {
	herr := horizonclient.GetError(err)
	if herr == nil || herr.Response == nil {
		return 0, false
	}
	v := strings.TrimSpace(herr.Response.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, e := strconv.Atoi(v); e == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, e := http.ParseTime(v); e == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// ctxHTTP binds a context to horizonclient's context-free calls.
type ctxHTTP struct {
	ctx context.Context
	c   *http.Client
}

func (h ctxHTTP) Do(r *http.Request) (*http.Response, error) { return h.c.Do(r.WithContext(h.ctx)) }
func (h ctxHTTP) Get(u string) (*http.Response, error) {
	r, err := http.NewRequestWithContext(h.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return h.c.Do(r)
}
func (h ctxHTTP) PostForm(u string, data url.Values) (*http.Response, error) {
	r, err := http.NewRequestWithContext(h.ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, err
	}
	r.PostForm = data
	return h.c.Do(r)
}

func (c *client) Account(ctx context.Context, id string) (*Account, error) {
	var acct Account
	err := c.read(ctx, func(hc *horizonclient.Client) (err error) {
		acct, err = hc.AccountDetail(horizonclient.AccountRequest{AccountID: id})
		return err
	})
	return found(&acct, err)
}

// found returns what a read got: v, ErrNotFound for Horizon's not_found, or the error
// classified.
func found[T any](v *T, err error) (*T, error) {
	switch {
	case err == nil:
		return v, nil
	case horizonclient.IsNotFoundError(err):
		return nil, ErrNotFound
	}
	return nil, classify(err)
}

// Signers implements Client. horizonclient decodes the whole account (balances, flags, links,
// data), which cost a SEP-10 round more than its HTTP exchange; this decodes two fields.
// Concurrent calls for one account (the users of a shared account, as a custodial wallet's,
// signing in together) share one read, each waiting within its own context. The read runs in
// the goroutine of the call that started it (a goroutine of its own grew a new stack on every
// SEP-10 round) and within its context: when that caller gives up, the calls awaiting the read
// read again. Nothing is kept once the read is answered.
func (c *client) Signers(ctx context.Context, id string) (*Signers, error) {
	for {
		c.readsMu.Lock()
		r, joined := c.reads[id]
		if !joined {
			r = &signersRead{done: make(chan struct{})}
			if c.reads == nil {
				c.reads = make(map[string]*signersRead)
			}
			c.reads[id] = r
		}
		c.readsMu.Unlock()
		if !joined {
			return c.readSigners(ctx, id, r)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
		case <-r.done:
		}
		if !r.again {
			return r.val, r.err
		}
	}
}

// readSigners runs the read r for the calls awaiting it.
func (c *client) readSigners(ctx context.Context, id string, r *signersRead) (*Signers, error) {
	r.again = true // until the read answers (a panic leaves it so)
	defer func() {
		c.readsMu.Lock()
		delete(c.reads, id)
		c.readsMu.Unlock()
		close(r.done)
	}()
	var out Signers
	err := c.read(ctx, func(*horizonclient.Client) error {
		return c.getJSON(ctx, "accounts/"+url.PathEscape(id), &out)
	})
	r.val, r.err = found(&out, err)
	r.again = err != nil && ctx.Err() != nil
	return r.val, r.err
}

// maxBody bounds an answer read by getJSON.
const maxBody = 1 << 20

// getJSON GETs path on Horizon and decodes into v the fields v has. An error answer is
// returned as horizonclient's *Error (its problem, or the status alone when the body is not
// one), so that retries and classify treat it as they treat horizonclient's.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.url, "/")+"/"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-App-Name", "anchor")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read to the end, so that the connection is reused.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		herr := &horizonclient.Error{Response: resp}
		if json.Unmarshal(body, &herr.Problem) != nil || herr.Problem.Status == 0 {
			herr.Problem.Status, herr.Problem.Title = resp.StatusCode, http.StatusText(resp.StatusCode)
		}
		return herr
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("horizon: GET %s: %w", path, err)
	}
	return nil
}

func classify(err error) error {
	if herr := horizonclient.GetError(err); herr != nil {
		return fmt.Errorf("%w: status %d %s", ErrUnavailable, herr.Problem.Status, herr.Problem.Title)
	}
	// Never Go's whole error, which quotes the URL: a provider's token may be in its path or
	// query, and these errors reach logs and GET /ready.
	var ue *url.Error
	if errors.As(err, &ue) {
		if !ue.Timeout() {
			return &UnreachableError{Err: ue.Err}
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, ue.Err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func retryable(err error) bool {
	if herr := horizonclient.GetError(err); herr != nil {
		return herr.Problem.Status >= 500 || herr.Problem.Status == http.StatusTooManyRequests
	}
	var ue *url.Error
	return errors.As(err, &ue) && ue.Timeout()
}

// TxError is a transaction Horizon refused or the ledger failed, with its result codes.
type TxError struct {
	TxCode  string
	OpCodes []string
}

func (e *TxError) Error() string {
	if len(e.OpCodes) > 0 {
		return fmt.Sprintf("horizon: %s %v", e.TxCode, e.OpCodes)
	}
	return "horizon: " + e.TxCode
}

// Applied reports whether the transaction reached the ledger (and consumed its sequence), so
// that it can never be applied again.
func (e *TxError) Applied() bool { return e.TxCode == "tx_failed" }

// TxInfo is what anchor reads of a submitted transaction.
type TxInfo struct {
	Hash       string
	Successful bool
	Ledger     int32
	ClosedAt   time.Time
}

// Submitter submits transactions and finds them again (treasury).
type Submitter interface {
	Client
	// Submit sends a signed envelope: TxInfo on success, *TxError when refused or failed,
	// ErrUnavailable when the outcome is unknown (timeouts, 5xx, 429).
	Submit(ctx context.Context, envelopeB64 string) (*TxInfo, error)
	// Transaction looks a transaction up by hash: ErrNotFound if the ledger does not have it.
	Transaction(ctx context.Context, hash string) (*TxInfo, error)
	// LedgerTime is the close time of the latest ledger.
	LedgerTime(ctx context.Context) (time.Time, error)
	// InclusionFee is the per-operation fee, in stroops, that gets a transaction into the next
	// ledgers: the 70th percentile of recent max fees (/fee_stats), at least the base fee.
	InclusionFee(ctx context.Context) (int64, error)
}

// NewSubmitter returns a Submitter for the Horizon at baseURL.
func NewSubmitter(baseURL string, timeout time.Duration) Submitter {
	return newClient(baseURL, timeout)
}

func (c *client) hc(ctx context.Context) *horizonclient.Client {
	return &horizonclient.Client{HorizonURL: c.url, HTTP: ctxHTTP{ctx, c.http}, AppName: "anchor"}
}

// Submit implements Submitter. It does not retry: the caller decides, knowing what is at stake.
func (c *client) Submit(ctx context.Context, env string) (*TxInfo, error) {
	tx, err := c.hc(ctx).SubmitTransactionXDR(env)
	if err == nil {
		return &TxInfo{Hash: tx.Hash, Successful: tx.Successful, Ledger: tx.Ledger, ClosedAt: tx.LedgerCloseTime}, nil
	}
	if herr := horizonclient.GetError(err); herr != nil && herr.Problem.Status == http.StatusBadRequest {
		if rc, e := herr.ResultCodes(); e == nil && rc.TransactionCode != "" {
			return nil, &TxError{TxCode: rc.TransactionCode, OpCodes: rc.OperationCodes}
		}
	}
	return nil, classify(err)
}

// Transaction implements Submitter.
func (c *client) Transaction(ctx context.Context, hash string) (*TxInfo, error) {
	var tx hProtocol.Transaction
	err := c.read(ctx, func(hc *horizonclient.Client) (err error) {
		tx, err = hc.TransactionDetail(hash)
		return err
	})
	return found(&TxInfo{Hash: tx.Hash, Successful: tx.Successful, Ledger: tx.Ledger, ClosedAt: tx.LedgerCloseTime}, err)
}

// InclusionFee implements Submitter.
func (c *client) InclusionFee(ctx context.Context) (int64, error) {
	var st hProtocol.FeeStats
	err := c.read(ctx, func(hc *horizonclient.Client) (err error) {
		st, err = hc.FeeStats()
		return err
	})
	if err != nil {
		return 0, classify(err)
	}
	return max(st.MaxFee.P70, st.LastLedgerBaseFee, 100), nil
}

// LedgerTime implements Submitter: history_latest_ledger_closed_at of Horizon's root document
// (the SDK's Root type does not carry it).
func (c *client) LedgerTime(ctx context.Context) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.url, "/")+"/", nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return time.Time{}, classify(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("%w: root answered %s", ErrUnavailable, resp.Status)
	}
	var root struct {
		ClosedAt time.Time `json:"history_latest_ledger_closed_at"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&root); err != nil || root.ClosedAt.IsZero() {
		return time.Time{}, fmt.Errorf("%w: root has no history_latest_ledger_closed_at", ErrUnavailable)
	}
	return root.ClosedAt, nil
}

// PaymentRecord is one payment-like operation touching an account.
type PaymentRecord struct {
	PagingToken string
	TxHash      string
	Successful  bool
	Kind        string // payment, path_payment_strict_receive, path_payment_strict_send, create_account
	From, To    string
	// Asset is "native" or CODE:ISSUER; Amount is what To received (for path payments too).
	Asset    string
	Amount   string
	MemoType string
	Memo     string
	At       time.Time
}

// PaymentSource pages through an account's payments (oldest first, after cursor).
type PaymentSource interface {
	Payments(ctx context.Context, account, cursor string, limit int) ([]PaymentRecord, error)
}

// NewPaymentSource returns a PaymentSource for the Horizon at baseURL.
func NewPaymentSource(baseURL string, timeout time.Duration) PaymentSource {
	return newClient(baseURL, timeout)
}

// Payments implements PaymentSource.
func (c *client) Payments(ctx context.Context, account, cursor string, limit int) ([]PaymentRecord, error) {
	var page operations.OperationsPage
	err := c.read(ctx, func(hc *horizonclient.Client) (err error) {
		page, err = hc.Payments(horizonclient.OperationRequest{ForAccount: account, Cursor: cursor, Order: horizonclient.OrderAsc,
			Limit: uint(limit), Join: "transactions"})
		return err
	})
	if err != nil {
		if horizonclient.IsNotFoundError(err) {
			return nil, ErrNotFound
		}
		return nil, classify(err)
	}
	var out []PaymentRecord
	for _, rec := range page.Embedded.Records {
		var p operations.Payment
		var b operations.Base
		r := PaymentRecord{}
		switch op := rec.(type) {
		case operations.Payment:
			p, b, r.Kind = op, op.Base, "payment"
		case operations.PathPayment:
			p, b, r.Kind = op.Payment, op.Payment.Base, "path_payment_strict_receive"
		case operations.PathPaymentStrictSend:
			p, b, r.Kind = op.Payment, op.Payment.Base, "path_payment_strict_send"
		case operations.CreateAccount:
			b, r.Kind = op.Base, "create_account"
			p = operations.Payment{From: op.Funder, To: op.Account, Amount: op.StartingBalance}
			p.Asset.Type = "native"
		default:
			r.PagingToken = rec.PagingToken()
			r.Kind = "other"
			out = append(out, r)
			continue
		}
		r.PagingToken, r.TxHash, r.Successful, r.At = b.PT, b.TransactionHash, b.TransactionSuccessful, b.LedgerCloseTime
		r.From, r.To, r.Amount = p.From, p.To, p.Amount
		r.Asset = "native"
		if p.Asset.Type != "native" {
			r.Asset = p.Asset.Code + ":" + p.Asset.Issuer
		}
		if b.Transaction != nil {
			r.MemoType, r.Memo = b.Transaction.MemoType, b.Transaction.Memo
		}
		out = append(out, r)
	}
	return out, nil
}

// AssetSupply returns the amount of an asset outside its issuer, in stroops: trustline
// balances, claimable balances, liquidity pools and contracts (Horizon's asset statistics).
func (c *client) AssetSupply(ctx context.Context, code, issuer string) (int64, error) {
	var page hProtocol.AssetsPage
	err := c.read(ctx, func(hc *horizonclient.Client) (err error) {
		page, err = hc.Assets(horizonclient.AssetRequest{ForAssetCode: code, ForAssetIssuer: issuer})
		return err
	})
	if err != nil {
		return 0, classify(err)
	}
	var total int64
	for _, st := range page.Embedded.Records {
		if st.Code != code || st.Issuer != issuer {
			continue
		}
		for _, v := range []string{st.Balances.Authorized, st.Balances.AuthorizedToMaintainLiabilities, st.Balances.Unauthorized,
			st.ClaimableBalancesAmount, st.LiquidityPoolsAmount, st.ContractsAmount} {
			if v == "" {
				continue
			}
			n, err := amount.ParseInt64(v)
			if err != nil {
				return 0, fmt.Errorf("asset statistics: %q: %w", v, err)
			}
			total += n
		}
	}
	return total, nil
}

// Ledger is everything treasury and reconcile read and write on the network.
type Ledger interface {
	Submitter
	PaymentSource
	AssetSupply(ctx context.Context, code, issuer string) (int64, error)
}

// NewLedger returns a Ledger for the Horizon at baseURL.
func NewLedger(baseURL string, timeout time.Duration) Ledger {
	return newClient(baseURL, timeout)
}
