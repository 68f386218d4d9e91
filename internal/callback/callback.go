// Package callback delivers signed status callbacks (SEP-12 customer callbacks, SEP-6
// on_change_callback) from a durable queue: each POST carries the resource as JSON, signed with
// the SIGNING_KEY (pkg/callbacksig), and failures are retried with exponential backoff. It runs
// beside the server, never on a request's path; the queue lives in the store, so callbacks
// survive restarts and what the CLI queued while no server ran is sent at the next start.
package callback

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/pkg/callbacksig"
)

// Item is a queued callback: the resource kind ("kyc", "tx") and id, and its retry state.
type Item struct {
	Kind    string    `json:"kind"`
	ID      string    `json:"id"`
	Attempt int       `json:"attempt"`
	Due     time.Time `json:"due"`
}

// Queue is the durable queue (the store implements it).
type Queue interface {
	// DueCallbacks returns up to limit items due at now.
	DueCallbacks(ctx context.Context, now time.Time, limit int) ([]Item, error)
	// FinishCallback replaces prev by next (nil: removes it), only if prev is still queued as
	// it was: an item queued again meanwhile is kept.
	FinishCallback(ctx context.Context, prev Item, next *Item) error
	// ClaimCallback takes an item for this process until until, before its delivery starts:
	// false when it is no longer queued as it was or another process (a replica on the same
	// database) holds a claim on it. DueCallbacks leaves claimed items out until their claim
	// lapses, so a replica that dies mid-delivery leaves its items to the others.
	ClaimCallback(ctx context.Context, it Item, now, until time.Time) (bool, error)
}

// ErrGone means the resource or its callback URL no longer exists: the item is dropped.
var ErrGone = errors.New("callback target gone")

// Renderer returns the URL and JSON body to send for a resource id.
type Renderer func(ctx context.Context, id string) (url string, body []byte, err error)

// Dispatcher delivers queued callbacks, oldest due first whatever their kind, several at once:
// at most Workers deliveries in flight, and at most PerHost to one host, so that a host that
// hangs or fails holds a few slots and never the queue. A host that fails is backed off (its
// callbacks wait, without using an attempt) while the others go on.
type Dispatcher struct {
	Queue       Queue
	Renderers   map[string]Renderer
	Signer      *keypair.Full
	Client      *http.Client
	Logger      *slog.Logger
	MaxAttempts int
	// BaseDelay is the first retry delay; each retry doubles it, up to an hour.
	BaseDelay time.Duration
	Now       func() time.Time
	// Workers and PerHost bound the deliveries in flight, in all and per host.
	Workers, PerHost int
	// Observe, when set, is told each delivery's result: delivered, retry or abandoned.
	Observe func(kind, result string)
	// ClaimFor is how long a delivery holds its item against other replicas (default 2m):
	// longer than a delivery can take.
	ClaimFor time.Duration
	wake     chan struct{}

	mu       sync.Mutex
	hosts    map[string]*hostState
	inflight map[string]bool
}

type hostState struct {
	active   int
	failures int
	until    time.Time // backed off until then
}

// NewDispatcher returns a dispatcher with 10 attempts starting at 1 s, 16 workers, 2 per host.
func NewDispatcher(q Queue, signer *keypair.Full, client *http.Client, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{Queue: q, Renderers: map[string]Renderer{}, Signer: signer, Client: client, Logger: logger,
		MaxAttempts: 10, BaseDelay: time.Second, Now: time.Now, Workers: 16, PerHost: 2, wake: make(chan struct{}, 1)}
}

