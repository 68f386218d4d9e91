package kyc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/pkg/callbacksig"
)

// Dispatcher delivers queued status callbacks: it POSTs the customer's GET /customer response to
// the registered URL, signed with the SIGNING_KEY, and retries failures with exponential backoff
// (1 s, 2 s, 4 s ... capped at an hour, MaxAttempts in all). It runs beside the server, never on
// a request's path; the queue is in the store, so callbacks survive restarts and decisions made
// by the CLI while no server ran are delivered at the next start.
type Dispatcher struct {
	Service     *Service
	Signer      *keypair.Full
	Client      *http.Client
	Logger      *slog.Logger
	MaxAttempts int
	// BaseDelay is the first retry delay (default 1 s).
	BaseDelay time.Duration
	wake      chan struct{}
}

// NewDispatcher returns a dispatcher; call Run in a goroutine and Wake after queueing.
func NewDispatcher(s *Service, signer *keypair.Full, client *http.Client, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{Service: s, Signer: signer, Client: client, Logger: logger, MaxAttempts: 10,
		BaseDelay: time.Second, wake: make(chan struct{}, 1)}
}

// Wake makes Run look at the queue now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers callbacks until ctx is cancelled.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		d.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

func (d *Dispatcher) drain(ctx context.Context) {
	due, err := d.Service.Store.DueCallbacks(ctx, d.Service.now(), 64)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("read callback queue", "err", err)
		}
		return
	}
	for _, cb := range due {
		if ctx.Err() != nil {
			return
		}
		d.deliver(ctx, cb)
	}
}

func (d *Dispatcher) deliver(ctx context.Context, cb Callback) {
	var c *Customer
	err := d.Service.Store.KYCView(ctx, func(tx Tx) error {
		var err error
		c, err = tx.Customer(cb.CustomerID)
		return err
	})
	if errors.Is(err, ErrNotFound) || (err == nil && c.CallbackURL == "") {
		d.finish(ctx, cb, nil)
		return
	}
	if err != nil {
		return
	}
	err = d.post(ctx, c)
	if err == nil {
		d.Logger.Info("customer callback delivered", "customer_id", c.ID, "attempt", cb.Attempt+1)
		d.finish(ctx, cb, nil)
		return
	}
	next := cb
	next.Attempt++
	if next.Attempt >= d.MaxAttempts {
		d.Logger.Warn("customer callback abandoned", "customer_id", c.ID, "attempts", next.Attempt, "err", err)
		d.finish(ctx, cb, nil)
		return
	}
	delay := d.BaseDelay << (next.Attempt - 1)
	if delay > time.Hour || delay <= 0 {
		delay = time.Hour
	}
	next.Due = d.Service.now().Add(delay)
	d.Logger.Info("customer callback failed; will retry", "customer_id", c.ID, "attempt", next.Attempt, "retry_in", delay.String(), "err", err)
	d.finish(ctx, cb, &next)
}

func (d *Dispatcher) finish(ctx context.Context, prev Callback, next *Callback) {
	if err := d.Service.Store.FinishCallback(ctx, prev, next); err != nil && ctx.Err() == nil {
		d.Logger.Warn("update callback queue", "err", err)
	}
}

func (d *Dispatcher) post(ctx context.Context, c *Customer) error {
	body, err := json.Marshal(Describe(c, d.Service.Config.Types[c.Type]))
	if err != nil {
		return err
	}
	u, err := url.Parse(c.CallbackURL)
	if err != nil {
		return err
	}
	sig, err := callbacksig.Sign(d.Signer, u.Host, body, time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Signature", sig)
	req.Header.Set("X-Stellar-Signature", sig)
	resp, err := d.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("callback answered " + resp.Status)
	}
	return nil
}
