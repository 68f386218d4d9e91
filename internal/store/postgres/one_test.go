package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/anchorkit/anchor/internal/store/pgtest"
)

// openTest opens a store on a fresh database, closed when the test ends.
func openTest(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(context.Background(), pgtest.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestOneStatementOutsideATransaction: Store.one sends its statement without BEGIN (PostgreSQL's
// default isolation, not view's), and refuses a second one, which would read another snapshot.
func TestOneStatementOutsideATransaction(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	isolation := func(run func(context.Context, func(base) error) error) (string, error) {
		var level string
		err := run(ctx, func(b base) error {
			return b.queryRow("SELECT current_setting('transaction_isolation')").Scan(&level)
		})
		return level, err
	}
	if level, err := isolation(s.one); err != nil || level != "read committed" {
		t.Errorf("one: isolation %q, %v; want read committed (no BEGIN)", level, err)
	}
	if level, err := isolation(s.view); err != nil || level != "repeatable read" {
		t.Errorf("view: isolation %q, %v; want repeatable read", level, err)
	}
	second := map[string]func(b base) error{
		"row then row": func(b base) error {
			var n int
			if err := b.queryRow("SELECT 1").Scan(&n); err != nil {
				return err
			}
			return b.queryRow("SELECT 2").Scan(&n)
		},
		"rows then row": func(b base) error {
			rows, err := b.query("SELECT generate_series(1, 3)")
			if err != nil {
				return err
			}
			rows.Close()
			var n int
			return b.queryRow("SELECT 2").Scan(&n)
		},
		"row then rows": func(b base) error {
			var n int
			if err := b.queryRow("SELECT 1").Scan(&n); err != nil {
				return err
			}
			rows, err := b.query("SELECT generate_series(1, 3)")
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		},
	}
	for name, fn := range second {
		if err := s.one(ctx, fn); !errors.Is(err, errSecondStatement) {
			t.Errorf("%s: %v, want %v", name, err, errSecondStatement)
		}
		if err := s.view(ctx, fn); err != nil {
			t.Errorf("%s in a view: %v", name, err)
		}
	}
	// The connection is usable after a refusal (nothing was left open on it).
	var n int
	if err := s.one(ctx, func(b base) error { return b.queryRow("SELECT 7").Scan(&n) }); err != nil || n != 7 {
		t.Errorf("after refusals: %d, %v", n, err)
	}
}
