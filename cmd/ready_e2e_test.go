package cmd

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/config"
)

// TestReadyFollowsItsDependencies: /ready is 200 with the store writable, Horizon answering and
// the watcher caught up; when Horizon goes away it is 503 naming Horizon, while /health (alive)
// stays 200, so that a load balancer takes the replica out without restarting it.
func TestReadyFollowsItsDependencies(t *testing.T) {
	tf := newTreasuryFixture(t, "100")
	s := startServe(t, tf.dir, tf.port, map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL()})
	get := func(path string) httpResult {
		t.Helper()
		return do(t, http.MethodGet, s.URL+path, "", nil)
	}
	r := get("/ready")
	checks, _ := r.JSON(t)["checks"].(map[string]any)
	if r.Status != 200 || checks["store"] != "ok" || checks["horizon"] != "ok" || checks["watcher"] != "ok" {
		t.Fatalf("ready: %d %s", r.Status, r.Body)
	}
	tf.hz.Close()
	r = get("/ready")
	checks, _ = r.JSON(t)["checks"].(map[string]any)
	if h, _ := checks["horizon"].(string); r.Status != 503 || !strings.Contains(h, "horizon") || checks["store"] != "ok" {
		t.Fatalf("ready without Horizon: %d %s", r.Status, r.Body)
	}
	if r := get("/health"); r.Status != 200 {
		t.Fatalf("health without Horizon: %d", r.Status)
	}
}

// TestHorizonTokenStaysPrivate: a horizon_url with a provider's token in its path (or a
// password, or a query) is never published: stellar.toml then has no HORIZON_URL (unless
// public_horizon_url names one), and the public GET /ready names Horizon by its address only.
func TestHorizonTokenStaysPrivate(t *testing.T) {
	dir, port := initAnchor(t)
	closed := freePort(t) // nothing listens there
	private := fmt.Sprintf("http://127.0.0.1:%d/s3cret-token/", closed)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": private})
	toml := string(do(t, http.MethodGet, s.URL+"/.well-known/stellar.toml", "", nil).Body)
	if strings.Contains(toml, "s3cret") || strings.Contains(toml, "HORIZON_URL") {
		t.Fatalf("stellar.toml publishes the private Horizon:\n%s", toml)
	}
	r := do(t, http.MethodGet, s.URL+"/ready", "", nil)
	if r.Status != 503 || strings.Contains(string(r.Body), "s3cret") || !strings.Contains(string(r.Body), fmt.Sprintf("127.0.0.1:%d", closed)) {
		t.Fatalf("ready with Horizon unreachable: %d %s", r.Status, r.Body)
	}
	// anchor doctor, whose output may reach a CI log, names Horizon by its address too.
	out, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_HORIZON_URL": private}, "doctor", "--json", "--config", filepath.Join(dir, "anchor.yaml"))
	if code == 0 || strings.Contains(out+stderr, "s3cret") || !strings.Contains(out, fmt.Sprintf("Horizon at 127.0.0.1:%d", closed)) {
		t.Fatalf("doctor with Horizon unreachable: exit %d\n%s%s", code, out, stderr)
	}
	// The rule itself, per URL (config.TOMLHorizonURL).
	for _, c := range []struct{ horizon, public, want string }{
		{"https://horizon.stellar.org", "", "https://horizon.stellar.org"},
		{"https://horizon.stellar.org/", "", "https://horizon.stellar.org/"},
		{"https://acme.stellar-mainnet.provider.example/0123abcd/", "", ""},
		{"https://user:pw@horizon.example", "", ""},
		{"https://horizon.example?apikey=1", "", ""},
		{"https://acme.provider.example/0123abcd/", "https://horizon.stellar.org", "https://horizon.stellar.org"},
		{"", "", ""},
	} {
		cfg := &config.Config{HorizonURL: c.horizon, PublicHorizonURL: c.public}
		if got := cfg.TOMLHorizonURL(); got != c.want {
			t.Errorf("horizon_url %q, public_horizon_url %q: publishes %q, want %q", c.horizon, c.public, got, c.want)
		}
	}
}
