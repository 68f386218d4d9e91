package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/pkg/webhooksig"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type fixture struct {
	st  store.Backend
	ks  *kyc.Service
	ts  *transfer.Service
	who kyc.Principal
	n   int
}

func newFixture(t *testing.T, endpoints ...events.Endpoint) *fixture {
	st := storetest.Open(t)
	cfg := &config.Config{
		KYC:  config.KYC{MaxFileSize: 1 << 20, CustomerQuota: 1 << 22, DefaultType: "sep6-deposit", Types: config.DefaultCustomerTypes()},
		SEP6: config.SEP6{TransferExpiry: time.Hour, DepositKYCType: "sep6-deposit", WithdrawKYCType: "sep6-withdraw"},
		Assets: []config.Asset{{Code: "USDX", Issuer: keypair.MustRandom().Address(), DistributionAccount: keypair.MustRandom().Address(),
			Deposit: config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}, Withdraw: config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}}},
	}
	if err := st.SetEvents(&events.Recorder{Endpoints: endpoints, KYCTypes: cfg.KYC.Types}); err != nil {
		t.Fatal(err)
	}
	ks := &kyc.Service{Store: st, Config: cfg.KYC}
	return &fixture{st: st, ks: ks, ts: &transfer.Service{Store: st, Config: cfg, KYC: ks}, who: kyc.Principal{Account: keypair.MustRandom().Address()}}
}

