package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/internal/transfer"
)

// replicas opens n stores on one fresh database, as n replicas would.
func replicas(t *testing.T, n int) ([]*postgres.Store, string) {
	url := pgtest.URL(t)
	out := make([]*postgres.Store, n)
	for i := range out {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out, url
}

// TestLeaseOneHolderAndTakeover: a lease has one holder among replicas; when the holder's
// connection dies (its process killed, or the database ended it), it learns so and another
// replica can take the lease at once.
func TestLeaseOneHolderAndTakeover(t *testing.T) {
	rs, url := replicas(t, 2)
	ctx := context.Background()
	held, release, ok, err := rs[0].TryLease(ctx, "watcher")
	if err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	if _, _, ok, err := rs[1].TryLease(ctx, "watcher"); err != nil || ok {
		t.Fatalf("a second holder: %v %v", ok, err)
	}
	if _, rel, ok, err := rs[1].TryLease(ctx, "resume"); err != nil || !ok {
		t.Fatalf("another lease: %v %v", ok, err)
	} else {
		rel()
	}
	// The database ends the holder's session (as when its replica is killed -9).
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not learn it lost its lease")
	}
	lost := time.Since(start)
	release()
	var took time.Duration
	for {
		if _, rel, ok, err := rs[1].TryLease(ctx, "watcher"); err == nil && ok {
			took = time.Since(start)
			rel()
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatal("no takeover within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("holder learnt its loss after %s; the lease was free to take after %s", lost.Round(time.Millisecond), took.Round(time.Millisecond))
}

// TestSourceLockAcrossReplicas: one replica at a time holds a source account.
func TestSourceLockAcrossReplicas(t *testing.T) {
	rs, _ := replicas(t, 2)
	ctx := context.Background()
	unlock, err := rs[0].LockSource(ctx, "GSOURCE")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		u, err := rs[1].LockSource(ctx, "GSOURCE")
		if err != nil {
			t.Error(err)
		}
		got <- time.Now()
		u()
	}()
	time.Sleep(300 * time.Millisecond)
	released := time.Now()
	unlock()
	if at := <-got; at.Before(released) {
		t.Fatal("two replicas held one source account")
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	u, err := rs[0].LockSource(ctx, "GSOURCE")
	if err != nil {
		t.Fatal(err)
	}
	defer u()
	if _, err := rs[1].LockSource(short, "GSOURCE"); err == nil {
		t.Fatal("a held source account was locked again")
	}
}

// TestCallbacksDeliveredOnceAcrossReplicas: three replicas' dispatchers drain one queue; each
// callback reaches the wallet once.
func TestCallbacksDeliveredOnceAcrossReplicas(t *testing.T) {
	rs, _ := replicas(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[string]int{}
	wallet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		got[string(body)]++
		mu.Unlock()
	}))
	defer wallet.Close()
	const n = 60
	if err := rs[0].TransferUpdate(ctx, func(tx transfer.Tx) error {
		for i := range n {
			if err := tx.EnqueueCallback(fmt.Sprint("t", i), time.Now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	signer := keypair.MustRandom()
	var wg sync.WaitGroup
	for _, r := range rs {
		d := callback.NewDispatcher(r, signer, wallet.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		d.Renderers[transfer.CallbackKind] = func(_ context.Context, id string) (string, []byte, error) {
			return wallet.URL + "/cb", []byte(id), nil
		}
		d.BaseDelay = 10 * time.Millisecond
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		due, err := rs[0].DueCallbacks(ctx, time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callbacks still queued", len(due))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("%d callbacks delivered, want %d", len(got), n)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("callback %s delivered %d times", id, c)
		}
	}
}

// TestChallengesIssuedBeforeARestartAreRefused: marks are committed without waiting for the
// disk, so a PostgreSQL restart (which a crash implies) moves IssuedNotBefore past every
// challenge issued before it; the store learns it with its first new connection.
func TestChallengesIssuedBeforeARestartAreRefused(t *testing.T) {
	rs, _ := replicas(t, 1)
	s := rs[0]
	ctx := context.Background()
	before := s.IssuedNotBefore()
	if before.IsZero() || before.After(time.Now()) {
		t.Fatalf("IssuedNotBefore %v: not the database's start", before)
	}
	issued := time.Now()
	restart := pgtest.Outage(t)
	restart()
	// The first use after the restart reconnects, and the store knows of the restart.
	h := [32]byte{1}
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = s.UseChallenge(ctx, h, time.Now().Add(time.Minute), "GX", false); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if nb := s.IssuedNotBefore(); !nb.After(issued) {
		t.Fatalf("after a restart, IssuedNotBefore is %v, before a challenge issued at %v", nb, issued)
	}
}

// TestCallbackClaimLapses: a replica that claimed a callback and died leaves it to the others
// once the claim lapses; while it holds, no other replica sees or claims it.
func TestCallbackClaimLapses(t *testing.T) {
	rs, _ := replicas(t, 2)
	ctx := context.Background()
	now := time.Now()
	if err := rs[0].TransferUpdate(ctx, func(tx transfer.Tx) error { return tx.EnqueueCallback("t1", now) }); err != nil {
		t.Fatal(err)
	}
	due, _ := rs[0].DueCallbacks(ctx, now, 10)
	if ok, err := rs[0].ClaimCallback(ctx, due[0], now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	// replica 0 dies here, mid-delivery.
	if d, _ := rs[1].DueCallbacks(ctx, now.Add(30*time.Second), 10); len(d) != 0 {
		t.Fatalf("a claimed callback is offered to another replica: %v", d)
	}
	if ok, _ := rs[1].ClaimCallback(ctx, due[0], now.Add(30*time.Second), now.Add(time.Hour)); ok {
		t.Fatal("a held claim was taken")
	}
	later := now.Add(61 * time.Second)
	d, _ := rs[1].DueCallbacks(ctx, later, 10)
	if len(d) != 1 {
		t.Fatalf("after the claim lapsed: %v", d)
	}
	if ok, err := rs[1].ClaimCallback(ctx, d[0], later, later.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("the lapsed claim was not taken over: %v %v", ok, err)
	}
}
