package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

// EnvBackend names the backend the tests that open a store use: "postgres", or bbolt (empty or
// "bbolt"). make test runs the suite once with each.
const EnvBackend = "ANCHOR_TEST_STORE"

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvBackend) == "postgres" }

// Main runs a test binary's tests and then stops the PostgreSQL cluster they may have started:
// call it from TestMain in every package whose tests use Open.
func Main(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// Location is where a test's store lives: a bbolt data dir or a PostgreSQL URL. Reopen it to
// simulate a restart.
type Location struct {
	Dir, URL string
}

// NewLocation makes the place for a fresh, empty store of the chosen backend.
func NewLocation(t testing.TB) Location {
	if Postgres() {
		return Location{URL: pgtest.URL(t)}
	}
	return Location{Dir: t.TempDir()}
}

// OpenAt opens the store at l (closed at the end of the test). noSync is for bbolt only: fast,
// and acknowledged writes may be lost in a crash of the machine.
func OpenAt(t testing.TB, l Location, noSync bool) store.Backend {
	t.Helper()
	var st store.Backend
	var err error
	if l.URL != "" {
		st, err = postgres.Open(context.Background(), l.URL)
	} else {
		st, err = store.Open(l.Dir, store.Options{NoSync: noSync})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Open returns a fresh, empty store of the chosen backend.
func Open(t testing.TB) store.Backend {
	return OpenAt(t, NewLocation(t), true)
}