// deposit makes a customer, has compliance accept them, and a deposit whose fiat arrives.
func (f *fixture) deposit(t *testing.T) string {
	f.n++
	ctx := context.Background()
	if f.n > 1 {
		return f.newDeposit(t)
	}
	id, err := f.ks.Put(ctx, f.who, &kyc.PutRequest{Values: map[string]string{"first_name": "A", "last_name": "B", "email_address": "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ks.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "compliance"}); err != nil {
		t.Fatal(err)
	}
	return f.newDeposit(t)
}

func (f *fixture) newDeposit(t *testing.T) string {
	ctx := context.Background()
	tx, err := f.ts.Create(ctx, transfer.Principal(f.who), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "10", ExternalID: fmt.Sprint("W", f.n)}); err != nil {
		t.Fatal(err)
	}
	return tx.ID
}

// TestEventsOfChanges: the services' changes are events in the log, in order, numbered per
// subject: the customer submitted and accepted, the transaction created and each status
// change with the previous and new status; deliveries are queued for the webhooks whose types
// match.
func TestEventsOfChanges(t *testing.T) {
	f := newFixture(t, events.Endpoint{Name: "all"}, events.Endpoint{Name: "tx", Types: []string{"transaction.*"}})
	id := f.deposit(t)
	evs, err := f.st.EventsAfter(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	seqs := map[string]int{}
	for i, e := range evs {
		got = append(got, e.Type+" "+e.PreviousStatus+">"+e.Status)
		if e.Seq != seqs[e.Subject]+1 || (i > 0 && e.ID <= evs[i-1].ID) {
			t.Errorf("event %d: id %d seq %d after %d", i, e.ID, e.Seq, seqs[e.Subject])
		}
		seqs[e.Subject] = e.Seq
		if e.Subject == "transaction:"+id {
			var v map[string]any
			if json.Unmarshal(e.Data, &v) != nil || v["id"] != id {
				t.Errorf("data %s", e.Data)
			}
		}
	}
	want := []string{
		"customer.submitted >PROCESSING", "customer.status_changed >PROCESSING", "customer.status_changed PROCESSING>ACCEPTED",
		"transaction.created >pending_user_transfer_start", "transaction.status_changed pending_user_transfer_start>pending_anchor",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	// The request's transaction wrote the events only: the webhooks' feeds read them from the log.
	if due, err := f.st.DueDeliveries(context.Background(), time.Now().Add(time.Minute), 100); err != nil || len(due) != 0 {
		t.Fatalf("delivery records written with the events: %+v %v", due, err)
	}
	for _, ep := range []string{"all", "tx"} {
		page, err := f.st.ReadFeed(context.Background(), ep, 100)
		if err != nil || len(page.Events) != len(want) {
			t.Fatalf("%s's feed read %d events (%v), want %d", ep, len(page.Events), err, len(want))
		}
		for i, e := range page.Events {
			var got events.Event
			if err := json.Unmarshal(e.JSON, &got); err != nil || got.ID != evs[i].ID || got.Seq != evs[i].Seq || e.ID != got.ID ||
				e.Type != got.Type || e.Subject != got.Subject || e.Seq != got.Seq || !e.At.Equal(got.At) {
				t.Fatalf("feed event %d: %+v, JSON %s (%v)", i, e, e.JSON, err)
			}
		}
	}
}

// TestFeeds: the store's side of the webhooks' feeds (both backends): a webhook takes the events
// from when a store with it configured is opened; its cursor moves only from where it was read;
// the records queued with a move hold their subjects; events are pruned only once every feed
// moved lately has passed them.
func TestFeeds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, events.Endpoint{Name: "bank"})
	past := func() time.Time { return time.Now().Add(-2 * time.Hour) } // events old enough to prune
	if err := f.st.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}, KYCTypes: config.DefaultCustomerTypes(), Now: past}); err != nil {
		t.Fatal(err)
	}
	f.deposit(t)
	before, err := f.st.EventsAfter(ctx, 0, 100)
	if err != nil || len(before) == 0 {
		t.Fatal(len(before), err)
	}
	// A webhook configured now starts after them.
	if err := f.st.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}, {Name: "late"}}, KYCTypes: config.DefaultCustomerTypes(), Now: past}); err != nil {
		t.Fatal(err)
	}
	if page, err := f.st.ReadFeed(ctx, "late", 100); err != nil || len(page.Events) != 0 {
		t.Fatalf("late's feed read %d events before it was configured (%v)", len(page.Events), err)
	}
	if page, err := f.st.ReadFeed(ctx, "unknown", 100); err != nil || len(page.Events) != 0 {
		t.Fatalf("a webhook never configured read %d events (%v)", len(page.Events), err)
	}
	f.deposit(t)
	bank, err := f.st.ReadFeed(ctx, "bank", 100)
	if err != nil {
		t.Fatal(err)
	}
	late, err := f.st.ReadFeed(ctx, "late", 100)
	if err != nil || len(late.Events) == 0 || len(bank.Events) != len(before)+len(late.Events) {
		t.Fatalf("bank read %d, late %d (%v); %d before", len(bank.Events), len(late.Events), err, len(before))
	}
	// bank moves past the first event, queueing it as a record (a failed POST).
	first := bank.Events[0]
	rec := events.Delivery{Endpoint: "bank", Subject: first.Subject, Seq: first.Seq, EventID: first.ID, Type: first.Type,
		Created: first.At, Attempt: 1, Due: time.Now().Add(time.Hour)}
	if ok, err := f.st.AdvanceFeed(ctx, "bank", bank.Cursor, first.Cursor, []events.Delivery{rec}); err != nil || !ok {
		t.Fatalf("advance: %v %v", ok, err)
	}
	// A second move from the same place is refused, and writes nothing.
	other := rec
	other.EventID, other.Seq = bank.Events[1].ID, bank.Events[1].Seq
	if ok, err := f.st.AdvanceFeed(ctx, "bank", bank.Cursor, bank.Events[1].Cursor, []events.Delivery{other}); err != nil || ok {
		t.Fatalf("a stale move: %v %v", ok, err)
	}
	next, err := f.st.ReadFeed(ctx, "bank", 100)
	if err != nil || len(next.Events) != len(bank.Events)-1 || next.Events[0].ID != bank.Events[1].ID {
		t.Fatalf("after the move: %d events (%v)", len(next.Events), err)
	}
	if !next.Held[first.Subject] || len(next.Held) != 1 {
		t.Fatalf("held %v, want %s only", next.Held, first.Subject)
	}
	// Its backlog: the events after the cursor, from the second on; one record retrying.
	st, err := f.st.FeedStats(ctx, "bank")
	if err != nil || st.Behind != len(bank.Events)-1 || !st.Oldest.Equal(bank.Events[1].At) || st.Retrying != 1 || st.Dead != 0 {
		t.Fatalf("bank's backlog %+v (%v), want %d behind since %s, 1 retrying", st, err, len(bank.Events)-1, bank.Events[1].At)
	}
	dead := rec
	dead.Failed = true
	if err := f.st.FinishDelivery(ctx, rec, &dead); err != nil {
		t.Fatal(err)
	}
	if st, err := f.st.FeedStats(ctx, "bank"); err != nil || st.Retrying != 0 || st.Dead != 1 {
		t.Fatalf("after its dead letter: %+v (%v)", st, err)
	}
	if st, err := f.st.FeedStats(ctx, "unknown"); !errors.Is(err, events.ErrNoWebhook) || !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("a webhook never configured: %+v (%v), want not found", st, err)
	}
	// Pruning: the record's event and what the feeds have not passed stay.
	n, err := f.st.PruneEvents(ctx, time.Now().Add(-time.Hour)) // feeds moved since: they hold
	if err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) of events the feeds have not passed", n, err)
	}
	n, err = f.st.PruneEvents(ctx, time.Now().Add(time.Hour)) // feeds left still since: they do not
	if err != nil || n != len(bank.Events)-1 {
		t.Fatalf("pruned %d (%v), want all but the record's %d", n, err, len(bank.Events)-1)
	}
	// A puller whose last event was pruned still gets every event written after it (PostgreSQL
	// starts again from the oldest kept: docs/integration.md).
	last := bank.Events[len(bank.Events)-1].ID
	f.deposit(t)
	fresh, err := f.st.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.st.EventsAfter(ctx, last, 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[uint64]bool{}
	for _, e := range got {
		ids[e.ID] = true
	}
	for _, e := range fresh {
		if e.ID != first.ID && !ids[e.ID] {
			t.Fatalf("after the pruned event %d: %d events, without %d", last, len(got), e.ID)
		}
	}
}

