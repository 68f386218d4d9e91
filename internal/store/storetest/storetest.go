// Package storetest is the contract suite every store backend passes: the same cases run against
// bbolt and against a real PostgreSQL (no mocks), so that the two behave as one.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/store"
)

// earlyMarker is sep10.EarlyMarker: a store whose marks take a round trip.
type earlyMarker interface {
	MarkEarly(hash [32]byte, expires time.Time, account string, shared bool) (wait func() (bool, error), ok bool)
	Unmark(ctx context.Context, hash [32]byte) error
}

// ChallengeStore runs the SEP-10 used-challenge contract against the stores open returns (a
// fresh, empty one per call).
func ChallengeStore(t *testing.T, open func(t *testing.T) store.ChallengeStore) {
	ctx := context.Background()
	exp := time.Now().Add(5 * time.Minute)
	t.Run("exchanged once", func(t *testing.T) {
		s := open(t)
		h := sha256.Sum256([]byte("challenge"))
		if first, err := s.UseChallenge(ctx, h, exp, "GA", false); err != nil || !first {
			t.Fatalf("first use: %v %v", first, err)
		}
		if first, err := s.UseChallenge(ctx, h, exp, "GA", false); err != nil || first {
			t.Fatalf("replay: %v %v", first, err)
		}
	})
	t.Run("racing replicas get one token", func(t *testing.T) {
		s := open(t)
		h := sha256.Sum256([]byte("raced"))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if first, err := s.UseChallenge(ctx, h, exp, "GB", false); err == nil && first {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d first uses of one challenge", wins.Load())
		}
	})
	t.Run("many at once: each challenge once, each caller its own answer", func(t *testing.T) {
		s := open(t)
		if _, err := s.UseChallenge(ctx, sha256.Sum256([]byte("known")), exp, "GE", false); err != nil {
			t.Fatal(err) // the account's mode is known: its marks take the fast path
		}
		var firsts [40]atomic.Int32
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := i % len(firsts) // every challenge five times, the uses interleaved
				first, err := s.UseChallenge(ctx, sha256.Sum256([]byte(fmt.Sprint("many-", n))), exp, "GE", false)
				if err != nil {
					t.Error(err)
				} else if first {
					firsts[n].Add(1)
				}
			}()
		}
		wg.Wait()
		for n := range firsts {
			if got := firsts[n].Load(); got != 1 {
				t.Fatalf("challenge %d had %d first uses", n, got)
			}
		}
	})
	t.Run("shared or not, never both", func(t *testing.T) {
		s := open(t)
		if _, err := s.UseChallenge(ctx, sha256.Sum256([]byte("a")), exp, "GC", true); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte("b"))
		if _, err := s.UseChallenge(ctx, h, exp, "GC", false); !errors.Is(err, store.ErrSharedMismatch) {
			t.Fatalf("without a memo after with one: %v", err)
		}
		// Nothing was recorded by the refusal: the same challenge used the right way is first.
		if first, err := s.UseChallenge(ctx, h, exp, "GC", true); err != nil || !first {
			t.Fatalf("after a refusal: %v %v", first, err)
		}
	})
	t.Run("early marks", func(t *testing.T) {
		s := open(t)
		em, ok := s.(earlyMarker)
		if !ok {
			t.Skip("this store marks in memory: it has no early marks")
		}
		h := sha256.Sum256([]byte("early"))
		// An account whose mode is not recorded is not marked early: the mode is recorded only
		// once its signatures are verified, through UseChallenge.
		if _, ok := em.MarkEarly(h, exp, "GF", false); ok {
			t.Fatal("marked early for an account never authenticated")
		}
		if _, err := s.UseChallenge(ctx, sha256.Sum256([]byte("verified")), exp, "GF", false); err != nil {
			t.Fatal(err)
		}
		if _, ok := em.MarkEarly(h, exp, "GF", true); ok {
			t.Fatal("marked early with the other mode (UseChallenge refuses it)")
		}
		wait, ok := em.MarkEarly(h, exp, "GF", false)
		if !ok {
			t.Fatal("not marked early for a known account")
		}
		if first, err := wait(); err != nil || !first {
			t.Fatalf("early mark: %v %v", first, err)
		}
		if first, err := s.UseChallenge(ctx, h, exp, "GF", false); err != nil || first {
			t.Fatalf("use after an early mark: %v %v, want a replay", first, err)
		}
		// Taken back (the signatures failed): the challenge is new again, once.
		if err := em.Unmark(ctx, h); err != nil {
			t.Fatal(err)
		}
		wait, _ = em.MarkEarly(h, exp, "GF", false)
		if first, err := wait(); err != nil || !first {
			t.Fatalf("early mark after Unmark: %v %v", first, err)
		}
		if first, err := s.UseChallenge(ctx, h, exp, "GF", false); err != nil || first {
			t.Fatalf("use after the second early mark: %v %v, want a replay", first, err)
		}
	})
	t.Run("expired marks are pruned", func(t *testing.T) {
		s := open(t)
		old := sha256.Sum256([]byte("old"))
		if _, err := s.UseChallenge(ctx, old, time.Now().Add(-time.Hour), "GD", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseChallenge(ctx, sha256.Sum256([]byte("new")), exp, "GD", false); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PruneChallenges(ctx, time.Now()); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
	})
}
