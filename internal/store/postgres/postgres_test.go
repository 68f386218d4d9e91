package postgres_test

import (
	"context"
	"errors"
	"os"
	"runtime"
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

// TestProbeConnections: anchor's connections say so in application_name (each pool its own
// name; an operator's own name is kept), Probe counts them against the server's limit, and
// ConnectionsPerReplica is the sum of the pools' bounds.
func TestProbeConnections(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	names := func(url string) map[string]bool {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[n] = true
		}
		return out
	}
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := names(url)
	if !got["anchor"] {
		t.Errorf("the store's connections are named %v, want anchor among them", got)
	}
	for n := range got {
		if n != "anchor" && n != "anchor marks" && n != "anchor locks" {
			t.Errorf("a store connection named %q", n)
		}
	}
	p, err := postgres.Probe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if p.Schema != postgres.SchemaVersion() || p.Anchor < 1 || p.Connections < p.Anchor+1 || p.MaxClients < p.Connections {
		t.Errorf("Probe = %+v: want the schema, the store's connections among anchor's, and the probe's own among the open ones", p)
	}

	named := url + "&application_name=ops"
	s2, err := postgres.Open(ctx, named)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := names(url); !got["ops"] {
		t.Errorf("with application_name=ops the connections are named %v", got)
	}

	for _, c := range []struct {
		url  string
		want int
	}{
		{url + "&pool_max_conns=2", 2 + 2 + 16},
		{url + "&pool_max_conns=12", 12 + 8 + 16},
		{url, max(4, 2*runtime.NumCPU()) + min(max(4, 2*runtime.NumCPU()), 8) + 16},
	} {
		if n, err := postgres.ConnectionsPerReplica(c.url); err != nil || n != c.want {
			t.Errorf("ConnectionsPerReplica(%s) = %d, %v; want %d", c.url, n, err, c.want)
		}
	}
}