// receiver is a business endpoint: it verifies every signature and records what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []events.Event
	fail   atomic.Int32 // answer 500 to this many more requests
	down   atomic.Bool
	flaky  atomic.Int32 // answer 500 to this percentage of requests, at random
	forged atomic.Int32
	posts  []int       // events per POST
	twice  atomic.Bool // a batch held two events of one subject
}

func newReceiver(t *testing.T, secret []byte) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if webhooksig.Verify(secret, req.Header.Get(webhooksig.Header), body, time.Now(), 0) != nil {
			r.forged.Add(1)
			w.WriteHeader(401)
			return
		}
		if r.down.Load() || r.fail.Add(-1) >= 0 || rand.Int32N(100) < r.flaky.Load() {
			w.WriteHeader(500)
			return
		}
		if n := req.Header.Get("Anchor-Event-Count"); n != "" { // a batch
			var es []events.Event
			if err := json.Unmarshal(body, &es); err != nil || n != fmt.Sprint(len(es)) {
				w.WriteHeader(400)
				return
			}
			subjects := map[string]bool{}
			for _, e := range es {
				if subjects[e.Subject] {
					r.twice.Store(true)
				}
				subjects[e.Subject] = true
			}
			r.mu.Lock()
			r.got = append(r.got, es...)
			r.posts = append(r.posts, len(es))
			r.mu.Unlock()
			return
		}
		var e events.Event
		if err := json.Unmarshal(body, &e); err != nil || req.Header.Get("Anchor-Event-Id") != fmt.Sprint(e.ID) {
			w.WriteHeader(400)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, e)
		r.posts = append(r.posts, 1)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.got...)
}

