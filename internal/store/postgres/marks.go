package postgres

import (
	"context"
	"sync"
	"time"
)

// markGroup sends the SEP-10 marks that arrive together as one statement: the caller that finds
// no statement running sends every mark waiting (its own and those that came meanwhile), then
// hands the turn to one of those that came while it was sending, who sends the next group; each
// caller gets its own answer. Alone, a mark is sent at once (no delay is added to wait for
// company); under load one statement carries many, so PostgreSQL parses, plans and commits
// once for them all, and no caller sends more than one statement.
type markGroup struct {
	mu      sync.Mutex
	waiting []*markReq
	sending bool
}

type markReq struct {
	hash    []byte
	expires time.Time
	done    chan markResult // buffered: the sender never blocks
	turn    chan struct{}   // buffered: this caller sends the next group
}

type markResult struct {
	first bool
	err   error
}

// markTimeout bounds one statement of marks: a caller waits for its group's statement (not for
// its own context, which could leave the turn with nobody), at most this long.
const markTimeout = 10 * time.Second

// mark records a challenge's hash and says whether this was its first use.
func (s *Store) mark(hash []byte, expires time.Time) (bool, error) {
	g := &s.markGroup
	req := &markReq{hash: hash, expires: expires, done: make(chan markResult, 1), turn: make(chan struct{}, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, req)
	if !g.sending {
		g.sending = true
		req.turn <- struct{}{}
	}
	g.mu.Unlock()
	for {
		select {
		case r := <-req.done:
			return r.first, r.err
		case <-req.turn:
			s.sendMarks()
		}
	}
}

// sendMarks sends the waiting marks in one statement, answers each, and gives the turn to the
// first of those that came meanwhile.
func (s *Store) sendMarks() {
	g := &s.markGroup
	g.mu.Lock()
	batch := g.waiting
	g.waiting = nil
	g.mu.Unlock()
	hashes := make([][]byte, len(batch))
	expires := make([]time.Time, len(batch))
	for i, r := range batch {
		hashes[i], expires[i] = r.hash, r.expires
	}
	inserted := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
	rows, err := s.marks.Query(ctx, `INSERT INTO used_challenges (hash, expires)
		SELECT * FROM unnest($1::bytea[], $2::timestamptz[]) ON CONFLICT (hash) DO NOTHING RETURNING hash`, hashes, expires)
	if err == nil {
		for rows.Next() {
			var h []byte
			if err = rows.Scan(&h); err != nil {
				break
			}
			inserted[string(h)] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	cancel()
	err = classify(err)
	for _, r := range batch {
		// A hash twice in one statement (a replay racing its first use) is inserted once: the
		// first of them is its first use.
		first := err == nil && inserted[string(r.hash)]
		delete(inserted, string(r.hash))
		r.done <- markResult{first, err}
	}
	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].turn <- struct{}{}
	} else {
		g.sending = false
	}
	g.mu.Unlock()
}
