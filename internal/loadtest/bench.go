package loadtest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/anchorkit/anchor/internal/horizon/standin"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	// Exe is the anchor binary to run as the server.
	Exe string
	// BaselineExe is the anchor binary that runs the baseline (anchor dev sdk-auth); Exe when
	// empty (Exe may be an older build, without it).
	BaselineExe string
	Duration    time.Duration
	Clients     []int
	Modes       []string
	Out         io.Writer
	// Log receives the servers' log (their normal logging stays on); io.Discard when nil.
	Log io.Writer
	// DatabaseURL, when set, puts the store in that PostgreSQL database (its schema is
	// created; use an empty database) instead of a bbolt file.
	DatabaseURL string
	// Replicas is how many servers to run on the database (PostgreSQL only; default 1); the
	// clients are spread over them.
	Replicas int
	// Webhook sends every event to a receiver on loopback (events.webhooks), and reports how
	// fast the events were delivered.
	Webhook bool
	// WebhookBatch, above 1, has the webhook take arrays of up to this many events.
	WebhookBatch int
	// CPUProfile, when set, has the (first) server write a CPU profile of the runs there.
	CPUProfile string
	// Rate paces each run's clients together (Options.Rate).
	Rate float64
	// ServerEnv is added to the servers' environment (KEY=VALUE; e.g. GOMAXPROCS, GOGC), for tuning.
	ServerEnv []string
	// Horizon runs a Horizon stand-in on loopback (in this process) for the servers, with each
	// client's account on it, so that a SEP-10 round includes the account's look-up; without
	// it the servers have no Horizon and a round treats every account as new.
	Horizon bool
	// Baseline also runs the challenge and round modes against SDKAuth (the SDK's former SEP-10
	// service's work, in a process of its own, on the same Horizon if any), each run right after
	// anchor's of the same mode and clients.
	Baseline bool
}

// eventSink is a webhook receiver that counts deliveries and when they came.
type eventSink struct {
	n, posts    atomic.Int64
	first, last atomic.Int64 // unix ns
}

func (s *eventSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	now := time.Now().UnixNano()
	s.first.CompareAndSwap(0, now)
	s.last.Store(now)
	n, err := strconv.Atoi(r.Header.Get("Anchor-Event-Count")) // a batch
	if err != nil {
		n = 1
	}
	s.n.Add(int64(n))
	s.posts.Add(1)
}

// drained waits until no delivery has come for quiet, and reports the deliveries' rate.
func (s *eventSink) drained(ctx context.Context, quiet time.Duration) string {
	for {
		last := s.last.Load()
		if last != 0 && time.Since(time.Unix(0, last)) > quiet {
			break
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(100 * time.Millisecond):
		}
	}
	n, span := s.n.Load(), time.Duration(s.last.Load()-s.first.Load())
	return fmt.Sprintf("webhook: %d events delivered in %d POSTs in %s, %.0f/s (first to last delivery)", n, s.posts.Load(), span.Round(time.Millisecond), float64(n)/max(span.Seconds(), 0.001))
}