// run runs d until the test ends, or until stop (which waits for it).
func run(t testing.TB, d *events.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// TestWebhookDelivery: every event reaches the webhook signed, each subject's in order, through
// a receiver that fails at first (retried with backoff); an endpoint failing past the retry
// period leaves dead letters, which hold back nothing and are delivered when redelivered; events
// delivered and old are pruned.
func TestWebhookDelivery(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "bank"}, events.Endpoint{Name: "flaky"})
	bank, flaky := newReceiver(t, secret), newReceiver(t, secret)
	bank.fail.Store(3)
	flaky.down.Store(true)
	// The retry period is long enough for bank's three failures even on a slow machine (the race
	// detector, PostgreSQL), and short enough for flaky's deliveries to become dead letters.
	d := &events.Dispatcher{Store: f.st, Client: http.DefaultClient, BaseDelay: 5 * time.Millisecond, RetryFor: 2 * time.Second,
		Targets: map[string]events.Target{"bank": {URL: bank.URL, Secret: secret}, "flaky": {URL: flaky.URL, Secret: secret}}}
	run(t, d)
	f.deposit(t)
	f.deposit(t) // a second deposit of the same customer
	waitFor(t, func() bool { return len(bank.events()) == 7 })
	last := map[string]int{}
	for _, e := range bank.events() {
		if e.Seq != last[e.Subject]+1 {
			t.Fatalf("%s seq %d after %d: out of order", e.Subject, e.Seq, last[e.Subject])
		}
		last[e.Subject] = e.Seq
	}
	if bank.forged.Load() != 0 {
		t.Fatal("a delivery's signature did not verify")
	}
	// flaky was down past the retry period: dead letters, one per event (none holds back the next).
	waitFor(t, func() bool { failed, _ := f.st.FailedDeliveries(context.Background()); return len(failed) == 7 })
	flaky.down.Store(false)
	if n, err := f.st.Redeliver(context.Background(), 0, time.Now()); err != nil || n != 7 {
		t.Fatalf("redeliver: %d %v", n, err)
	}
	waitFor(t, func() bool { return len(flaky.events()) == 7 })
	// Pruned once their deliveries are recorded (the receiver has an event a moment before the
	// dispatcher records its delivery).
	pruned := 0
	waitFor(t, func() bool {
		n, err := f.st.PruneEvents(context.Background(), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		pruned += n
		return pruned >= 7
	})
	if pruned != 7 {
		t.Fatalf("pruned %d events, want 7", pruned)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestSlowWebhook: a receiver that does not answer within the client's timeout is retried, and
// gets the event once it answers in time.
func TestSlowWebhook(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "slow", Types: []string{"transaction.created"}})
	var calls atomic.Int32
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			time.Sleep(500 * time.Millisecond) // past the client's timeout
			return
		}
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	defer srv.Close()
	run(t, &events.Dispatcher{Store: f.st, Client: &http.Client{Timeout: 100 * time.Millisecond}, BaseDelay: 10 * time.Millisecond,
		Targets: map[string]events.Target{"slow": {URL: srv.URL, Secret: secret}}})
	f.deposit(t)
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never arrived after the timeout")
	}
	if calls.Load() < 2 {
		t.Fatalf("%d calls", calls.Load())
	}
}

// TestWebhookBatches: a webhook with batch set gets arrays of events (Anchor-Event-Count), each
// signed, never more than its batch, never two of one subject in one array, each subject's in
// order, every event once even when the first POSTs fail.
func TestWebhookBatches(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "bank"})
	for range 12 {
		f.deposit(t) // 1 customer subject, 12 transaction subjects
	}
	bank := newReceiver(t, secret)
	bank.fail.Store(2)
	run(t, &events.Dispatcher{Store: f.st, Client: http.DefaultClient, BaseDelay: 5 * time.Millisecond, RetryFor: time.Minute,
		Targets: map[string]events.Target{"bank": {URL: bank.URL, Secret: secret, Batch: 5}}})
	all, err := f.st.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(bank.events()) == len(all) })
	time.Sleep(50 * time.Millisecond) // no more than once each
	got, seen, last := bank.events(), map[uint64]bool{}, map[string]int{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %d delivered twice", e.ID)
		}
		seen[e.ID] = true
		if e.Seq != last[e.Subject]+1 {
			t.Fatalf("%s seq %d after %d: out of order", e.Subject, e.Seq, last[e.Subject])
		}
		last[e.Subject] = e.Seq
	}
	bank.mu.Lock()
	posts := append([]int(nil), bank.posts...)
	bank.mu.Unlock()
	if len(got) != len(all) || bank.forged.Load() != 0 || bank.twice.Load() || slices.Max(posts) > 5 || slices.Max(posts) < 2 || len(posts) >= len(all) {
		t.Fatalf("%d of %d events in POSTs of %v (forged %d)", len(got), len(all), posts, bank.forged.Load())
	}
}

