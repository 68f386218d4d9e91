package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/pkg/webhooksig"
)

// NewRecorder is the Recorder of a configuration: its webhooks and KYC types. A type pattern
// that names no event type is an error naming its key.
func NewRecorder(cfg *config.Config) (*Recorder, error) {
	r := &Recorder{KYCTypes: cfg.KYC.Types}
	for i, w := range cfg.Events.Webhooks {
		for j, p := range w.Types {
			if !ValidPattern(p) {
				return nil, &config.Error{Key: fmt.Sprintf("events.webhooks[%d].types[%d]", i, j), Msg: fmt.Sprintf("%q names no event type (docs/integration.md lists them)", p)}
			}
		}
		r.Endpoints = append(r.Endpoints, Endpoint{Name: w.Name, Types: w.Types})
	}
	return r, nil
}

// NewClient is the webhooks' HTTP client: a 10 s timeout per delivery, and connections kept for
// the deliveries in flight (the default keeps two per host, and a busy webhook would be dialled
// for nearly every event).
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// Target is where a webhook's deliveries go.
type Target struct {
	URL    string
	Secret []byte
	// Batch > 1 posts up to Batch events at once, as a JSON array (Anchor-Event-Count says how
	// many); 0 or 1 posts each event as it is.
	Batch int
	// Types are the event types the webhook takes (globs; none: every type).
	Types []string
}

