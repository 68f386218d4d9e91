package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
)

// openGroupTest opens a store of conns connections on a fresh database with a table of its own.
func openGroupTest(t *testing.T, conns int) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t)+fmt.Sprintf("&pool_max_conns=%d", conns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close waits for every connection to come back: one never given back is a failure,
		// not a hang.
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Error("the store did not close in 10 s: a connection was never given back to the pool")
		}
	})
	_, err = s.pool.Exec(ctx, `CREATE TABLE group_test (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0));
		INSERT INTO group_test VALUES (0, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Updates that wait for a connection together run in one transaction, one after the other:
// each sees the writes of those before it, none is lost, and every acknowledged one is there.
func TestGroupedUpdatesAreSerial(t *testing.T) {
	s := openGroupTest(t, 2)
	ctx := context.Background()
	const workers, each = 48, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.update(ctx, func(b base) error {
					var n int
					if err := b.queryRow("SELECT n FROM group_test WHERE id = 0").Scan(&n); err != nil {
						return err
					}
					if err := b.exec("UPDATE group_test SET n = $1 WHERE id = 0", n+1); err != nil {
						return err
					}
					return b.exec("INSERT INTO group_test VALUES ($1, 0)", 1+w*each+i)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n, rows int
	if err := s.pool.QueryRow(ctx, "SELECT (SELECT n FROM group_test WHERE id = 0), count(*) - 1 FROM group_test").Scan(&n, &rows); err != nil {
		t.Fatal(err)
	}
	if n != workers*each || rows != workers*each {
		t.Fatalf("counter %d and %d rows after %d acknowledged updates", n, rows, workers*each)
	}
	if s.group.grouped.Load() == 0 {
		t.Fatal("no update ran in a group: the test did not exercise grouping")
	}
	t.Logf("%d of %d updates committed in groups", s.group.grouped.Load(), workers*each)
	if st := s.Stats(); st.Max != 2 || st.Grouped != s.group.grouped.Load() || st.Alone+st.Grouped+st.Rerun < workers*each || st.Acquires < 1 {
		t.Fatalf("stats %+v after %d updates on 2 connections", st, workers*each)
	}
}

type groupResult struct {
	err      error
	panicked any
}

// inOneGroup runs fns as updates waiting together for the only connection of s (they then run
// as one group, in the order of their names) and returns what each update returned, or its
// panic.
func inOneGroup(t *testing.T, s *Store, fns map[string]func(b base) error) map[string]groupResult {
	t.Helper()
	ctx := context.Background()
	hold, holding, held := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(held)
		_ = s.update(ctx, func(b base) error {
			close(holding)
			<-hold
			return nil
		})
	}()
	<-holding
	type named struct {
		name string
		groupResult
	}
	results := make(chan named, len(fns))
	for i, name := range slices.Sorted(maps.Keys(fns)) {
		go func() {
			r := named{name: name}
			defer func() {
				r.panicked = recover()
				results <- r
			}()
			r.err = s.update(ctx, fns[name])
		}()
		// One at a time, so that the group runs them in the order of their names.
		for deadline := time.Now().Add(10 * time.Second); ; {
			s.group.mu.Lock()
			n := len(s.group.waiting)
			s.group.mu.Unlock()
			if n == i+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d updates waiting, want %d", n, i+1)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(hold)
	<-held
	got := map[string]groupResult{}
	for range fns {
		r := <-results
		got[r.name] = r.groupResult
	}
	return got
}

// wantGroupTestIDs fails the test unless the table holds exactly the rows want lists: those of
// the updates that succeeded.
func wantGroupTestIDs(t *testing.T, s *Store, want string) {
	t.Helper()
	if ids := groupTestIDs(t, s); ids != want {
		t.Fatalf("rows %v, want %v: only the updates that succeeded are stored", ids, want)
	}
}

func wantCommitted(t *testing.T, got map[string]groupResult, name string) {
	t.Helper()
	if r := got[name]; r.err != nil || r.panicked != nil {
		t.Errorf("%s: %v, %v", name, r.err, r.panicked)
	}
}

func groupTestIDs(t *testing.T, s *Store) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "SELECT id FROM group_test ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return fmt.Sprint(ids)
}

// insertGroupTest is an update that adds the row id.
func insertGroupTest(id int) func(b base) error {
	return func(b base) error { return b.exec("INSERT INTO group_test VALUES ($1, $1)", id) }
}

// In one group, an update that fails leaves with its own error, and nothing of it is stored:
// before sending anything (its queued writes are dropped, the group goes on and commits), or
// after its writes reached the server (the group is rolled back, and its updates run alone).
func TestGroupMembersFailAlone(t *testing.T) {
	s := openGroupTest(t, 1)
	errBusiness := errors.New("customer not found")
	read := func(b base) error {
		var n int
		return b.queryRow("SELECT n FROM group_test WHERE id = 0").Scan(&n)
	}
	got := inOneGroup(t, s, map[string]func(b base) error{
		"reads then fails": func(b base) error {
			if err := read(b); err != nil {
				return err
			}
			return errBusiness
		},
		"queues then fails": func(b base) error {
			if err := insertGroupTest(5)(b); err != nil {
				return err
			}
			return errBusiness
		},
		"commits": insertGroupTest(1),
	})
	for name, r := range got {
		if want := name != "commits"; errors.Is(r.err, errBusiness) != want || r.panicked != nil || (!want && r.err != nil) {
			t.Errorf("%s: %v, %v", name, r.err, r.panicked)
		}
	}
	wantGroupTestIDs(t, s, "[0 1]")
	if s.group.grouped.Load() != 1 {
		t.Fatalf("%d updates committed in a group, want 1 (the group went on without the failed ones)", s.group.grouped.Load())
	}

	got = inOneGroup(t, s, map[string]func(b base) error{
		"sends then fails": func(b base) error {
			if err := insertGroupTest(4)(b); err != nil {
				return err
			}
			if err := read(b); err != nil {
				return err
			}
			return errBusiness
		},
		"commits": insertGroupTest(2),
	})
	if r := got["sends then fails"]; !errors.Is(r.err, errBusiness) || r.panicked != nil {
		t.Errorf("sends then fails: %v, %v", r.err, r.panicked)
	}
	wantCommitted(t, got, "commits")
	wantGroupTestIDs(t, s, "[0 1 2]")
}

// An update whose write the database refuses, or that panics, rolls its group back; each then
// runs alone: the refused one gets the database's error, the panicking one panics in its own
// caller, and the others commit.
func TestGroupFailsAndRunsAlone(t *testing.T) {
	s := openGroupTest(t, 1)
	got := inOneGroup(t, s, map[string]func(b base) error{
		"refused": func(b base) error { return b.exec("INSERT INTO group_test VALUES (2, -1)") },
		"panics": func(b base) error {
			if err := b.exec("INSERT INTO group_test VALUES (3, 3)"); err != nil {
				return err
			}
			panic("boom")
		},
		"commits": func(b base) error { return b.exec("INSERT INTO group_test VALUES (1, 1)") },
	})
	wantCommitted(t, got, "commits")
	var pg *pgconn.PgError
	if r := got["refused"]; !errors.As(r.err, &pg) || pg.Code != "23514" {
		t.Errorf("refused: %v, want a check violation", r.err)
	}
	if r := got["panics"]; r.panicked == nil || !strings.Contains(fmt.Sprint(r.panicked), "boom") {
		t.Errorf("panics: %v, %v; want its own panic", r.err, r.panicked)
	}
	wantGroupTestIDs(t, s, "[0 1]")
}

// A COMMIT that gets no answer may have committed: its group's updates get the error of a lost
// database, as an update alone would, and none runs again (which could apply it twice).
func TestGroupCommitWithoutAnswerIsNotRunAgain(t *testing.T) {
	s := openGroupTest(t, 1)
	got := inOneGroup(t, s, map[string]func(b base) error{
		"commits": insertGroupTest(1),
		// Sent with the COMMIT, in the same round trip: the connection ends before its answer.
		"loses the connection": func(b base) error { return b.exec("SELECT pg_terminate_backend(pg_backend_pid())") },
	})
	for name, r := range got {
		if !errors.Is(r.err, store.ErrUnavailable) || r.panicked != nil {
			t.Errorf("%s: %v, %v; want the database unavailable", name, r.err, r.panicked)
		}
	}
	wantGroupTestIDs(t, s, "[0]")
	if err := s.update(context.Background(), insertGroupTest(2)); err != nil {
		t.Fatalf("after a lost connection: %v", err)
	}
	wantGroupTestIDs(t, s, "[0 2]")
}

// An update that failed in a group on what an earlier update of it wrote is not answered from a
// group that did not commit: it runs again alone, on what was committed.
func TestGroupLeaverRunsAgainWhenTheGroupFails(t *testing.T) {
	s := openGroupTest(t, 1)
	errAgain, errExists := errors.New("second run refused"), errors.New("row 7 exists")
	var runs atomic.Int32
	got := inOneGroup(t, s, map[string]func(b base) error{
		// Writes row 7 in the group; refuses when run again alone.
		"1 a": func(b base) error {
			if runs.Add(1) > 1 {
				return errAgain
			}
			return insertGroupTest(7)(b)
		},
		// Fails when it sees row 7, else writes row 8.
		"2 b": func(b base) error {
			var n int
			if err := b.queryRow("SELECT count(*) FROM group_test WHERE id = 7").Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errExists
			}
			return insertGroupTest(8)(b)
		},
		"3 refused": func(b base) error { return b.exec("INSERT INTO group_test VALUES (2, -1)") },
	})
	if r := got["1 a"]; !errors.Is(r.err, errAgain) {
		t.Errorf("a: %v, want its second run's error", r.err)
	}
	wantCommitted(t, got, "2 b")
	wantGroupTestIDs(t, s, "[0 8]")
	if st := s.Stats(); st.Rerun != 3 || st.Grouped != 0 {
		t.Fatalf("stats %+v: want the group's 3 updates run again, none committed in a group", st)
	}
}

// An update that panics alone, on the connection it waited for, gives the connection back: the
// pool (of one here) still serves the next update.
func TestUpdatePanicKeepsTheConnection(t *testing.T) {
	s := openGroupTest(t, 1)
	func() {
		defer func() {
			if p := recover(); p == nil {
				t.Fatal("the update did not panic")
			}
		}()
		_ = s.update(context.Background(), func(b base) error {
			if err := insertGroupTest(3)(b); err != nil {
				return err
			}
			var n int
			if err := b.queryRow("SELECT n FROM group_test WHERE id = 0").Scan(&n); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// A connection given back inside a transaction is closed in the background.
	for deadline := time.Now().Add(5 * time.Second); s.pool.Stat().AcquiredConns() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection(s) still taken after the panic", s.pool.Stat().AcquiredConns())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.update(ctx, insertGroupTest(1)); err != nil {
		t.Fatalf("the next update: %v", err)
	}
	wantGroupTestIDs(t, s, "[0 1]")
}

// panicValue panics when pgx encodes it, which it does when the queued write that holds it is
// sent: with the group's COMMIT, outside any update's function.
type panicValue struct{}

func (panicValue) Value() (driver.Value, error) { panic("encoder bug") }

// A panic of the group's own work (here sending its COMMIT) leaves its outcome unknown: the
// goroutine that ran the group panics, every other update of the group gets the error of a lost
// database (none runs again, which could apply it twice, and none waits forever), and the
// connection is closed rather than given back mid-transaction.
func TestGroupPanicOutsideAnUpdate(t *testing.T) {
	s := openGroupTest(t, 1)
	got := inOneGroup(t, s, map[string]func(b base) error{
		"1": insertGroupTest(1),
		"2": func(b base) error { return b.exec("UPDATE group_test SET n = $1 WHERE id = 0", panicValue{}) },
		"3": insertGroupTest(3),
	})
	panics := 0
	for name, r := range got {
		switch {
		case r.panicked != nil:
			panics++
		case !errors.Is(r.err, store.ErrUnavailable):
			t.Errorf("%s: %v; want the database unavailable", name, r.err)
		}
	}
	if panics != 1 {
		t.Errorf("%d updates panicked, want the one that ran the group", panics)
	}
	wantGroupTestIDs(t, s, "[0]") // the COMMIT was never sent
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.update(ctx, insertGroupTest(4)); err != nil {
		t.Fatalf("the next update: %v", err)
	}
	wantGroupTestIDs(t, s, "[0 4]")
}
