package callback_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/callback"
)

// memQueue is an in-memory callback.Queue (ordered by due time, as the store's).
type memQueue struct {
	mu    sync.Mutex
	items map[string]callback.Item
}

var _ callback.Queue = (*memQueue)(nil)

func (q *memQueue) DueCallbacks(_ context.Context, now time.Time, limit int) ([]callback.Item, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []callback.Item
	for _, it := range q.items {
		if !it.Due.After(now) {
			out = append(out, it)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Due.Before(out[i].Due) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (q *memQueue) ClaimCallback(context.Context, callback.Item, time.Time, time.Time) (bool, error) {
	return true, nil
}

func (q *memQueue) FinishCallback(_ context.Context, prev callback.Item, next *callback.Item) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := prev.Kind + "/" + prev.ID
	if cur, ok := q.items[k]; !ok || cur.Attempt != prev.Attempt || !cur.Due.Equal(prev.Due) {
		return nil
	}
	if next == nil {
		delete(q.items, k)
	} else {
		q.items[k] = *next
	}
	return nil
}

// TestSlowHostDoesNotDelayOthers: a dozen callbacks to a host that hangs, queued first, do not
// hold back an honest callback to another host: deliveries run concurrently, bounded per host.
func TestSlowHostDoesNotDelayOthers(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	got := make(chan time.Time, 1)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- time.Now() }))
	defer good.Close()

	q := &memQueue{items: map[string]callback.Item{}}
	start := time.Now()
	for i := 0; i < 12; i++ {
		id := string(rune('a' + i))
		q.items["kyc/"+id] = callback.Item{Kind: "kyc", ID: id, Due: start.Add(-time.Minute)}
	}
	q.items["tx/honest"] = callback.Item{Kind: "tx", ID: "honest", Due: start}
	d := callback.NewDispatcher(q, keypair.MustRandom(), &http.Client{Timeout: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Renderers["kyc"] = func(context.Context, string) (string, []byte, error) { return slow.URL + "/cb", []byte("{}"), nil }
	d.Renderers["tx"] = func(context.Context, string) (string, []byte, error) { return good.URL + "/cb", []byte("{}"), nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	select {
	case at := <-got:
		if wait := at.Sub(start); wait > 2*time.Second {
			t.Fatalf("the honest callback waited %s behind the hanging host", wait)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the honest callback was not delivered while the slow host hangs")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestDueOrderAcrossKinds: with one worker, callbacks go out oldest due first, whatever their
// kind (a SEP-6 callback does not wait behind SEP-12 ones).
func TestDueOrderAcrossKinds(t *testing.T) {
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	q := &memQueue{items: map[string]callback.Item{}}
	now := time.Now()
	q.items["kyc/b"] = callback.Item{Kind: "kyc", ID: "b", Due: now.Add(-time.Second)}
	q.items["tx/a"] = callback.Item{Kind: "tx", ID: "a", Due: now.Add(-time.Minute)}
	q.items["kyc/c"] = callback.Item{Kind: "kyc", ID: "c", Due: now}
	d := callback.NewDispatcher(q, keypair.MustRandom(), srv.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Workers = 1
	for _, k := range []string{"kyc", "tx"} {
		d.Renderers[k] = func(_ context.Context, id string) (string, []byte, error) {
			return srv.URL + "/" + id, []byte("{}"), nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 || order[0] != "/a" || order[1] != "/b" || order[2] != "/c" {
		t.Fatalf("delivery order %v, want /a /b /c", order)
	}
}

// TestFailureLogKeepsTheURLPrivate: a callback that never reaches the wallet's server is logged
// with the server's address only, never the URL's path or query (which may hold a token).
func TestFailureLogKeepsTheURLPrivate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	var mu sync.Mutex
	var logs bytes.Buffer
	logged := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	q := &memQueue{items: map[string]callback.Item{"tx/a": {Kind: "tx", ID: "a", Due: time.Now().Add(-time.Second)}}}
	d := callback.NewDispatcher(q, keypair.MustRandom(), &http.Client{Timeout: 5 * time.Second}, slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil)))
	d.Renderers["tx"] = func(context.Context, string) (string, []byte, error) {
		return "http://" + addr + "/cb/s3cret-path?token=s3cret-query", []byte("{}"), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logged(), "will retry"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", logged())
		}
	}
	if out := logged(); strings.Contains(out, "s3cret") || !strings.Contains(out, addr) {
		t.Fatalf("the log:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