// Dispatcher delivers events to the webhooks, never on a request's path. Each webhook's feed
// reads the event log after its cursor, posts the new events (several POSTs at once) and moves
// the cursor past them, so that an event costs the request that made it nothing more than its
// place in the log. An event whose POST failed becomes a delivery record, retried with
// exponential backoff (BaseDelay doubling, at most an hour) until RetryFor after the event,
// then kept as a dead letter; its subject's later events queue behind it as records until it is
// delivered or dead.
type Dispatcher struct {
	Store     Store
	Targets   map[string]Target
	Client    *http.Client
	Logger    *slog.Logger
	RetryFor  time.Duration
	BaseDelay time.Duration
	// Workers bounds the deliveries in flight.
	Workers int
	// ClaimFor is how long a delivery holds its event against other replicas.
	ClaimFor time.Duration
	Now      func() time.Time
	// Observe, when set, is told each delivery's result: delivered, retry or failed.
	Observe func(endpoint, result string)
	// Exclusive, when set, runs the feeds: on PostgreSQL on one replica at a time (every
	// replica retries the records).
	Exclusive func(ctx context.Context, run func(ctx context.Context))
	wake      chan struct{}
	feedWake  chan struct{}
	once      sync.Once
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake, d.feedWake = make(chan struct{}, 1), make(chan struct{}, 1)
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.BaseDelay <= 0 {
			d.BaseDelay = time.Second
		}
		if d.Workers <= 0 {
			d.Workers = 64
		}
		if d.ClaimFor <= 0 {
			d.ClaimFor = 2 * time.Minute
		}
		if d.RetryFor <= 0 {
			d.RetryFor = 72 * time.Hour
		}
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake makes Run look at the feeds and the records now.
func (d *Dispatcher) Wake() {
	d.init()
	for _, c := range []chan struct{}{d.wake, d.feedWake} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Run delivers until ctx ends, and returns once the deliveries it started have ended.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	var wg sync.WaitGroup
	wg.Go(func() {
		feeds := func(ctx context.Context) { d.loop(ctx, d.feedWake, d.feedPass) }
		if d.Exclusive != nil {
			d.Exclusive(ctx, feeds)
		} else {
			feeds(ctx)
		}
	})
	d.loop(ctx, d.wake, func(ctx context.Context) bool { return d.pass(ctx) > 0 })
	wg.Wait()
}

// loop runs pass until ctx ends: again at once while it says more may be there, else when
// woken or polling.
func (d *Dispatcher) loop(ctx context.Context, wake chan struct{}, pass func(ctx context.Context) bool) {
	poll := min(time.Second, max(d.BaseDelay/2, 20*time.Millisecond))
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if pass(ctx) {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// feedPass moves each webhook's feed once, and says whether any may have more to read.
func (d *Dispatcher) feedPass(ctx context.Context) bool {
	more := false
	for _, name := range slices.Sorted(maps.Keys(d.Targets)) {
		if ctx.Err() != nil {
			return false
		}
		if d.feed(ctx, name) {
			more = true
		}
	}
	return more
}

// feed reads a webhook's next events, posts them (up to Workers POSTs at once), and moves its
// cursor past them, writing a record for each whose POST failed (and each whose subject has a
// record waiting). A subject's second event ends the page (the next read starts at it), so that
// the POSTs of one page never hold two events of a subject and its order holds; the events of a
// subject with a record waiting are all queued behind it, in order, and end nothing (a webhook
// catching up after an outage moves a page at a time, not an event). It says whether the feed
// may have more to read.
func (d *Dispatcher) feed(ctx context.Context, name string) bool {
	limit := 16 * d.Workers
	page, err := d.Store.ReadFeed(ctx, name, limit)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("read the events of a webhook", "endpoint", name, "err", err)
		}
		return false
	}
	if len(page.Events) == 0 {
		return false
	}
	target := d.Targets[name]
	more := len(page.Events) == limit
	to := page.Cursor
	var fresh, queued []Delivery
	var bodies [][]byte
	seen := map[string]bool{}
	for _, e := range page.Events {
		if !Takes(target.Types, e.Type) {
			to = e.Cursor
			continue
		}
		if seen[e.Subject] && !page.Held[e.Subject] {
			more = true
			break
		}
		seen[e.Subject], to = true, e.Cursor
		dl := Delivery{Endpoint: name, Subject: e.Subject, Seq: e.Seq, EventID: e.ID, Type: e.Type, Created: e.At, Due: e.At}
		if page.Held[e.Subject] {
			queued = append(queued, dl)
			continue
		}
		fresh, bodies = append(fresh, dl), append(bodies, e.JSON)
	}
	size := max(target.Batch, 1)
	errs := make([]error, (len(fresh)+size-1)/size)
	var posts errgroup.Group
	posts.SetLimit(d.Workers)
	for i := range errs {
		lo, hi := i*size, min((i+1)*size, len(fresh))
		posts.Go(func() error {
			errs[i] = d.post(ctx, target, fresh[lo:hi], bodies[lo:hi])
			return nil
		})
	}
	posts.Wait()
	if ctx.Err() != nil {
		return false // shutting down: the cursor stays, and the next run sends them again
	}
	for i, dl := range fresh {
		if err := errs[i/size]; err != nil {
			queued = append(queued, d.retried(dl, err))
		} else {
			d.observe(name, "delivered")
		}
	}
	ok, err := d.Store.AdvanceFeed(ctx, name, page.Cursor, to, queued)
	if err != nil || !ok {
		if err == nil {
			err = errors.New("another replica moved it")
		}
		if ctx.Err() == nil {
			d.Logger.Warn("move the feed of a webhook (its events are sent again)", "endpoint", name, "err", err)
		}
		return false
	}
	return more
}

func (d *Dispatcher) observe(endpoint, result string) {
	if d.Observe != nil {
		d.Observe(endpoint, result)
	}
}

// pass delivers the deliveries due now, and says how many it delivered.
func (d *Dispatcher) pass(ctx context.Context) int {
	due, err := d.Store.DueDeliveries(ctx, d.Now(), 16*d.Workers)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("read the event deliveries", "err", err)
		}
		return 0
	}
	var posts errgroup.Group
	posts.SetLimit(d.Workers)
	var delivered atomic.Int64
	for _, group := range d.groups(due) {
		if ctx.Err() != nil {
			break
		}
		posts.Go(func() error {
			delivered.Add(int64(d.deliver(ctx, group)))
			return nil
		})
	}
	posts.Wait()
	return int(delivered.Load())
}

// groups splits the due deliveries into POSTs: one each, or up to its Batch for a webhook that
// takes arrays. DueDeliveries gives at most one delivery per subject (its next), so a batch
// never holds two events of one subject and their order holds.
func (d *Dispatcher) groups(due []Delivery) [][]Delivery {
	var out [][]Delivery
	open := map[string]int{} // endpoint → index of its batch being filled
	for _, dl := range due {
		size := d.Targets[dl.Endpoint].Batch
		if size <= 1 {
			out = append(out, []Delivery{dl})
			continue
		}
		i, ok := open[dl.Endpoint]
		if !ok || len(out[i]) >= size {
			out = append(out, nil)
			i = len(out) - 1
			open[dl.Endpoint] = i
		}
		out[i] = append(out[i], dl)
	}
	return out
}

