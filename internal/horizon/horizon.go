// Package horizon is anchor's narrow view of Horizon. Production code talks to a real Horizon
// through the SDK's horizonclient; tests use the loopback stand-in in package standin.
package horizon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	hProtocol "github.com/stellar/go-stellar-sdk/protocols/horizon"
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
}

// New returns a Client for the Horizon at baseURL. Each request is bounded by timeout and
// retried (with backoff, within the context) on 5xx, 429 and timeouts.
func New(baseURL string, timeout time.Duration) Client {
	return &client{url: baseURL, http: &http.Client{Timeout: timeout}, retries: 2, backoff: 100 * time.Millisecond}
}

type client struct {
	url     string
	http    *http.Client
	retries int
	backoff time.Duration
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
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			wait := c.backoff << (attempt - 1)
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
			case <-time.After(wait):
			}
		}
		hc := &horizonclient.Client{HorizonURL: c.url, HTTP: ctxHTTP{ctx, c.http}, AppName: "anchor"}
		acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: id})
		if err == nil {
			return &acct, nil
		}
		if horizonclient.IsNotFoundError(err) {
			return nil, ErrNotFound
		}
		lastErr = classify(err)
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func classify(err error) error {
	if herr := horizonclient.GetError(err); herr != nil {
		return fmt.Errorf("%w: status %d %s", ErrUnavailable, herr.Problem.Status, herr.Problem.Title)
	}
	var ue *url.Error
	if errors.As(err, &ue) && !ue.Timeout() {
		return &UnreachableError{Err: ue.Err}
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