// TestWebhookOrderUnderLoad: events written by many writers at once, several to each subject,
// while the receiver keeps going down and failing at random, all reach it, each subject's in
// seq order (the first arrival of each event; a retry may bring one again) with none missing.
func TestWebhookOrderUnderLoad(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "bank"})
	bank := newReceiver(t, secret)
	d := &events.Dispatcher{Store: f.st, Client: http.DefaultClient, BaseDelay: 2 * time.Millisecond, RetryFor: time.Hour,
		Targets: map[string]events.Target{"bank": {URL: bank.URL, Secret: secret}}}
	run(t, d)
	n, subjects := writeWhileFlapping(t, bank, []events.Recording{f.st.(events.Recording)}, d.Wake, nil)
	wantInOrder(t, bank, f.st, n, subjects)
}

// TestWebhookOrderAcrossReplicas: the same with two replicas on one PostgreSQL database, each
// writing events and running a dispatcher (the feed on the one holding its lease, the retries
// on both), and the feed's holder stopping halfway: the other takes the feed over, and every
// event still arrives once at least, in order per subject.
func TestWebhookOrderAcrossReplicas(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("replicas share a PostgreSQL database: this runs in make test's PostgreSQL pass (ANCHOR_TEST_STORE=postgres)")
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	bank := newReceiver(t, secret)
	url := pgtest.URL(t)
	var stores []*postgres.Store
	var recs []events.Recording
	var stops, wakes []func()
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}}); err != nil {
			t.Fatal(err)
		}
		d := &events.Dispatcher{Store: st, Client: http.DefaultClient, BaseDelay: 2 * time.Millisecond, RetryFor: time.Hour, ClaimFor: 2 * time.Second,
			Targets: map[string]events.Target{"bank": {URL: bank.URL, Secret: secret}},
			Exclusive: func(ctx context.Context, run func(ctx context.Context)) { // as anchor serve's, with short waits
				for ctx.Err() == nil {
					if held, release, ok, _ := st.TryLease(ctx, "event-feeds"); ok {
						run(held)
						release()
					}
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
			}}
		stores, recs, stops, wakes = append(stores, st), append(recs, st), append(stops, run(t, d)), append(wakes, d.Wake)
		for len(stores) == 1 { // the first holds the feed before the second starts
			_, release, ok, err := st.TryLease(context.Background(), "event-feeds")
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			release()
			time.Sleep(5 * time.Millisecond)
		}
	}
	wake := func() {
		for _, w := range wakes {
			w()
		}
	}
	// Halfway, the first replica, which holds the feed, stops: the other takes it over.
	n, subjects := writeWhileFlapping(t, bank, recs, wake, stops[0])
	wantInOrder(t, bank, stores[1], n, subjects)
}