// deliver claims a POST's deliveries, sends their events, and records the outcome of each:
// removed when the webhook took them, else retried with backoff or kept as dead letters. It
// returns how many were delivered.
func (d *Dispatcher) deliver(ctx context.Context, group []Delivery) int {
	now := d.Now()
	var claimed []Delivery
	var bodies [][]byte
	for _, dl := range group {
		ok, cerr := d.Store.ClaimDelivery(ctx, dl, now, now.Add(d.ClaimFor))
		if cerr != nil || !ok {
			if cerr != nil && ctx.Err() == nil {
				d.Logger.Warn("claim an event delivery", "endpoint", dl.Endpoint, "event", dl.EventID, "err", cerr)
			}
			continue
		}
		body, berr := d.Store.EventJSON(ctx, dl.EventID)
		if berr != nil {
			if ctx.Err() == nil {
				d.finish(ctx, dl, berr) // this one alone: the others go on
			}
			continue
		}
		claimed, bodies = append(claimed, dl), append(bodies, body)
	}
	if len(claimed) == 0 {
		return 0
	}
	endpoint := claimed[0].Endpoint
	target, ok := d.Targets[endpoint]
	err := errors.New("the webhook " + endpoint + " is no longer configured")
	if ok {
		err = d.post(ctx, target, claimed, bodies)
	}
	if ctx.Err() != nil {
		return 0 // shutting down: the claims lapse and another pass delivers them
	}
	var wg sync.WaitGroup
	for _, dl := range claimed {
		wg.Add(1)
		go func() { // concurrent finishes share the store's commits
			defer wg.Done()
			d.finish(ctx, dl, err)
		}()
	}
	wg.Wait()
	if err != nil {
		return 0
	}
	return len(claimed)
}

// finish records one delivery's outcome: removed (err nil), or retried with backoff until the
// retry period ends, then a dead letter.
func (d *Dispatcher) finish(ctx context.Context, dl Delivery, err error) {
	var next *Delivery
	if err != nil {
		r := d.retried(dl, err)
		next = &r
	}
	if ferr := d.Store.FinishDelivery(ctx, dl, next); ferr != nil {
		d.Logger.Warn("record an event delivery", "endpoint", dl.Endpoint, "event", dl.EventID, "err", ferr)
	}
	if err == nil {
		d.observe(dl.Endpoint, "delivered")
	}
}

// retried is dl after a failed try: due again after a backoff, or a dead letter once the retry
// period since the event has passed (or the event is gone).
func (d *Dispatcher) retried(dl Delivery, err error) Delivery {
	next := dl
	next.Attempt++
	next.Claim = time.Time{}
	next.LastError = err.Error()
	at := d.Now()
	if at.Sub(dl.Created) >= d.RetryFor || errors.Is(err, ErrNotFound) {
		next.Failed = true
		d.observe(dl.Endpoint, "failed")
		d.Logger.Warn("event delivery failed for good: a dead letter (anchor events list --failed)", "endpoint", dl.Endpoint, "event", dl.EventID, "attempts", next.Attempt, "err", err)
	} else {
		delay := d.BaseDelay << min(next.Attempt-1, 20)
		if delay > time.Hour || delay <= 0 {
			delay = time.Hour
		}
		next.Due = at.Add(delay)
		d.observe(dl.Endpoint, "retry")
		d.Logger.Info("event delivery failed; will retry", "endpoint", dl.Endpoint, "event", dl.EventID, "attempt", next.Attempt, "retry_in", delay.String(), "err", err)
	}
	return next
}

// post sends one event as it is, or (a webhook with Batch > 1) an array of events.
func (d *Dispatcher) post(ctx context.Context, t Target, dls []Delivery, bodies [][]byte) error {
	body := bodies[0]
	if t.Batch > 1 {
		n := len(bodies) + 1
		for _, b := range bodies {
			n += len(b)
		}
		body = make([]byte, 0, n) // one copy of the events, and one allocation
		for i, b := range bodies {
			body = append(append(body, "[,"[min(i, 1)]), b...)
		}
		body = append(body, ']')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "anchor-events/1")
	if t.Batch > 1 {
		req.Header.Set("Anchor-Event-Count", strconv.Itoa(len(dls)))
	} else {
		dl := dls[0]
		req.Header.Set("Anchor-Event-Id", strconv.FormatUint(dl.EventID, 10))
		req.Header.Set("Anchor-Event-Type", dl.Type)
		req.Header.Set("Anchor-Event-Subject", dl.Subject)
	}
	req.Header.Set(webhooksig.Header, webhooksig.Sign(t.Secret, body, d.Now()))
	resp, err := d.Client.Do(req)
	if err != nil {
		// The receiver by its address: its URL may hold its token.
		return fmt.Errorf("POST %s: %w", req.URL.Host, fault.WithoutURL(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}
