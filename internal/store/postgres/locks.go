package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Work that must run on one replica at a time holds a PostgreSQL session advisory lock, on a
// connection kept for it: when the replica dies, its connection closes and PostgreSQL frees the
// lock at once, so another replica takes the work over at its next try.

// Lock spaces (the first key of the two-key advisory locks).
const (
	leaseSpace  = 0x616e63 // "anc": workers' leases
	sourceSpace = 0x736571 // "seq": on-chain source accounts
)

// leaseCheck is how often a holder checks that its lease's connection is alive.
const leaseCheck = 2 * time.Second

// hold acquires a connection for a session lock from the pool kept for them (Store.locks),
// whose connections have keepalives short enough that the server frees the lock of a replica
// cut off by the network within seconds.
func (s *Store) hold(ctx context.Context) (*pgxpool.Conn, error) {
	return s.locks.Acquire(ctx)
}

// unlock frees a session lock and returns its connection to the pool (or closes it when it
// cannot be trusted any more).
func unlock(conn *pgxpool.Conn, space int32, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", space, key); err != nil {
		conn.Conn().Close(ctx) // the pool drops a closed connection
	}
	conn.Release()
}

// TryLease takes the named lease if no replica holds it. held ends when the lease is lost (its
// connection failed: the database went away, or this replica was cut off) or release is
// called; release must be called once either way.
func (s *Store) TryLease(ctx context.Context, name string) (held context.Context, release func(), ok bool, err error) {
	conn, err := s.hold(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", leaseSpace, name).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, nil, false, err
	}
	held, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(leaseCheck)
		defer t.Stop()
		for {
			select {
			case <-held.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(context.Background(), leaseCheck)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	return held, func() {
		cancel()
		<-watched
		unlock(conn, leaseSpace, name)
	}, true, nil
}

// LockSource implements treasury.Locker: it waits until no other replica builds or submits a
// transaction from account, and holds that until unlock.
func (s *Store) LockSource(ctx context.Context, account string) (func(), error) {
	conn, err := s.hold(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", sourceSpace, account); err != nil {
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, fmt.Errorf("lock source account %s: %w", account, err)
	}
	return func() { unlock(conn, sourceSpace, account) }, nil
}
