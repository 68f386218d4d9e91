package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/sep10"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// PostgreSQL's marks take a round trip: SEP-10 sends them early (the contract's "early marks").
var _ sep10.EarlyMarker = (*postgres.Store)(nil)

// TestPostgresContract: PostgreSQL passes the same contract suite as bbolt.
func TestPostgresContract(t *testing.T) {
	storetest.ChallengeStore(t, func(t *testing.T) store.ChallengeStore {
		s, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestPostgresRecords: the records' contract on PostgreSQL, through two pools on one database
// (two replicas).
func TestPostgresRecords(t *testing.T) {
	storetest.Records(t, func(t *testing.T) (store.Backend, store.Backend) {
		url := pgtest.URL(t)
		var out [2]store.Backend
		for i := range out {
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}

// TestMigrationsOnceAcrossReplicas: replicas opening one database together apply the schema
// once (advisory lock), and a database of a newer schema is refused.
func TestMigrationsOnceAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a replica's open: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, max int
	conn.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&rows, &max)
	if rows != postgres.SchemaVersion() || max != postgres.SchemaVersion() {
		t.Fatalf("schema_migrations: %d rows, version %d; want each migration once", rows, max)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url); !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("a newer schema: %v", err)
	}
}

// TestBadDatabaseURL: an unreachable database fails at open with one line naming database_url,
// and the password never appears.
func TestBadDatabaseURL(t *testing.T) {
	pgtest.URL(t) // skips, naming the package, where PostgreSQL is absent
	_, err := postgres.Open(context.Background(), "postgres://anchor:s3cret-pw@127.0.0.1:1/anchor?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "database_url") || strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), "\n") ||
		strings.Count(err.Error(), "connection refused") != 1 {
		t.Fatalf("open an unreachable database: %v", err)
	}
}
