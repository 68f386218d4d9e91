package apikey_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is a settable now.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock               { c := &clock{}; c.t.Store(time.Now().UnixNano()); return c }
func service(t *testing.T) (*apikey.Service, *clock, store.Backend) {
	st := storetest.Open(t)
	c := newClock()
	return &apikey.Service{Store: st, Now: c.now}, c, st
}

// TestKeys: a key is shown once and authenticates; a wrong secret, a malformed token or an
// unknown id do not; names are unique among active keys; a revoked or expired key is refused
// saying so; the store holds a hash, never the secret.
func TestKeys(t *testing.T) {
	ctx := context.Background()
	s, clk, st := service(t)
	k, err := s.Create(ctx, "bank-integration", apikey.Treasury, 0, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Secret, "anchor_"+k.ID+"_") || len(k.Secret) < 60 {
		t.Fatalf("secret %q", k.Secret)
	}
	got, err := s.Authenticate(ctx, k.Secret)
	if err != nil || got.Name != "bank-integration" || got.Role != apikey.Treasury || got.CreatedBy != "ops" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	last := k.Secret[len(k.Secret)-1]
	bad := []string{"", "anchor_", k.Secret[:len(k.Secret)-1] + string(last^1), "anchor_0000000000000000_" + k.Secret[len("anchor_"+k.ID+"_"):], strings.TrimPrefix(k.Secret, "anchor_"), "Bearer " + k.Secret}
	for _, tok := range bad {
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, apikey.ErrUnauthorized) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if _, err := s.Create(ctx, "bank-integration", apikey.ReadOnly, 0, "ops"); err == nil || !strings.Contains(err.Error(), "named \"bank-integration\" already") {
		t.Fatalf("a second active key of one name: %v", err)
	}
	for _, c := range []struct {
		name string
		role apikey.Role
		ttl  time.Duration
	}{{"has space", apikey.ReadOnly, 0}, {"", apikey.ReadOnly, 0}, {"x", "admin", 0}, {"y", apikey.ReadOnly, -time.Hour}} {
		var ie *apikey.InputError
		if _, err := s.Create(ctx, c.name, c.role, c.ttl, "ops"); !errors.As(err, &ie) {
			t.Errorf("create %q %q %s: %v", c.name, c.role, c.ttl, err)
		}
	}
	var exported []byte
	if err := st.(store.Exporter).Export(ctx, "api_keys", func(r store.Record) error { exported = append(exported, r.Body...); return nil }); err != nil {
		t.Fatal(err)
	}
	if secret := k.Secret[len("anchor_"+k.ID+"_"):]; bytes.Contains(exported, []byte(secret)) || !bytes.Contains(exported, []byte(k.Hash)) {
		t.Fatalf("the store holds %s", exported)
	}

	if r, err := s.Revoke(ctx, "bank-integration", "ops"); err != nil || r.ID != k.ID {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if _, err := s.Authenticate(ctx, k.Secret); !errors.Is(err, apikey.ErrUnauthorized) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("a revoked key: %v", err)
	}
	if _, err := s.Revoke(ctx, k.ID, "ops"); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Fatalf("revoked twice: %v", err)
	}
	if _, err := s.Revoke(ctx, "nobody", "ops"); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("revoke an unknown key: %v", err)
	}
	// The name is free again once its key is revoked.
	k2, err := s.Create(ctx, "bank-integration", apikey.Compliance, time.Hour, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, k2.Secret); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	if _, err := s.Authenticate(ctx, k2.Secret); !errors.Is(err, apikey.ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired key: %v", err)
	}
	keys, err := s.List(ctx)
	if err != nil || len(keys) != 2 || keys[0].State(clk.now()) == "active" {
		t.Fatalf("list: %+v %v", keys, err)
	}
}

// TestIdempotency: the first call with a key runs; while it runs, the same call is told so and
// another request under the key is refused; once finished, retries get its answer; an
// abandoned call (no answer worth repeating) and a claim whose server died run again; of 16
// racing first calls exactly one runs; answers are forgotten after a day.
func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := service(t)
	begin := func(key, req string) (*apikey.Idem, error) { return s.Begin(ctx, "scope", key, req, time.Minute) }
	if r, err := begin("k1", "POST /credit a"); r != nil || err != nil {
		t.Fatalf("first: %v %v", r, err)
	}
	if _, err := begin("k1", "POST /credit a"); !errors.Is(err, apikey.ErrIdemRunning) {
		t.Fatalf("while running: %v", err)
	}
	if _, err := begin("k1", "POST /credit b"); !errors.Is(err, apikey.ErrIdemReused) {
		t.Fatalf("another request: %v", err)
	}
	if err := s.Finish(ctx, "scope", "k1", "POST /credit a", 200, "application/json", []byte(`{"ok":1}`)); err != nil {
		t.Fatal(err)
	}
	if r, err := begin("k1", "POST /credit a"); err != nil || r == nil || r.Status != 200 || string(r.Body) != `{"ok":1}` {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if r, err := s.Begin(ctx, "other-scope", "k1", "POST /credit a", time.Minute); r != nil || err != nil {
		t.Fatalf("another API key's k1: %v %v", r, err)
	}

	if r, err := begin("k2", "POST /x"); r != nil || err != nil {
		t.Fatal(r, err)
	}
	if err := s.Abandon(ctx, "scope", "k2", "POST /x"); err != nil {
		t.Fatal(err)
	}
	if r, err := begin("k2", "POST /x"); r != nil || err != nil {
		t.Fatalf("after abandon: %v %v", r, err)
	}
	clk.add(2 * time.Minute) // the claim's server died
	if r, err := begin("k2", "POST /x"); r != nil || err != nil {
		t.Fatalf("a lapsed claim: %v %v", r, err)
	}

	var ran atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := begin("k3", "POST /race"); r == nil && err == nil {
				ran.Add(1)
			} else if !errors.Is(err, apikey.ErrIdemRunning) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 1 {
		t.Fatalf("%d racing calls ran", ran.Load())
	}

	clk.add(apikey.IdemRetention + time.Second)
	if n, err := s.Prune(ctx); err != nil || n != 4 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if r, err := begin("k1", "POST /credit b"); r != nil || err != nil {
		t.Fatalf("a pruned key is new: %v %v", r, err)
	}
}

func TestCheckIdemKey(t *testing.T) {
	for key, ok := range map[string]bool{"": false, "a": true, "550e8400-e29b-41d4-a716-446655440000": true, "has space": false, "ü": false, strings.Repeat("a", 256): false} {
		if err := apikey.CheckIdemKey(key); (err == nil) != ok {
			t.Errorf("%q: %v", key, err)
		}
	}
}