// Bench starts `anchor serve` on a fresh config in a temp dir (rate limit off, no Horizon, so
// the figures are the server's own), or several replicas on one PostgreSQL database, and runs
// each mode at each client count.
func Bench(ctx context.Context, o BenchOptions) ([]*Result, error) {
	replicas := max(o.Replicas, 1)
	if replicas > 1 && o.DatabaseURL == "" {
		return nil, fmt.Errorf("replicas share a PostgreSQL database: give its URL (--database-url)")
	}
	dir, err := os.MkdirTemp("", "anchor-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ports := make([]string, replicas)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	if out, err := exec.CommandContext(ctx, o.Exe, "init", "--dir", dir, "--home-domain", "localhost:"+ports[0]).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("anchor init: %v: %s", err, out)
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	// Quotes for the price and quote modes: euros against the first asset.
	{
		cfgPath := filepath.Join(dir, "anchor.yaml")
		raw, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, err
		}
		quotes := "  assets:\n    - {asset: iso4217:EUR, decimals: 2, sell_delivery_methods: [{name: SEPA, description: SEPA}], buy_delivery_methods: [{name: SEPA, description: SEPA}]}\n" +
			"  pairs:\n    - {offchain: iso4217:EUR, asset: USDX, price: \"0.92\", spread_percent: \"0.5\", fee: \"1.00\"}\n"
		raw = bytes.Replace(raw, []byte("  assets: []\n  pairs: []\n"), []byte(quotes), 1)
		if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
			return nil, err
		}
	}
	var sink *eventSink
	if o.Webhook {
		sink = &eventSink{}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hs := &http.Server{Handler: sink}
		go hs.Serve(ln)
		defer hs.Close()
		if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), []byte("bench-secret-0123456789abcdef0123"), 0o600); err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(dir, "anchor.yaml")
		raw, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, err
		}
		hook := fmt.Sprintf("  webhooks:\n    - name: bench\n      url: http://%s/events\n      secret_file: webhook.secret\n      batch: %d\n", ln.Addr(), max(o.WebhookBatch, 1))
		if raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte(hook), 1); !bytes.Contains(raw, []byte("name: bench")) {
			return nil, fmt.Errorf("anchor.yaml has no events.webhooks to set")
		}
		if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
			return nil, err
		}
	}
	horizonURL := "none"
	var newAccount func(string)
	var hz *standin.Server
	if o.Horizon {
		hz = standin.New()
		defer hz.Close()
		horizonURL = hz.URL()
		newAccount = func(id string) { hz.CreateAccount(id, 1, [3]byte{}) }
	}
	var bases []string
	var pids []int
	for i, port := range ports {
		args := []string{"serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:" + port}
		if i == 0 && o.CPUProfile != "" {
			args = append(args, "--cpu-profile", o.CPUProfile)
		}
		// The per-client and per-account limits would measure themselves, not the server.
		env := []string{"ANCHOR_AUTH_RATE_LIMIT=0", "ANCHOR_WRITE_RATE_LIMIT=0", "ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS=0", "ANCHOR_HORIZON_URL=" + horizonURL,
			"ANCHOR_DATA_DIR=" + filepath.Join(dir, "data-"+strconv.Itoa(i))}
		if o.DatabaseURL != "" {
			env = append(env, "ANCHOR_DATABASE_URL="+o.DatabaseURL)
		}
		pid, stop, err := startProcess(ctx, o.Exe, args, append(env, o.ServerEnv...), logw)
		if err != nil {
			return nil, err
		}
		defer stop()
		bases, pids = append(bases, "http://127.0.0.1:"+port), append(pids, pid)
	}
	for _, base := range bases {
		if err := waitHealthy(ctx, base); err != nil {
			return nil, err
		}
	}
	var baseURL string
	var basePID int
	if o.Baseline {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + port
		args := []string{"dev", "sdk-auth", "--listen", addr}
		if o.Horizon {
			args = append(args, "--horizon-url", horizonURL)
		}
		pid, stop, err := startProcess(ctx, cmp.Or(o.BaselineExe, o.Exe), args, o.ServerEnv, logw)
		if err != nil {
			return nil, err
		}
		defer stop()
		baseURL, basePID = "http://"+addr, pid
		if err := waitHealthy(ctx, baseURL); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "baseline (sdk-auth: the SDK's former webauth's work, no replay marks) pid %d on %s\n", basePID, baseURL)
	}
	store := "bbolt"
	if o.DatabaseURL != "" {
		store = fmt.Sprintf("PostgreSQL, %d replica(s)", replicas)
	}
	fmt.Fprintf(o.Out, "anchor serve pid %v on %v (%s), %s per run\n", pids, bases, store, o.Duration)
	var results []*Result
	for _, mode := range o.Modes {
		for _, c := range o.Clients {
			r, err := Run(ctx, Options{BaseURL: bases[0], Mode: mode, Clients: c, Duration: o.Duration, ServerPID: pids[0], Replicas: bases[1:], ReplicaPIDs: pids[1:], Rate: o.Rate, NewAccount: newAccount})
			if err != nil {
				return results, err
			}
			fmt.Fprintln(o.Out, r.String())
			results = append(results, r)
			if baseURL != "" && (mode == "challenge" || mode == "round") {
				b, err := Run(ctx, Options{BaseURL: baseURL, Mode: mode, Clients: c, Duration: o.Duration, ServerPID: basePID, Rate: o.Rate, NewAccount: newAccount, Server: "sdk-auth"})
				if err != nil {
					return results, fmt.Errorf("baseline: %w", err)
				}
				fmt.Fprintln(o.Out, b.String())
				results = append(results, b)
			}
		}
	}
	if sink != nil {
		fmt.Fprintln(o.Out, sink.drained(ctx, 2*time.Second))
	}
	if hz != nil {
		fmt.Fprintf(o.Out, "horizon stand-in: %d requests\n", hz.Requests())
	}
	return results, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// startProcess starts exe with args, env added to this process's environment and its output
// to logw; stop ends it (SIGTERM) and waits for it.
func startProcess(ctx context.Context, exe string, args, env []string, logw io.Writer) (pid int, stop func(), err error) {
	c := exec.CommandContext(ctx, exe, args...)
	c.Env = append(os.Environ(), env...)
	c.Stderr, c.Stdout = logw, logw
	if err := c.Start(); err != nil {
		return 0, nil, err
	}
	return c.Process.Pid, func() {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
	}, nil
}

func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s did not become healthy", base)
}
