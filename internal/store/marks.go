package store

import (
	"bytes"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Used SEP-10 challenges are marked in memory at once and written to bbolt by a background
// flusher every markFlushEvery, so that a token does not wait for its own fsync (at 1 or 2
// clients that wait was most of a SEP-10 round). A crash can lose the marks of the last few
// milliseconds; so the store records, durably, that it is open, and an open that finds the
// record of an earlier one still there (an unclean stop) refuses every challenge issued before
// it (IssuedNotBefore): a challenge whose mark may have been lost can never be exchanged again.

// markFlushEvery: each flush is a bbolt commit (two fdatasyncs) however few marks it holds; at
// 10 ms the flusher cost a SEP-10 round at 64 clients 23 µs of CPU, at 50 ms 7 µs. What a crash
// can lose grows with it, and the unclean-start refusal covers it whatever its length.
const markFlushEvery = 50 * time.Millisecond

var keyOpen = []byte("open") // in meta while a process has the store open

type pendingMark struct {
	key, val []byte
	account  string
	mode     byte
}

type marks struct {
	mu      sync.Mutex
	hashes  map[string]bool // challenge keys marked but maybe not yet on disk
	modes   map[string]byte // account modes likewise
	pending []pendingMark
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
	// notBefore: challenges issued before it are refused (zero after a clean stop).
	notBefore time.Time
}

func newMarks() *marks {
	return &marks{hashes: map[string]bool{}, modes: map[string]byte{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// startMarks records that the store is open (learning whether the last stop was clean) and
// starts the flusher.
func (s *Bolt) startMarks() error {
	s.marks = newMarks()
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyOpen) != nil {
			// Challenge times are whole seconds: the next whole second, so that a challenge
			// issued in this second by the process that stopped is refused too (one issued in
			// the first second after this start is refused as well; the wallet asks again).
			s.marks.notBefore = time.Now().Truncate(time.Second).Add(time.Second)
		}
		return meta.Put(keyOpen, []byte{1})
	})
	if err != nil {
		return err
	}
	go s.flushLoop()
	return nil
}

// stopMarks writes the last marks and records a clean stop.
func (s *Bolt) stopMarks() error {
	if s.marks == nil {
		return nil
	}
	var err error
	s.marks.closed.Do(func() {
		close(s.marks.stop)
		<-s.marks.done
		if err = s.flushMarks(); err == nil {
			err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyOpen) })
		}
	})
	return err
}

// IssuedNotBefore implements ChallengeStore: after an unclean stop, the time of this open.
func (s *Bolt) IssuedNotBefore() time.Time { return s.marks.notBefore }

func (s *Bolt) flushLoop() {
	defer close(s.marks.done)
	t := time.NewTicker(markFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.marks.stop:
			return
		case <-t.C:
			_ = s.flushMarks() // a failed flush keeps the marks pending and is retried
		}
	}
}

// flushMarks writes the pending marks in one transaction; only then do they leave memory.
func (s *Bolt) flushMarks() error {
	m := s.marks
	m.mu.Lock()
	batch := m.pending
	m.pending = nil
	m.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, modes := tx.Bucket(bucketChallenges), tx.Bucket(bucketAccountModes)
		for _, p := range batch {
			if err := b.Put(p.key, p.val); err != nil {
				return err
			}
			if modes.Get([]byte(p.account)) == nil {
				if err := modes.Put([]byte(p.account), []byte{p.mode}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.pending = append(batch, m.pending...)
		return err
	}
	for _, p := range batch {
		delete(m.hashes, string(p.key))
		if m.modes[p.account] == p.mode {
			delete(m.modes, p.account)
		}
	}
	return nil
}

// useMark is UseChallenge's decision, under the marks' lock: the memory and the disk are
// consulted together, so a mark is never absent from both while it is being written.
func (s *Bolt) useMark(key, val []byte, account string, mode byte) (bool, error) {
	m := s.marks
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hashes[string(key)] {
		return false, nil
	}
	var onDisk bool
	var diskMode []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		onDisk = tx.Bucket(bucketChallenges).Get(key) != nil
		diskMode = bytes.Clone(tx.Bucket(bucketAccountModes).Get([]byte(account)))
		return nil
	}); err != nil {
		return false, err
	}
	if onDisk {
		return false, nil
	}
	if pm, ok := m.modes[account]; ok && pm != mode {
		return false, ErrSharedMismatch
	}
	if diskMode != nil && diskMode[0] != mode {
		return false, ErrSharedMismatch
	}
	m.hashes[string(key)] = true
	if diskMode == nil {
		m.modes[account] = mode
	}
	m.pending = append(m.pending, pendingMark{key: key, val: val, account: account, mode: mode})
	return true, nil
}
