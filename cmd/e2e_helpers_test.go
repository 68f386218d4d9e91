package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

// syncBuffer is a goroutine-safe buffer for a server's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logTail is the last limit bytes of a log, from a line's start.
func logTail(log string, limit int) string {
	if len(log) <= limit {
		return log
	}
	log = log[len(log)-limit:]
	if i := strings.IndexByte(log, '\n'); i >= 0 {
		log = log[i+1:]
	}
	return "[...]\n" + log
}

// freePort returns a loopback port that was free a moment ago, for a server the test starts
// later. It is taken below the kernel's ephemeral range (ip_local_port_range), which the
// kernel hands out to outgoing connections and to listeners on port 0: a port from that range
// could be taken by the test's own connections before the server binds it. Each port is given
// out once per test binary, from a random start so that test binaries running side by side
// rarely meet.
func freePort(t *testing.T) int {
	t.Helper()
	ports.once.Do(func() {
		ports.lo, ports.hi = 20000, 32767
		if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
			if f := strings.Fields(string(raw)); len(f) == 2 {
				if lo, err := strconv.Atoi(f[0]); err == nil && lo > 2048 {
					ports.hi = lo - 1
					ports.lo = max(1024, min(ports.lo, lo/2))
				}
			}
		}
		ports.next = ports.lo + rand.IntN(ports.hi-ports.lo+1)
	})
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range ports.hi - ports.lo + 1 {
		port := ports.next
		if ports.next++; ports.next > ports.hi {
			ports.next = ports.lo
		}
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatalf("no free loopback port in %d-%d", ports.lo, ports.hi)
	return 0
}

// ports is freePort's state: the range below the ephemeral ports, and the next port to try.
var ports struct {
	once         sync.Once
	mu           sync.Mutex
	lo, hi, next int
}

// runCLI runs one anchor command line in-process with env as the whole environment.
func runCLI(t *testing.T, ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, LookupEnv: mapEnv(env)}
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code = printError(f, root, err)
	return out.String(), errOut.String(), code
}

// runCLIInput is runCLI with standard input.
func runCLIInput(t *testing.T, env map[string]string, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(input)
	f := &Factory{IO: ios, LookupEnv: mapEnv(env)}
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code = printError(f, root, err)
	return out.String(), errOut.String(), code
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// anchorServer is a running `anchor serve`.
type anchorServer struct {
	URL    string
	Port   int
	Dir    string
	Logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// initAnchor runs `anchor init` for localhost:PORT in a temp dir and returns dir and port.
func initAnchor(t *testing.T) (string, int) {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	_, stderr, code := runCLI(t, context.Background(), nil, "init", "--dir", dir, "--home-domain", "localhost:"+strconv.Itoa(port), "--network", "testnet")
	if code != 0 {
		t.Fatalf("anchor init: exit %d: %s", code, stderr)
	}
	if storetest.Postgres() {
		// ANCHOR_TEST_STORE=postgres: this anchor keeps its state in a fresh database.
		path := filepath.Join(dir, "anchor.yaml")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Replace(raw, []byte("database_url: \"\"\n"), []byte("database_url: "+pgtest.URL(t)+"\n"), 1)
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, port
}

// startServe runs `anchor serve --config DIR/anchor.yaml --listen 127.0.0.1:PORT` until the test ends.
func startServe(t *testing.T, dir string, port int, env map[string]string) *anchorServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	s := &anchorServer{URL: "http://localhost:" + strconv.Itoa(port), Port: port, Dir: dir, Logs: logs, cancel: cancel, done: make(chan error, 1)}
	ios := &iostreams.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: logs}
	f := &Factory{IO: ios, LookupEnv: mapEnv(env)}
	root := NewRootCmd(f)
	root.SetArgs([]string{"serve", "--config", dir + "/anchor.yaml", "--listen", "127.0.0.1:" + strconv.Itoa(port)})
	go func() { s.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() { // after Stop (cleanups run last first): the whole log
		if t.Failed() {
			t.Logf("the log of anchor serve on port %d:\n%s", port, logTail(logs.String(), 256<<10))
		}
	})
	t.Cleanup(func() { s.Stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			t.Fatalf("anchor serve exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("anchor serve did not become healthy\n%s", logs.String())
	return nil
}

// Stop shuts the server down and returns Serve's error.
func (s *anchorServer) Stop(t *testing.T) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("anchor serve did not stop")
		return nil
	}
}

type httpResult struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r httpResult) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not JSON: %q", r.Body)
	}
	return m
}

func do(t *testing.T, method, u, contentType string, body io.Reader, header ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func getChallenge(t *testing.T, base string, q url.Values) httpResult {
	return do(t, "GET", base+"/auth?"+q.Encode(), "", nil)
}

func postJSON(t *testing.T, base, tx string) httpResult {
	b, _ := json.Marshal(map[string]string{"transaction": tx})
	return do(t, "POST", base+"/auth", "application/json", bytes.NewReader(b))
}

// openTestStore opens the store of the anchor initialised in dir, on the backend the tests run
// on (closed at the end of the test).
func openTestStore(t *testing.T, dir string) store.Backend {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{File: filepath.Join(dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storedBytes is everything the anchor initialised in dir keeps: the bbolt file's bytes, or on
// PostgreSQL the text of every row of every table.
func storedBytes(t *testing.T, dir string) []byte {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{File: filepath.Join(dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL == "" {
		raw, err := os.ReadFile(filepath.Join(cfg.DataDir, store.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{table}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			out = append(out, s...)
		}
		// bytea columns print as hex in row text: add the raw bytes of file contents.
		if table == "kyc_files" {
			rows, err := conn.Query(ctx, "SELECT coalesce(data, ''::bytea) FROM kyc_files")
			if err != nil {
				t.Fatal(err)
			}
			blobs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range blobs {
				out = append(out, b...)
			}
		}
	}
	return out
}

// waitLogged waits until the server has logged text.
func (s *anchorServer) waitLogged(t *testing.T, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Logs.String(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %q:\n%s", text, s.Logs.String())
		}
	}
}
