package cmd

import (
	"net/http"
	"strings"
	"testing"
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