// writeWhileFlapping writes 12 × 20 events on 5 subjects, the writers spread over recs, while
// the receiver goes down and comes back and fails 30% of the rest at random; halfway it calls
// halfway (when set). The receiver is well again when it returns the events' and subjects'
// counts.
func writeWhileFlapping(t *testing.T, bank *receiver, recs []events.Recording, wake func(), halfway func()) (n, subjects int) {
	const writers, each = 12, 20
	subjects = 5
	stop := make(chan struct{})
	flapped := make(chan struct{})
	go func() { // the receiver goes down and comes back while the events are written
		defer close(flapped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(10+i%4*10) * time.Millisecond):
				bank.down.Store(i%2 == 0)
			}
		}
	}()
	bank.flaky.Store(30)
	var wg sync.WaitGroup
	var written atomic.Int32
	var half sync.Once
	for w := range writers {
		wg.Go(func() {
			rec := recs[w%len(recs)]
			for i := range each {
				subject := fmt.Sprintf("reconcile:%d", (w+i)%subjects)
				if err := rec.RecordEvent(context.Background(), events.ReconcileDifferences, subject, map[string]int{"writer": w, "i": i}); err != nil {
					t.Error(err)
					return
				}
				wake()
				if written.Add(1) == writers*each/2 && halfway != nil {
					half.Do(func() { go halfway() })
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-flapped
	bank.down.Store(false)
	bank.flaky.Store(0)
	return writers * each, subjects
}

// wantInOrder waits for n events of the given number of subjects at the receiver, and checks
// that the first arrival of each subject's events is in seq order.
func wantInOrder(t *testing.T, bank *receiver, st events.Store, n, subjects int) {
	t.Helper()
	distinct := func() (first []events.Event) {
		seen := map[uint64]bool{}
		for _, e := range bank.events() {
			if !seen[e.ID] {
				seen[e.ID] = true
				first = append(first, e)
			}
		}
		return first
	}
	for deadline := time.Now().Add(30 * time.Second); len(distinct()) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			fs, err := st.FeedStats(context.Background(), "bank")
			due, _ := st.DueDeliveries(context.Background(), time.Now().Add(time.Hour), 100)
			t.Fatalf("%d of %d events arrived; the feed: %+v (%v); the records due within an hour: %+v", len(distinct()), n, fs, err, due)
		}
	}
	last := map[string]int{}
	for _, e := range distinct() {
		if e.Seq != last[e.Subject]+1 {
			t.Fatalf("%s: seq %d arrived after %d", e.Subject, e.Seq, last[e.Subject])
		}
		last[e.Subject] = e.Seq
	}
	if got := len(distinct()); got != n || len(last) != subjects {
		t.Fatalf("%d events of %d subjects, want %d of %d", got, len(last), n, subjects)
	}
}

// TestRedeliverAnEvent: an event is sent again on demand, whether or not it was delivered: to
// each configured webhook that takes its type and whose feed has passed it, once while a
// delivery of it waits; an event the feed has yet to read, or no longer in the log, queues none.
func TestRedeliverAnEvent(t *testing.T) {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "bank"}, events.Endpoint{Name: "crm", Types: []string{"customer.*"}})
	f.deposit(t)
	all, err := f.st.EventsAfter(ctx, 0, 100)
	if err != nil || len(all) < 4 {
		t.Fatalf("events: %v %v", all, err)
	}
	pick := func(prefix string) events.Event {
		for _, e := range all {
			if strings.HasPrefix(e.Type, prefix) {
				return e
			}
		}
		t.Fatalf("no %s event in %v", prefix, all)
		return events.Event{}
	}
	tx, cust := pick("transaction."), pick("customer.")
	redeliver := func(id uint64, want int) {
		t.Helper()
		if n, err := f.st.Redeliver(ctx, id, time.Now()); err != nil || n != want {
			t.Fatalf("redeliver event %d: %d deliveries (%v), want %d", id, n, err, want)
		}
	}
	redeliver(tx.ID, 0) // no feed has read it: it goes out with the others
	// The feeds pass every event without sending any (as after a loss).
	for _, name := range []string{"bank", "crm"} {
		page, err := f.st.ReadFeed(ctx, name, 100)
		if err != nil || len(page.Events) != len(all) {
			t.Fatalf("read the feed of %s: %d events (%v)", name, len(page.Events), err)
		}
		if ok, err := f.st.AdvanceFeed(ctx, name, page.Cursor, page.Events[len(page.Events)-1].Cursor, nil); !ok || err != nil {
			t.Fatalf("advance %s: %v %v", name, ok, err)
		}
	}
	redeliver(tx.ID, 1)   // bank only: crm takes customer events
	redeliver(tx.ID, 0)   // its delivery waits
	redeliver(cust.ID, 2) // bank and crm
	if n, err := f.st.Redeliver(ctx, 1<<40, time.Now()); !errors.Is(err, events.ErrNotFound) || n != 0 {
		t.Fatalf("redeliver an event not in the log: %d %v, want not found", n, err)
	}
	bank, crm := newReceiver(t, secret), newReceiver(t, secret)
	run(t, &events.Dispatcher{Store: f.st, Client: http.DefaultClient, BaseDelay: 5 * time.Millisecond,
		Targets: map[string]events.Target{"bank": {URL: bank.URL, Secret: secret}, "crm": {URL: crm.URL, Secret: secret}}})
	ids := func(r *receiver) (out []uint64) {
		for _, e := range r.events() {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	want := []uint64{min(tx.ID, cust.ID), max(tx.ID, cust.ID)}
	waitFor(t, func() bool { return len(bank.events()) >= 2 && len(crm.events()) >= 1 })
	time.Sleep(50 * time.Millisecond) // nothing more
	if !slices.Equal(ids(bank), want) || !slices.Equal(ids(crm), []uint64{cust.ID}) {
		t.Fatalf("bank got %v, crm %v; want %v and [%d]", ids(bank), ids(crm), want, cust.ID)
	}
	// Delivered: it can be sent again.
	waitFor(t, func() bool { n, err := f.st.Redeliver(ctx, tx.ID, time.Now()); return err == nil && n == 1 })
	waitFor(t, func() bool { return len(bank.events()) == 3 })
}

// BenchmarkFeedCatchUp: a webhook down while 10 writers wrote 10,000 events of 100 subjects
// (each subject's first failed delivery holds the rest behind it): the time its feed takes to
// pass them all, queuing each as a delivery record. In "bursts" the writers write the same
// subject at each step (a subject's events come in runs); in "spread" each writes its own.
func BenchmarkFeedCatchUp(b *testing.B) {
	for _, c := range []struct {
		name   string
		stride int
	}{{"bursts", 0}, {"spread", 10}} {
		b.Run(c.name, func(b *testing.B) { feedCatchUp(b, c.stride) })
	}
}

func feedCatchUp(b *testing.B, stride int) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer down.Close()
	for b.Loop() {
		b.StopTimer()
		st := storetest.Open(b)
		if err := st.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}}); err != nil {
			b.Fatal(err)
		}
		rec := st.(events.Recording)
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Go(func() {
				for i := range 1000 {
					if err := rec.RecordEvent(context.Background(), events.ReconcileDifferences, fmt.Sprintf("reconcile:%d", (w*stride+i)%100), map[string]int{"i": i}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		d := &events.Dispatcher{Store: st, Client: http.DefaultClient, BaseDelay: time.Hour, RetryFor: 2 * time.Hour,
			Targets: map[string]events.Target{"bank": {URL: down.URL, Secret: secret}}}
		b.StartTimer()
		stop := run(b, d)
		for {
			fs, err := st.FeedStats(context.Background(), "bank")
			if err != nil {
				b.Fatal(err)
			}
			if fs.Behind == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}

// TestDeliveryErrorKeepsTheURLPrivate: a POST that never reaches the receiver records (and
// logs) its error with the receiver's address only: a webhook URL's path and query may hold the
// receiver's token, which must not reach the store, anchor events list --failed or the log.
func TestDeliveryErrorKeepsTheURLPrivate(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, events.Endpoint{Name: "bank"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: connection refused
	var logs bytes.Buffer
	var mu sync.Mutex
	d := &events.Dispatcher{Store: f.st, Client: http.DefaultClient, BaseDelay: time.Hour, RetryFor: time.Hour,
		Logger:  slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
		Targets: map[string]events.Target{"bank": {URL: "http://" + addr + "/hooks/s3cret-path?token=s3cret-query", Secret: secret}}}
	run(t, d)
	f.deposit(t)
	var recorded string
	waitFor(t, func() bool {
		due, err := f.st.DueDeliveries(context.Background(), time.Now().Add(2*time.Hour), 10)
		if err != nil || len(due) == 0 {
			return false
		}
		recorded = due[0].LastError
		return recorded != ""
	})
	mu.Lock()
	logged := logs.String()
	mu.Unlock()
	if strings.Contains(recorded, "s3cret") || strings.Contains(logged, "s3cret") || !strings.Contains(recorded, addr) {
		t.Fatalf("recorded %q; logged:\n%s", recorded, logged)
	}
}

// lockedWriter serializes a log's writes, for a test to read them.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
