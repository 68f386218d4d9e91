// Package postgres is anchor's second store backend, for several `anchor serve` replicas on one
// database (database_url). It implements the interfaces the services declare, as the bbolt store
// does, and the storetest contract suite proves the two behave alike.
//
// Schema migrations are embedded SQL files, applied in order at open inside one transaction
// under an advisory lock (replicas starting together apply them once), and recorded in
// schema_migrations; a database of a newer schema is refused.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key migrations run under ("anchor" in ASCII).
const migrationLock = 0x616e63686f72

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
	// marks is a few connections for SEP-10 marks, committed without waiting for the WAL flush
	// (synchronous_commit off): PostgreSQL writes them within a fraction of a second, and a
	// crash that loses the last ones restarts the server, whose start time (dbStart) then
	// refuses every challenge issued before it.
	marks *pgxpool.Pool
	// locks is the connections that hold session advisory locks (leases, source accounts; see
	// locks.go), apart from pool so that holding them, for as long as a replica runs a lease,
	// takes no connection from requests.
	locks   *pgxpool.Pool
	dbStart atomic.Int64 // pg_postmaster_start_time() as last seen, unix ns
	// modes caches accounts' recorded modes (shared or not), which never change once recorded:
	// a known account's mark is then a single insert.
	modesMu sync.Mutex
	modes   map[string]bool
	events  *events.Recorder
	// markGroup sends the marks of concurrent rounds in one statement (marks.go).
	markGroup markGroup
	// group runs updates waiting for a connection together (group.go).
	group group
}

// maxModes bounds the modes cache (it starts again empty when full).
const maxModes = 100_000

func (s *Store) knownMode(account string) (shared, ok bool) {
	s.modesMu.Lock()
	defer s.modesMu.Unlock()
	shared, ok = s.modes[account]
	return
}

func (s *Store) learnMode(account string, shared bool) {
	s.modesMu.Lock()
	defer s.modesMu.Unlock()
	if s.modes == nil || len(s.modes) >= maxModes {
		s.modes = map[string]bool{}
	}
	s.modes[account] = shared
}

// Redact returns a database URL with its password replaced, for messages and logs.
func Redact(raw string) string { return config.DSN(raw).String() }