// Wake makes Run look at the queue now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers callbacks until ctx is cancelled, and returns once the deliveries it started
// have ended.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	d.hosts, d.inflight = map[string]*hostState{}, map[string]bool{}
	d.mu.Unlock()
	workers, perHost := max(d.Workers, 1), max(d.PerHost, 1)
	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	poll := min(time.Second, max(d.BaseDelay, 10*time.Millisecond))
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		d.drain(ctx, slots, perHost, &wg)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// drain starts the deliveries of due callbacks that free slots and hosts allow.
func (d *Dispatcher) drain(ctx context.Context, slots chan struct{}, perHost int, wg *sync.WaitGroup) {
	now := d.Now()
	due, err := d.Queue.DueCallbacks(ctx, now, 1024)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("read callback queue", "err", err)
		}
		return
	}
	for _, it := range due {
		if ctx.Err() != nil {
			return
		}
		key := it.Kind + "/" + it.ID
		d.mu.Lock()
		busy := d.inflight[key]
		d.mu.Unlock()
		if busy {
			continue
		}
		render, ok := d.Renderers[it.Kind]
		if !ok {
			d.finish(ctx, it, nil)
			continue
		}
		target, body, err := render(ctx, it.ID)
		if errors.Is(err, ErrGone) {
			d.finish(ctx, it, nil)
			continue
		}
		host := ""
		if u, perr := url.Parse(target); perr == nil {
			host = u.Host
		}
		d.mu.Lock()
		hs := d.hosts[host]
		if hs == nil {
			hs = &hostState{}
			d.hosts[host] = hs
		}
		if hs.until.After(now) {
			// The host is backed off: the callback waits for it without using an attempt.
			d.mu.Unlock()
			next := it
			next.Due = hs.until
			d.finish(ctx, it, &next)
			continue
		}
		if hs.active >= perHost {
			d.mu.Unlock()
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			d.mu.Unlock()
			return // every worker is busy
		}
		hs.active++
		d.inflight[key] = true
		d.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			claimed, cerr := d.Queue.ClaimCallback(ctx, it, now, d.Now().Add(cmp.Or(d.ClaimFor, 2*time.Minute)))
			if cerr != nil && ctx.Err() == nil {
				d.Logger.Warn("claim callback", "kind", it.Kind, "id", it.ID, "err", cerr)
			}
			if !claimed {
				d.mu.Lock()
				hs.active--
				delete(d.inflight, key)
				d.mu.Unlock()
				<-slots
				return // another replica delivers it, or it changed: the next drain sees
			}
			if err == nil {
				err = d.post(ctx, target, body)
			}
			d.settle(ctx, it, err)
			d.mu.Lock()
			hs.active--
			delete(d.inflight, key)
			if err == nil {
				hs.failures, hs.until = 0, time.Time{}
			} else if ctx.Err() == nil {
				hs.failures++
				hs.until = d.Now().Add(min(d.BaseDelay<<min(hs.failures-1, 12), 5*time.Minute))
			}
			d.mu.Unlock()
			<-slots
			d.Wake()
		}()
	}
}

// settle records the outcome of one delivery: done, retried later with backoff, or abandoned.
func (d *Dispatcher) settle(ctx context.Context, it Item, err error) {
	if ctx.Err() != nil {
		return // shutting down: the item stays queued as it was
	}
	observe := func(result string) {
		if d.Observe != nil {
			d.Observe(it.Kind, result)
		}
	}
	if err == nil {
		observe("delivered")
		d.Logger.Info("callback delivered", "kind", it.Kind, "id", it.ID, "attempt", it.Attempt+1)
		d.finish(ctx, it, nil)
		return
	}
	next := it
	next.Attempt++
	if next.Attempt >= d.MaxAttempts {
		observe("abandoned")
		d.Logger.Warn("callback abandoned", "kind", it.Kind, "id", it.ID, "attempts", next.Attempt, "err", err)
		d.finish(ctx, it, nil)
		return
	}
	delay := d.BaseDelay << (next.Attempt - 1)
	if delay > time.Hour || delay <= 0 {
		delay = time.Hour
	}
	next.Due = d.Now().Add(delay)
	observe("retry")
	d.Logger.Info("callback failed; will retry", "kind", it.Kind, "id", it.ID, "attempt", next.Attempt, "retry_in", delay.String(), "err", err)
	d.finish(ctx, it, &next)
}

func (d *Dispatcher) finish(ctx context.Context, prev Item, next *Item) {
	if err := d.Queue.FinishCallback(ctx, prev, next); err != nil && ctx.Err() == nil {
		d.Logger.Warn("update callback queue", "err", err)
	}
}

func (d *Dispatcher) post(ctx context.Context, target string, body []byte) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	sig, err := callbacksig.Sign(d.Signer, u.Host, body, time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Signature", sig)
	req.Header.Set("X-Stellar-Signature", sig)
	resp, err := d.Client.Do(req)
	if err != nil {
		// Its address only: a callback URL's path and query may hold the wallet's token.
		return fmt.Errorf("POST %s: %w", u.Host, fault.WithoutURL(err))
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("callback answered " + resp.Status)
	}
	return nil
}
