// Package pgtest gives tests a real PostgreSQL: ANCHOR_TEST_DATABASE_URL when it is set, else a
// throwaway cluster started from the server binaries on the machine (initdb and pg_ctl in a
// temporary directory, a unix socket only, no TCP; run as the unprivileged postgres user when
// the tests run as root), one per test binary, removed by Stop (call it from TestMain).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Package is the Debian package that provides the server binaries.
const Package = "postgresql"

var (
	once    sync.Once
	baseURL string
	dir     string
	asUser  *syscall.Credential
	bin     string
	startEr error
	dbs     atomic.Int64
)

// binDir finds the newest PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin).
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl): install the Debian package %s", Package)
	}
	sort.Slice(matches, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[j]))))
		return vi > vj
	})
	return filepath.Dir(matches[0]), nil
}

func run(name string, args ...string) error {
	c := exec.Command(filepath.Join(bin, name), args...)
	if asUser != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: asUser}
	}
	c.Env = append(os.Environ(), "LC_ALL=C")
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out)
	}
	return nil
}

func start() error {
	if u := os.Getenv("ANCHOR_TEST_DATABASE_URL"); u != "" {
		baseURL = u
		return nil
	}
	var err error
	if bin, err = binDir(); err != nil {
		return err
	}
	if dir, err = os.MkdirTemp("", "anchor-pg-"); err != nil {
		return err
	}
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user (Debian package %s creates it): %v", Package, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		asUser = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	if err := run("initdb", "-D", filepath.Join(dir, "data"), "-U", "anchor", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	if err := startServer(); err != nil {
		return err
	}
	baseURL = "postgres:///postgres?host=" + dir + "&user=anchor"
	return nil
}

// URL returns the URL of a fresh, empty database for one test, or skips the test naming the
// package when no PostgreSQL can be had.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { startEr = start() })
	if startEr != nil {
		t.Skipf("PostgreSQL is not available (%v); CI installs the Debian package %s", startEr, Package)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("anchor_test_%d_%d", os.Getpid(), dbs.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, baseURL); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return replaceDB(baseURL, name)
}

// replaceDB returns u with its database name replaced.
func replaceDB(u, name string) string {
	if rest, ok := strings.CutPrefix(u, "postgres:///postgres"); ok {
		return "postgres:///" + name + rest
	}
	// A URL from ANCHOR_TEST_DATABASE_URL: append dbname (libpq: the last setting wins).
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "dbname=" + name
}

// Stop stops the throwaway cluster, if one was started, and removes it.
func Stop() {
	if dir == "" {
		return
	}
	_ = run("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(dir)
}

// Outage stops the throwaway cluster (fast mode: every connection is cut, as in a restart or a
// failover; not immediate, since the test cluster runs without fsync and synchronous commit and
// would lose acknowledged commits in a crash) and returns a function that starts it again, for
// tests of a database lost while serving. It skips the test when the
// database is not this package's own (ANCHOR_TEST_DATABASE_URL).
func Outage(t testing.TB) (restart func()) {
	t.Helper()
	URL(t) // started, or skipped
	if dir == "" {
		t.Skip("ANCHOR_TEST_DATABASE_URL names a database these tests cannot stop")
	}
	data := filepath.Join(dir, "data")
	if err := run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	restarted := false
	restart = func() {
		if restarted {
			return
		}
		restarted = true
		if err := startServer(); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	t.Cleanup(restart) // the next tests need it
	return restart
}

// startServer starts the cluster in dir: its unix socket only, durability off (a test cluster).
// It returns a second after the start: the PostgreSQL store refuses SEP-10 challenges issued in
// the second the database started (store.ChallengeStore.IssuedNotBefore), which a test that
// authenticates at once would otherwise meet.
func startServer() error {
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir)
	if err := run("pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "30", "start"); err != nil {
		return err
	}
	time.Sleep(time.Second)
	return nil
}
