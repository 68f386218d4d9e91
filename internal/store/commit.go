package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer runs the store's writes in groups that share one commit, as bbolt's Batch does,
// but without its timer. bbolt's Batch holds every write for MaxBatchDelay (2 ms here), so
// that a write alone waited 2 ms before its commit: at one client, 217–270 PUT /customer a
// second, p50 3.5–4.5 ms. Here a write that finds no commit under way commits at once; the
// writes that arrive during that commit (its fsyncs) wait, and the first of them then commits
// them all, up to maxGroupCalls, in the next. A busy server still shares each fsync among
// many writes; a quiet one waits for nothing.
//
// The failure rules are bbolt's: a write whose function fails (or panics) leaves the group,
// which commits without it, and runs again alone in its own goroutine, where its error (or
// panic) is its own. A write's function may so run more than once.
type committer struct {
	db *bolt.DB

	mu    sync.Mutex
	queue []*groupCall
	busy  bool // a writer is committing a group (it leads)
}

// maxGroupCalls bounds the writes of one commit (bbolt's MaxBatchSize).
const maxGroupCalls = 1000

type groupCall struct {
	fn func(*bolt.Tx) error
	// answer receives the write's outcome: nil or an error; errTrySolo (run alone); or
	// errLead (commit the queue, this write's group among it).
	answer chan error
}

var (
	errTrySolo = errors.New("store: run the write alone")
	errLead    = errors.New("store: commit the queued writes")
)

// update runs fn in a read-write transaction, committed (and synced) with the writes queued
// beside it.
func (c *committer) update(fn func(*bolt.Tx) error) error {
	call := &groupCall{fn: fn, answer: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if lead {
		c.commitQueued()
	}
	for {
		switch err := <-call.answer; err {
		case errLead:
			c.commitQueued()
		case errTrySolo:
			return c.db.Update(fn)
		default:
			return err
		}
	}
}

// commitQueued commits the queued writes (up to maxGroupCalls) as one group, then hands the
// writes queued meanwhile to the first of them, which commits them as the next group.
func (c *committer) commitQueued() {
	c.mu.Lock()
	n := min(len(c.queue), maxGroupCalls)
	calls := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.mu.Unlock()
	// Deferred, so that a panic of the commit itself (not of a write's function: those are
	// caught) still hands on the queue rather than leave it waiting for ever.
	defer c.handOn()
	c.commit(calls)
}

// handOn makes the first queued write lead the next group, or marks the committer idle.
func (c *committer) handOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.busy = false
		return
	}
	c.queue[0].answer <- errLead // it waits, queued, with nothing else sent to it
}

// commit runs calls in one transaction, answering each: bbolt's batch.run.
func (c *committer) commit(calls []*groupCall) {
	defer func() {
		if p := recover(); p != nil {
			// A panic of the commit itself (db.Update: the writes' own panics are caught), so
			// that no call of the group has been answered yet (those sent to run alone have
			// left calls): the group's outcome is unknown.
			for _, call := range calls {
				call.answer <- errors.New("store: the commit failed; it may have been written")
			}
			panic(p)
		}
	}()
	for len(calls) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, call := range calls {
				if err := safelyCall(call.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].answer <- errTrySolo
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		for _, call := range calls {
			call.answer <- err
		}
		return
	}
}

// safelyCall calls fn, turning its panic into an error (the write then runs again alone, where
// it panics in its own goroutine).
func safelyCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