// Open connects to databaseURL, applies the embedded migrations and returns the store. Errors
// name the config key and never the password.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, urlError(databaseURL, "", err)
	}
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	cfg.MaxConns = requestConns(cfg, databaseURL)
	named := cfg.ConnConfig.RuntimeParams["application_name"] != ""
	if !named {
		// So that pg_stat_activity (and anchor doctor) tells anchor's connections, and which
		// pool each is of, from the others'.
		cfg.ConnConfig.RuntimeParams["application_name"] = "anchor"
	}
	s := &Store{}
	// Every new connection (after a restart of PostgreSQL, all are new) learns when the server
	// started, before it serves anything.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		var at time.Time
		if err := c.QueryRow(ctx, "SELECT pg_postmaster_start_time()").Scan(&at); err != nil {
			return err
		}
		for n := at.UnixNano(); ; {
			cur := s.dbStart.Load()
			if n <= cur || s.dbStart.CompareAndSwap(cur, n) {
				return nil
			}
		}
	}
	mcfg := cfg.Copy()
	mcfg.MaxConns = markConns(cfg.MaxConns)
	mcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, urlError(databaseURL, "", err)
	}
	if s.marks, err = pgxpool.NewWithConfig(ctx, mcfg); err != nil {
		s.pool.Close()
		return nil, urlError(databaseURL, "", err)
	}
	// Keepalives short enough that the server frees the locks of a replica cut off by the
	// network within seconds. A replica holds at most a few leases and a lock per source account
	// it is paying from.
	lcfg := cfg.Copy()
	lcfg.MaxConns = lockConns
	for k, v := range map[string]string{"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"} {
		lcfg.ConnConfig.RuntimeParams[k] = v
	}
	if !named {
		mcfg.ConnConfig.RuntimeParams["application_name"] = "anchor marks"
		lcfg.ConnConfig.RuntimeParams["application_name"] = "anchor locks"
	}
	if s.locks, err = pgxpool.NewWithConfig(ctx, lcfg); err != nil {
		s.pool.Close()
		s.marks.Close()
		return nil, urlError(databaseURL, "", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.Close()
		return nil, urlError(databaseURL, "cannot connect: ", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// requestConns is the size of the pool of requests' updates: pool_max_conns when the URL gives
// it, else few connections, each carrying a group of the updates waiting for one (group.go),
// which costs PostgreSQL far less per update than many connections carrying one each. On 2
// cores, PUT /customer at 64 clients made about 2,000/s on 4 connections against 1,800 on 8
// and 1,300 on 16 (docs/benchmarks.md).
func requestConns(cfg *pgxpool.Config, databaseURL string) int32 {
	if strings.Contains(databaseURL, "pool_max_conns") {
		return cfg.MaxConns
	}
	return int32(max(4, 2*runtime.NumCPU()))
}

// markConns is the size of the SEP-10 marks' pool, beside requests' of size n.
func markConns(n int32) int32 { return min(n, 8) }

// lockConns bounds the pool of the leases and source-account locks (one connection each).
const lockConns = 16

// ConnectionsPerReplica is how many connections one anchor process on databaseURL may open at
// most: its requests', its SEP-10 marks' and its locks' pools (docs/scale-out.md).
func ConnectionsPerReplica(databaseURL string) (int, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return 0, urlError(databaseURL, "", err)
	}
	n := requestConns(cfg, databaseURL)
	return int(n + markConns(n) + lockConns), nil
}

// ProbeResult is what Probe finds: the schema version, and the server's client connections —
// open, anchor's among them (application_name anchor...: every replica's and CLI's), and the
// most it takes (max_connections less those reserved for superusers).
type ProbeResult struct {
	Schema                          int
	Connections, Anchor, MaxClients int
}

// Probe connects to databaseURL without migrating anything and returns its schema version
// (0: none yet) and connections, failing when the database does not take writes (a standby).
// Errors name the config key and never the password.
func Probe(ctx context.Context, databaseURL string) (ProbeResult, error) {
	var out ProbeResult
	fail := func(what string, err error) (ProbeResult, error) {
		return ProbeResult{}, urlError(databaseURL, what, err)
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fail("", err)
	}
	cfg.ConnectTimeout = 10 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail("cannot connect: ", err)
	}
	defer conn.Close(ctx)
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return fail("", err)
	}
	if standby {
		return fail("", errors.New("is a read-only standby"))
	}
	// Client backends only (no background worker takes a connection slot); a session of another
	// role shows its application_name but may hide its backend_type.
	if err := conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int
			- current_setting('superuser_reserved_connections')::int
			- coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0),
		(SELECT count(*) FROM pg_stat_activity WHERE datid IS NOT NULL AND coalesce(backend_type, 'client backend') = 'client backend'),
		(SELECT count(*) FROM pg_stat_activity WHERE datid IS NOT NULL AND application_name LIKE 'anchor%')`).
		Scan(&out.MaxClients, &out.Connections, &out.Anchor); err != nil {
		return fail("", err)
	}
	err = conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&out.Schema)
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "42P01" { // no schema_migrations: nothing applied yet
		return out, nil
	}
	if err != nil {
		return fail("", err)
	}
	return out, nil
}

// urlError is err about the database at databaseURL, naming the config key, on one line and
// without the password.
func urlError(databaseURL, what string, err error) error {
	return fmt.Errorf("database_url %s: %s%v", Redact(databaseURL), what, redactErr(err, databaseURL))
}

// redactErr is err on one line, without the URL's password.
func redactErr(err error, raw string) string {
	// pgx puts each attempt on a line of its own (sslmode=prefer tries TLS, then plain): one
	// line, each reason once.
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "REDACTED")
		}
	}
	return msg
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: no version number", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{n, e.Name(), string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the newest migration this build has.
func SchemaVersion() int {
	ms, _ := migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Replicas starting together: one applies, the others wait here and then find it done.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if newest := SchemaVersion(); current > newest {
		return fmt.Errorf("%w (schema %d, this anchor knows %d)", store.ErrNewerSchema, current, newest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// SchemaVersion reads the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// Close closes the pools.
func (s *Store) Close() error {
	s.pool.Close()
	s.marks.Close()
	s.locks.Close()
	return nil
}

// UseChallenge implements store.ChallengeStore: the mark is one row, unique by hash, so two
// replicas racing for one challenge give one token. One statement: the account's mode is
// recorded if new and compared, and the challenge marked only when it matches. It commits
// without waiting for the WAL flush (marks pool); see IssuedNotBefore.
func (s *Store) UseChallenge(ctx context.Context, hash [32]byte, expires time.Time, account string, shared bool) (bool, error) {
	const mark = `WITH new_mode AS (
			INSERT INTO account_modes (account, shared) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING RETURNING shared),
		mode AS (
			SELECT shared FROM new_mode UNION ALL SELECT shared FROM account_modes WHERE account = $1 LIMIT 1),
		used AS (
			INSERT INTO used_challenges (hash, expires) SELECT $3, $4 FROM mode WHERE shared = $2
			ON CONFLICT (hash) DO NOTHING RETURNING 1)
		SELECT (SELECT shared FROM mode), (SELECT count(*) FROM used)`
	if known, ok := s.knownMode(account); ok {
		if known != shared {
			return false, store.ErrSharedMismatch
		}
		return s.mark(hash[:], expires)
	}
	for attempt := 0; ; attempt++ {
		var mode *bool
		var used int
		err := s.marks.QueryRow(ctx, mark, account, shared, hash[:], expires).Scan(&mode, &used)
		if err == nil && mode != nil {
			s.learnMode(account, *mode)
		}
		switch {
		case err != nil:
			return false, classify(err)
		case mode == nil && attempt < 3:
			continue // another replica recorded the account's first mode meanwhile: read it
		case mode == nil || *mode != shared:
			return false, store.ErrSharedMismatch
		}
		return used == 1, nil
	}
}

// MarkEarly implements sep10.EarlyMarker: the mark is sent on a goroutine of its own (with the
// marks of concurrent rounds, as UseChallenge's), for a known account only.
func (s *Store) MarkEarly(hash [32]byte, expires time.Time, account string, shared bool) (func() (bool, error), bool) {
	if known, ok := s.knownMode(account); !ok || known != shared {
		return nil, false
	}
	done := make(chan markResult, 1)
	go func() {
		first, err := s.mark(hash[:], expires)
		done <- markResult{first, err}
	}()
	return sync.OnceValues(func() (bool, error) {
		r := <-done
		return r.first, r.err
	}), true
}

// Unmark implements sep10.EarlyMarker.
func (s *Store) Unmark(ctx context.Context, hash [32]byte) error {
	_, err := s.marks.Exec(ctx, "DELETE FROM used_challenges WHERE hash = $1", hash[:])
	return classify(err)
}

// IssuedNotBefore implements store.ChallengeStore: challenges must have been issued after
// PostgreSQL last started. Marks are committed without waiting for the disk, so a crash of
// PostgreSQL can lose the last ones; it then restarts, and what was issued before is refused.
// Challenges carry whole seconds: one issued in the second PostgreSQL started may have been
// issued before, so the bound is the next second (as bbolt's after an unclean stop). The
// database's clock is compared with anchor's: keep them in sync (NTP).
func (s *Store) IssuedNotBefore() time.Time {
	return time.Unix(0, s.dbStart.Load()).Truncate(time.Second).Add(time.Second)
}

// PruneChallenges implements store.ChallengeStore.
func (s *Store) PruneChallenges(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM used_challenges WHERE expires < $1", before)
	return int(tag.RowsAffected()), classify(err)
}

var _ store.ChallengeStore = (*Store)(nil)
