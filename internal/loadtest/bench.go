package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	// Exe is the anchor binary to run as the server.
	Exe      string
	Duration time.Duration
	Clients  []int
	Modes    []string
	Out      io.Writer
	// Log receives the server's log (its normal logging stays on); io.Discard when nil.
	Log io.Writer
}

// Bench starts `anchor serve` on a fresh config in a temp dir (rate limit off, no Horizon, so
// the figures are the server's own) and runs each mode at each client count.
func Bench(ctx context.Context, o BenchOptions) ([]*Result, error) {
	dir, err := os.MkdirTemp("", "anchor-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if out, err := exec.CommandContext(ctx, o.Exe, "init", "--dir", dir, "--home-domain", "localhost:"+port).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("anchor init: %v: %s", err, out)
	}
	srv := exec.CommandContext(ctx, o.Exe, "serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+port)
	// The per-client and per-account limits would measure themselves, not the server.
	srv.Env = append(os.Environ(), "ANCHOR_AUTH_RATE_LIMIT=0", "ANCHOR_WRITE_RATE_LIMIT=0", "ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS=0", "ANCHOR_HORIZON_URL=none")
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	srv.Stderr, srv.Stdout = logw, logw
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	base := "http://127.0.0.1:" + port
	if err := waitHealthy(ctx, base); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "anchor serve pid %d on %s, %s per run\n", srv.Process.Pid, base, o.Duration)
	var results []*Result
	for _, mode := range o.Modes {
		for _, c := range o.Clients {
			r, err := Run(ctx, Options{BaseURL: base, Mode: mode, Clients: c, Duration: o.Duration, ServerPID: srv.Process.Pid})
			if err != nil {
				return results, err
			}
			fmt.Fprintln(o.Out, r.String())
			results = append(results, r)
		}
	}
	return results, nil
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
