package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/anchorkit/anchor/internal/store"
)

// Transactions. Every update runs SERIALIZABLE: whatever replicas run at once, the result is
// that of some order of them, as with bbolt's single writer. A transaction PostgreSQL aborts for
// a conflict is run again (the services' update functions may be re-run, as bbolt batches
// them); anything else, including a connection lost during the commit, is returned, so nothing
// is acknowledged that was not committed.

// maxAttempts bounds the re-runs of one update under conflicts.
const maxAttempts = 40

// retryable says whether PostgreSQL refused a transaction only because of another one: a
// serialization failure, a deadlock, or a unique key another transaction took first (the re-run
// sees it).
func retryable(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return false
	}
	switch pg.Code {
	case "40001", "40P01", "23505":
		return true
	}
	return false
}

// lost says whether err means the database could not be reached or lost the connection (as
// opposed to refusing what was asked): the request may be retried later.
func lost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" || pg.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// classify marks an error of a lost database as store.ErrUnavailable.
func classify(err error) error {
	if err != nil && lost(err) && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

// updateAlone runs fn in a serializable read-write transaction of its own, again while it
// conflicts. The first attempt runs on c when it is given (a connection update already holds;
// it is released), the others on connections of their own.
func (s *Store) updateAlone(ctx context.Context, c *pgxpool.Conn, fn func(b base) error) error {
	for attempt := 1; ; attempt++ {
		var err error
		if c != nil {
			err = func(c *pgxpool.Conn) error {
				defer c.Release() // also when fn panics: the pool must not lose it
				return runOn(ctx, c, "BEGIN ISOLATION LEVEL SERIALIZABLE", fn)
			}(c)
			c = nil
		} else {
			err = s.run(ctx, "BEGIN ISOLATION LEVEL SERIALIZABLE", fn)
		}
		err = classify(err)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		// Back off a little, at random, so that the conflicting transactions part.
		d := time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// view runs fn in a read-only snapshot (never aborted for conflicts).
func (s *Store) view(ctx context.Context, fn func(b base) error) error {
	return classify(s.run(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn))
}

// one runs fn, which reads with a single statement, outside a transaction: one statement sees
// one snapshot, so the BEGIN and the COMMIT (a round trip of its own) would add nothing. A second
// statement is refused: what needs two runs in view.
func (s *Store) one(ctx context.Context, fn func(b base) error) error {
	return classify(s.run(ctx, "", fn))
}

// run runs fn in a transaction on one connection (in none when begin is empty: see one).
// Statements whose result fn does not need (exec) are not sent at once: they go with the next
// read, or with the COMMIT, in one round trip (a pipeline), and so does the BEGIN; a transaction
// of a few reads and many writes costs a few round trips, not one per statement. An error of a
// queued statement surfaces at the next read or at the commit, and the transaction is then
// rolled back as a whole.
func (s *Store) run(ctx context.Context, begin string, fn func(b base) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return runOn(ctx, c, begin, fn)
}

// runOn is run on a connection the caller holds.
func runOn(ctx context.Context, c *pgxpool.Conn, begin string, fn func(b base) error) error {
	st := &txState{single: begin == ""}
	if !st.single {
		st.pending = append(st.pending, queued{sql: begin})
	}
	b := base{ctx, c, st}
	err := fn(b)
	if err == nil {
		if !st.single {
			st.pending = append(st.pending, queued{sql: "COMMIT"})
		}
		if err = b.flush(); err == nil {
			return nil
		}
	}
	if st.sent && !st.single {
		rollback(c)
	}
	return err
}

// rollback ends whatever state a transaction was left in (aborted, or ended by a failed
// COMMIT); a connection that cannot is closed, and the pool drops it.
func rollback(c *pgxpool.Conn) {
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(rctx, "ROLLBACK"); err != nil {
		c.Conn().Close(rctx)
	}
}

// base is one database transaction as the services' Tx interfaces see it (they take no
// context: the transaction's is kept here).
type base struct {
	ctx context.Context
	c   *pgxpool.Conn
	st  *txState
}

type txState struct {
	pending []queued
	sent    bool // something (the BEGIN first) reached the server
	single  bool // no transaction (Store.one): one statement only
	// prefetched holds customer records read with their keys (kycTx.CustomerID), by id.
	prefetched map[string][]byte
	// In a group of updates (group.go): fnMark is where the current update's queued
	// statements start in pending, and fnSent whether any of them reached the server.
	fnMark int
	fnSent bool
}

type queued struct {
	sql  string
	args []any
}

// exec queues a statement whose result is not needed (see run).
func (b base) exec(sql string, args ...any) error {
	b.st.pending = append(b.st.pending, queued{sql, args})
	return nil
}

// send sends the queued statements, and then query when it is set, in one batch, and returns
// the results positioned at query's.
func (b base) send(query string, args []any) (pgx.BatchResults, error) {
	if err := b.another(); err != nil {
		return nil, err
	}
	batch := &pgx.Batch{}
	for _, q := range b.st.pending {
		batch.Queue(q.sql, q.args...)
	}
	n := len(b.st.pending)
	if n > b.st.fnMark {
		b.st.fnSent = true
	}
	b.st.fnMark = 0
	b.st.pending = b.st.pending[:0]
	if query != "" {
		batch.Queue(query, args...)
	}
	b.st.sent = true
	br := b.c.SendBatch(b.ctx, batch)
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// errSecondStatement is a store method's mistake: Store.one runs a single statement.
var errSecondStatement = errors.New("postgres: a second statement outside a transaction")

// another refuses a second round trip outside a transaction, where it would see another snapshot.
func (b base) another() error {
	if b.st.single && b.st.sent {
		return errSecondStatement
	}
	return nil
}

// flush sends the queued statements.
func (b base) flush() error {
	if len(b.st.pending) == 0 {
		return nil
	}
	br, err := b.send("", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// queryRow runs a query of one row after the queued statements, in the same round trip.
func (b base) queryRow(sql string, args ...any) pgx.Row {
	br, err := b.send(sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br}
}

// execNow runs a statement whose result is needed (rows affected), after the queued ones.
func (b base) execNow(sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := b.send(sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// query runs a query of many rows once the queued statements are through.
func (b base) query(sql string, args ...any) (pgx.Rows, error) {
	if err := b.flush(); err != nil {
		return nil, err
	}
	if err := b.another(); err != nil {
		return nil, err
	}
	b.st.sent = true
	return b.c.Query(b.ctx, sql, args...)
}

type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// getJSON decodes the body the query returns into v: notFound when there is no row, an
// ErrCorrupt naming the record when it cannot be decoded (never "not found").
func (b base) getJSON(table, key string, v any, notFound error, sql string, args ...any) error {
	var raw []byte
	if err := b.queryRow(sql, args...).Scan(&raw); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound
		}
		return err
	}
	return decode(table, key, raw, v)
}

// text returns the single text column the query returns, or notFound.
func (b base) text(notFound error, sql string, args ...any) (string, error) {
	var s string
	err := b.queryRow(sql, args...).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound
	}
	return s, err
}

func decode(table, key string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s record %q: %v", store.ErrCorrupt, table, key, err)
	}
	return nil
}

// body is v's JSON as text (what a json column takes).
func body(v any) (string, error) {
	raw, err := json.Marshal(v)
	return string(raw), err
}

// listJSON decodes every row's first column (a body) into a new T each; the second column
// names the record in errors.
func listJSON[T any](b base, table string, sql string, args ...any) ([]*T, error) {
	rows, err := b.query(sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var raw []byte
		var key string
		if err := rows.Scan(&raw, &key); err != nil {
			return nil, err
		}
		v := new(T)
		if err := decode(table, key, raw, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ns is a time as the Unix nanoseconds the ordering columns hold (bbolt's keys likewise): zero
// and times before 1970 sort first.
func ns(t time.Time) int64 {
	n := t.UnixNano()
	if t.IsZero() || n < 0 {
		return 0
	}
	return n
}

// eachNewest calls fn with the records a keyset-paged query returns, newest first, until fn
// returns false. The query takes the page size as $1 and the last row's ordering columns as
// $2...; scan decodes a row into a record and those columns. Each page is read in its own
// statement and fn is called outside it, so a slow reader holds nothing open; the pages grow
// from 64 to 1,024 rows, so a page of 50 reads little.
func eachNewest[T any](ctx context.Context, s *Store, sql string, after []any, scan func(pgx.Rows) (T, []any, error), fn func(T) bool) error {
	return classify(eachPage(ctx, s, sql, after, scan, fn))
}

func eachPage[T any](ctx context.Context, s *Store, sql string, after []any, scan func(pgx.Rows) (T, []any, error), fn func(T) bool) error {
	for chunk := 64; ; chunk = min(2*chunk, 1024) {
		rows, err := s.pool.Query(ctx, sql, append([]any{chunk}, after...)...)
		if err != nil {
			return err
		}
		var batch []T
		for rows.Next() {
			v, cursor, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			batch, after = append(batch, v), cursor
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, v := range batch {
			if !fn(v) {
				return nil
			}
		}
		if len(batch) < chunk {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// idsWithPrefix returns up to limit ids of table that start with prefix, in order.
func (s *Store) idsWithPrefix(ctx context.Context, table, prefix string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT id FROM "+table+" WHERE starts_with(id, $1) ORDER BY id LIMIT $2", prefix, limit)
	if err != nil {
		return nil, classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, classify(err)
}
