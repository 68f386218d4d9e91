package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openCommitTest(t *testing.T) *committer {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "commit.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return &committer{db: db}
}

func put(key string, v uint64) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("b")).Put([]byte(key), binary.BigEndian.AppendUint64(nil, v))
	}
}

func get(t *testing.T, c *committer, key string) (uint64, bool) {
	t.Helper()
	var v []byte
	if err := c.db.View(func(tx *bolt.Tx) error {
		v = tx.Bucket([]byte("b")).Get([]byte(key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// Concurrent read-increment-write updates lose nothing, and those that came while a commit
// was under way shared the next one.
func TestCommitterGroupsConcurrentWrites(t *testing.T) {
	c := openCommitTest(t)
	const writers, each = 32, 50
	var mu sync.Mutex
	txs := map[int]bool{} // the transactions that committed increments
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := c.update(func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("b"))
					var n uint64
					if v := b.Get([]byte("n")); v != nil {
						n = binary.BigEndian.Uint64(v)
					}
					mu.Lock()
					txs[tx.ID()] = true
					mu.Unlock()
					return b.Put([]byte("n"), binary.BigEndian.AppendUint64(nil, n+1))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := get(t, c, "n"); n != writers*each {
		t.Fatalf("n = %d, want %d", n, writers*each)
	}
	if len(txs) >= writers*each {
		t.Fatalf("%d writes in %d commits: none shared a commit", writers*each, len(txs))
	}
	if c.busy || len(c.queue) != 0 {
		t.Fatalf("idle committer busy=%v with %d queued", c.busy, len(c.queue))
	}
}

// inOneGroup runs fns as writes queued while a commit is under way, so that they commit as one
// group (in the order given), and returns each one's error or panic.
func inOneGroup(t *testing.T, c *committer, fns ...func(*bolt.Tx) error) []any {
	t.Helper()
	hold, holding := make(chan struct{}), make(chan struct{})
	held := make(chan error)
	go func() {
		held <- c.update(func(*bolt.Tx) error {
			close(holding)
			<-hold
			return nil
		})
	}()
	<-holding
	out := make([]any, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					out[i] = fmt.Sprint("panic: ", p)
				}
			}()
			out[i] = c.update(fn)
		}()
		for queued := false; !queued; { // one at a time, in order
			c.mu.Lock()
			queued = len(c.queue) == i+1
			c.mu.Unlock()
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(hold)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return out
}

// In a group, a write that fails or panics leaves it: the others commit, and it runs again
// alone, where its error or panic is its own and nothing of it is stored.
func TestCommitterFailingWriteRunsAlone(t *testing.T) {
	c := openCommitTest(t)
	errRefused := errors.New("refused")
	runs := map[string]int{}
	var mu sync.Mutex
	count := func(name string) {
		mu.Lock()
		runs[name]++
		mu.Unlock()
	}
	got := inOneGroup(t, c,
		put("a", 1),
		func(tx *bolt.Tx) error {
			count("fails")
			if err := put("f", 1)(tx); err != nil {
				return err
			}
			return errRefused
		},
		func(tx *bolt.Tx) error {
			count("panics")
			if err := put("p", 1)(tx); err != nil {
				return err
			}
			panic("boom")
		},
		put("b", 2),
	)
	if got[0] != nil || got[3] != nil {
		t.Fatalf("the group's other writes: %v, %v", got[0], got[3])
	}
	if got[1] != errRefused {
		t.Fatalf("failing write: %v, want its own error", got[1])
	}
	if got[2] != "panic: boom" {
		t.Fatalf("panicking write: %v, want its panic in its own goroutine", got[2])
	}
	for key, want := range map[string]bool{"a": true, "b": true, "f": false, "p": false} {
		if _, ok := get(t, c, key); ok != want {
			t.Errorf("key %s stored = %v, want %v", key, ok, want)
		}
	}
	if runs["fails"] != 2 || runs["panics"] != 2 {
		t.Fatalf("runs %v: want each failing write run in the group, then alone", runs)
	}
}
