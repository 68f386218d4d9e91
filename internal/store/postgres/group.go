package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/anchorkit/anchor/internal/store"
)

// Group commit. Updates that wait for a connection at the same moment run together, one
// after the other, in one serializable transaction on the first connection any of them gets,
// as bbolt's batches share one commit. Per update that saves a round trip (its read travels
// with the previous update's writes), the BEGIN and the COMMIT, and the wake-ups of a server
// process: on this project's 2-core machine PostgreSQL's own CPU per PUT /customer fell by
// about 40% in batches of 4 to 8 (pgbench, docs/benchmarks.md). An update that finds a
// connection free runs alone, as before, so a quiet server waits for nothing.
//
// Each update is acknowledged only by the COMMIT that holds it. An update whose function fails
// before anything of its own reached the server leaves the group, with its error, as it would
// have failed alone after the updates before it; if the group then does not commit, it runs
// again alone, since its error may rest on their writes. Anything else that goes wrong before
// the COMMIT is answered — a statement refused, the transaction aborted for a conflict, a
// COMMIT refused, an update's panic — rolls the group back, and each of its updates then runs
// alone, with its own retries (the services' update functions may run again, as under bbolt).
// A COMMIT that gets no answer (the connection lost) may have committed: its updates get the
// error, as an update alone would, and none runs again. So do the updates of a group whose own
// work (sending its statements) panicked; its connection is closed.

// maxGroup bounds the updates of one transaction.
const maxGroup = 8

// groupTimeout bounds a group's transaction, which no single request's end cancels.
const groupTimeout = 30 * time.Second

type groupReq struct {
	fn    func(b base) error
	err   error
	alone bool // the group did not commit: run fn alone
	left  bool // fn failed in the group, with err, before anything of its own reached the server
	taken bool // a connection holder took it (under group.mu)
	// stop ends the owner's wait for a connection once another holder took the update.
	stop context.CancelFunc
	done chan struct{}
}

type group struct {
	mu      sync.Mutex
	waiting []*groupReq
	// alone counts the updates that found a connection free and ran alone; grouped those
	// committed in groups of two or more; rerun those run again alone after their group did
	// not commit (Stats).
	alone, grouped, rerun atomic.Int64
}

// update runs fn in a serializable read-write transaction, alone or in a group (above), again
// while it conflicts.
func (s *Store) update(ctx context.Context, fn func(b base) error) error {
	actx, stop := context.WithCancel(ctx)
	defer stop()
	r := &groupReq{fn: fn, stop: stop, done: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.waiting = append(g.waiting, r)
	g.mu.Unlock()

	c, err := s.pool.Acquire(actx)
	g.mu.Lock()
	if r.taken {
		g.mu.Unlock()
		if err == nil {
			c.Release()
		}
	} else {
		g.waiting = slices.DeleteFunc(g.waiting, func(w *groupReq) bool { return w == r })
		if err != nil {
			g.mu.Unlock()
			return classify(err)
		}
		n := min(len(g.waiting), maxGroup-1)
		batch := append([]*groupReq{r}, g.waiting[:n]...)
		g.waiting = slices.Delete(g.waiting, 0, n)
		for _, w := range batch[1:] {
			w.taken = true
			w.stop()
		}
		g.mu.Unlock()
		if len(batch) == 1 {
			g.alone.Add(1)
			return s.updateAlone(ctx, c, fn)
		}
		// The group's work is not the leader's alone: its request ending must not cut it.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupTimeout)
		s.runGroup(gctx, c, batch)
		cancel()
	}
	<-r.done
	if r.alone {
		g.rerun.Add(1)
		return s.updateAlone(ctx, nil, fn)
	}
	return r.err
}

// runGroup runs the updates of batch in one transaction on c, releases c, and ends each
// update's wait: with its result, or told to run alone.
func (s *Store) runGroup(ctx context.Context, c *pgxpool.Conn, batch []*groupReq) {
	answered := false
	defer func() {
		if answered {
			return
		}
		// A panic of the group's own work (callGroup catches the updates'): its transaction's
		// outcome is unknown, since its COMMIT may have been sent. The connection is closed,
		// which rolls back a transaction still open, and each update gets the error of a lost
		// database, as for a COMMIT without an answer; none runs again, and none waits forever.
		p := recover()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.Conn().Close(cctx)
		cancel()
		c.Release()
		for _, r := range batch {
			r.alone, r.err = false, fmt.Errorf("%w: the group's transaction failed; it may have committed", store.ErrUnavailable)
			close(r.done)
		}
		panic(p)
	}()
	st := &txState{pending: []queued{{sql: "BEGIN ISOLATION LEVEL SERIALIZABLE"}}}
	b := base{ctx, c, st}
	var in []*groupReq // the updates whose statements the transaction holds
	failed := false
	for _, r := range batch {
		st.fnMark, st.fnSent, st.prefetched = len(st.pending), false, nil
		err, panicked := callGroup(r.fn, b)
		if err == nil {
			in = append(in, r)
			continue
		}
		if panicked || st.fnSent || (st.sent && c.Conn().PgConn().TxStatus() != 'T') {
			failed = true
			break
		}
		// Nothing of r reached the server, and the transaction is sound: r leaves the group
		// with its error, as it would have failed alone after the updates before it.
		st.pending = st.pending[:st.fnMark]
		r.err, r.left = err, true
	}
	// unknown is a COMMIT that got no answer (the connection lost): it may have committed, so
	// its updates get the error and are not run again.
	var unknown error
	if !failed && len(in) > 0 {
		st.pending = append(st.pending, queued{sql: "COMMIT"})
		if err := b.flush(); err != nil {
			var pg *pgconn.PgError
			if errors.As(err, &pg) && !lost(err) {
				failed = true // refused: nothing was committed
			} else {
				unknown = classify(err)
			}
		}
	}
	if (failed || unknown != nil || len(in) == 0) && st.sent {
		rollback(c)
	}
	committed := !failed && unknown == nil // or nothing to commit
	if committed {
		s.group.grouped.Add(int64(len(in)))
	}
	c.Release()
	answered = true
	for _, r := range batch {
		switch {
		case r.left && !committed:
			// Its error may rest on writes of the group that did not commit; it wrote
			// nothing, so running it again alone is safe.
			r.alone, r.err = true, nil
		case !r.left:
			r.alone, r.err = failed, unknown
		}
		close(r.done)
	}
}

// callGroup calls fn, catching a panic: the group then runs each update alone, where a
// panicking one panics in its own request.
func callGroup(fn func(b base) error, b base) (err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			err, panicked = fmt.Errorf("postgres: update panicked: %v", p), true
		}
	}()
	return fn(b), false
}

// Stats is what the store reports about its request connections and its group commit, for
// the metrics (counters since the store opened).
type Stats struct {
	InUse, Idle, Max      int32
	Acquires              int64
	AcquireWait           time.Duration
	Alone, Grouped, Rerun int64
}

// Stats returns the request pool's state and the group commit's counts.
func (s *Store) Stats() Stats {
	p := s.pool.Stat()
	return Stats{InUse: p.AcquiredConns(), Idle: p.IdleConns(), Max: p.MaxConns(),
		Acquires: p.AcquireCount(), AcquireWait: p.AcquireDuration(),
		Alone: s.group.alone.Load(), Grouped: s.group.grouped.Load(), Rerun: s.group.rerun.Load()}
}
