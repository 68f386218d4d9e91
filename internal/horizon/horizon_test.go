package horizon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	hProtocol "github.com/stellar/go-stellar-sdk/protocols/horizon"

	"github.com/anchorkit/anchor/internal/horizon/standin"
)

// flaky answers the first n requests with status (and Retry-After when set), then proxies to
// the stand-in.
type flaky struct {
	n          atomic.Int32
	status     int
	retryAfter string
	seen       atomic.Int32
	backend    *httputil.ReverseProxy
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.seen.Add(1)
	if f.n.Add(-1) >= 0 {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"type":"x","title":"flaky","status":` + strconv.Itoa(f.status) + `}`))
		return
	}
	f.backend.ServeHTTP(w, r)
}

func newFlaky(t *testing.T, n, status int, retryAfter string) (*client, *flaky, *[]time.Duration, string) {
	t.Helper()
	s := standin.New()
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL())
	f := &flaky{status: status, retryAfter: retryAfter, backend: httputil.NewSingleHostReverseProxy(u)}
	f.n.Store(int32(n))
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c := newClient(ts.URL, 5*time.Second)
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	id := keypair.MustRandom().Address()
	s.CreateAccount(id, 1, [3]byte{})
	return c, f, &waits, id
}

func TestReadRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fail       int
		status     int
		retryAfter string
		wantWaits  []time.Duration
		wantErr    error
		wantSeen   int32
	}{
		{"429 honours Retry-After seconds", 1, 429, "3", []time.Duration{3 * time.Second}, nil, 2},
		{"503 without Retry-After backs off", 2, 503, "", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, nil, 3},
		{"gives up after the retries", 5, 502, "", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, ErrUnavailable, 3},
		{"Retry-After beyond the cap is not waited", 1, 429, "60", nil, ErrUnavailable, 1},
		{"400 is not retried", 1, 400, "", nil, ErrUnavailable, 1},
	} {
		for _, read := range accountReads {
			t.Run(read.name+"/"+tc.name, func(t *testing.T) {
				c, f, waits, id := newFlaky(t, tc.fail, tc.status, tc.retryAfter)
				got, err := read.read(c, id)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if err == nil && got != id {
					t.Fatalf("account %q, want %q", got, id)
				}
				if got := f.seen.Load(); got != tc.wantSeen {
					t.Errorf("requests = %d, want %d", got, tc.wantSeen)
				}
				if len(*waits) != len(tc.wantWaits) {
					t.Fatalf("waits = %v, want %v", *waits, tc.wantWaits)
				}
				for i := range tc.wantWaits {
					if (*waits)[i] != tc.wantWaits[i] {
						t.Errorf("wait %d = %v, want %v", i, (*waits)[i], tc.wantWaits[i])
					}
				}
			})
		}
	}
}

// accountReads are the two reads of an account, each returning the id it read (Signers: its
// master key's).
var accountReads = []struct {
	name string
	read func(c *client, id string) (string, error)
}{
	{"Account", func(c *client, id string) (string, error) {
		a, err := c.Account(context.Background(), id)
		if err != nil {
			return "", err
		}
		return a.AccountID, nil
	}},
	{"Signers", func(c *client, id string) (string, error) {
		a, err := c.Signers(context.Background(), id)
		if err != nil {
			return "", err
		}
		for _, s := range a.Signers {
			if s.Key == id {
				return s.Key, nil
			}
		}
		return "", fmt.Errorf("no master key among %v", a.Signers)
	}},
}

// Signers reads the signers and thresholds as Account does.
func TestSignersAsAccount(t *testing.T) {
	s := standin.New()
	t.Cleanup(s.Close)
	c := newClient(s.URL()+"/", 5*time.Second)
	id, other := keypair.MustRandom().Address(), keypair.MustRandom().Address()
	s.CreateAccount(id, 0, [3]byte{1, 5, 9}, standin.Signer{Key: other, Weight: 7})
	acct, err := c.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Signers(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Thresholds != acct.Thresholds || got.Thresholds.MedThreshold != 5 {
		t.Fatalf("thresholds %+v, want %+v (medium 5)", got.Thresholds, acct.Thresholds)
	}
	// The stand-in lists signers in no fixed order.
	byKey := func(a, b hProtocol.Signer) int { return strings.Compare(a.Key, b.Key) }
	slices.SortFunc(got.Signers, byKey)
	slices.SortFunc(acct.Signers, byKey)
	if !reflect.DeepEqual(got.Signers, acct.Signers) || len(got.Signers) != 2 {
		t.Fatalf("signers %+v, want %+v", got.Signers, acct.Signers)
	}
}

// An error answer that is not a problem document is still Horizon's status: retried when 5xx.
func TestSignersPlainErrorRetried(t *testing.T) {
	s := standin.New()
	t.Cleanup(s.Close)
	id := keypair.MustRandom().Address()
	s.CreateAccount(id, 1, [3]byte{})
	u, _ := url.Parse(s.URL())
	var seen atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(u)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 1 {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c := newClient(ts.URL, 5*time.Second)
	c.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	if _, err := c.Signers(context.Background(), id); err != nil || seen.Load() != 2 {
		t.Fatalf("err = %v after %d requests, want the second to succeed", err, seen.Load())
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	c, _, waits, id := newFlaky(t, 1, 503, time.Now().Add(4*time.Second).UTC().Format(http.TimeFormat))
	if _, err := c.Account(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] <= 2*time.Second || (*waits)[0] > 4*time.Second {
		t.Fatalf("waits = %v, want about 4s", *waits)
	}
}

func TestReadStopsAtDeadline(t *testing.T) {
	c, f, waits, id := newFlaky(t, 1, 429, "5")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Account(ctx, id); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if len(*waits) != 0 || f.seen.Load() != 1 {
		t.Fatalf("waited %v after %d requests; a wait past the deadline must not start", *waits, f.seen.Load())
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	c, f, _, _ := newFlaky(t, 0, 0, "")
	if _, err := c.Account(context.Background(), keypair.MustRandom().Address()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, err := c.Signers(context.Background(), keypair.MustRandom().Address()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("signers err = %v, want ErrNotFound", err)
	}
	if _, err := c.Transaction(context.Background(), "00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("transaction err = %v, want ErrNotFound", err)
	}
	if f.seen.Load() != 3 {
		t.Fatalf("requests = %d, want 3", f.seen.Load())
	}
}

func TestSubmitIsNeverRetried(t *testing.T) {
	c, f, waits, _ := newFlaky(t, 3, 504, "")
	if _, err := c.Submit(context.Background(), "AAAA"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if f.seen.Load() != 1 || len(*waits) != 0 {
		t.Fatalf("submit made %d requests and waited %v; the caller decides about resubmitting", f.seen.Load(), *waits)
	}
}

// Concurrent look-ups reuse their connections: a server with many wallets signing in at once
// must not open (and, against a real Horizon, TLS-handshake) a connection per look-up. A first
// wave of concurrent look-ups opens its connections; once they are idle, a second wave as
// large opens none.
func TestConcurrentReadsReuseConnections(t *testing.T) {
	s := standin.New()
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL())
	var opened atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(u)
	// Each look-up takes a while, so that a wave's look-ups are all in flight together.
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		proxy.ServeHTTP(w, r)
	}))
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	id := keypair.MustRandom().Address()
	s.CreateAccount(id, 1, [3]byte{})
	c := newClient(ts.URL, 5*time.Second)
	const callers = 32
	wave := func() {
		if err := concurrently(callers, func() error {
			_, err := c.Signers(context.Background(), keypair.MustRandom().Address())
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	wave()
	first := opened.Load()
	time.Sleep(200 * time.Millisecond) // every connection back in the idle pool
	wave()
	// Go's default transport kept 2 idle connections per host: the second wave dialled 30.
	if n := opened.Load() - first; n > 2 {
		t.Fatalf("a second wave of %d concurrent look-ups opened %d new connections (the first opened %d), want none", callers, n, first)
	}
}

// Concurrent Signers calls for one account share one read. When the caller whose read it is
// gives up, its read ends, and the calls that awaited it read again (once, together).
func TestSignersSharedByConcurrentCallers(t *testing.T) {
	s := standin.New()
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL())
	proxy := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		time.Sleep(200 * time.Millisecond) // long enough for every caller to join
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	id := keypair.MustRandom().Address()
	s.CreateAccount(id, 1, [3]byte{})
	c := newClient(ts.URL, 5*time.Second)
	const callers = 20
	callAll := func(t *testing.T) {
		t.Helper()
		if err := concurrently(callers, func() error {
			a, err := c.Signers(context.Background(), id)
			if err == nil && (len(a.Signers) != 1 || a.Signers[0].Key != id) {
				err = fmt.Errorf("signers %+v", a.Signers)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("together", func(t *testing.T) {
		seen.Store(0)
		callAll(t)
		if n := seen.Load(); n > 2 { // a late caller may start a second read
			t.Fatalf("%d concurrent callers made %d reads, want 1 (at most 2)", callers, n)
		}
	})
	t.Run("first gives up", func(t *testing.T) {
		seen.Store(0)
		quick, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		gaveUp := make(chan error, 1)
		go func() {
			_, err := c.Signers(quick, id)
			gaveUp <- err
		}()
		for seen.Load() == 0 { // the first caller's read is under way: the others await it
			time.Sleep(time.Millisecond)
		}
		callAll(t)
		if err := <-gaveUp; !errors.Is(err, ErrUnavailable) {
			t.Fatalf("caller that gave up: %v, want ErrUnavailable", err)
		}
		if n := seen.Load(); n < 2 || n > 3 {
			t.Fatalf("%d reads, want the first caller's and one more (at most two more)", n)
		}
	})
}

type panicOnce struct {
	http.RoundTripper
	started chan struct{}
	release chan struct{}
	n       atomic.Int32
}

func (p *panicOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.n.Add(1) == 1 {
		close(p.started)
		<-p.release
		panic("transport bug")
	}
	return p.RoundTripper.RoundTrip(r)
}

// A read that panics panics in its caller; the calls awaiting it read again rather than wait
// forever or get nothing.
func TestSignersReadPanics(t *testing.T) {
	s := standin.New()
	t.Cleanup(s.Close)
	id := keypair.MustRandom().Address()
	s.CreateAccount(id, 1, [3]byte{})
	c := newClient(s.URL(), 5*time.Second)
	tr := &panicOnce{RoundTripper: c.http.Transport, started: make(chan struct{}), release: make(chan struct{})}
	c.http.Transport = tr
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = c.Signers(context.Background(), id)
	}()
	<-tr.started
	got := make(chan error, 1)
	go func() {
		a, err := c.Signers(context.Background(), id)
		if err == nil && (a == nil || len(a.Signers) != 1) {
			err = fmt.Errorf("signers %+v", a)
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // for the second call to join the first's read
	close(tr.release)
	if p := <-panicked; p == nil {
		t.Fatal("the read's panic did not reach its caller")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("awaiting call: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call awaiting a read that panicked still waits")
	}
	if n := tr.n.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// concurrently runs f in n goroutines at once and returns the first error.
func concurrently(n int, f func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
