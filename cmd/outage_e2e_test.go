package cmd

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
)

// TestDatabaseOutageUnderLoad: PostgreSQL stopped (as in a crash) and started again while
// wallets keep opening deposits. While it is down every request that needs it answers 503 with
// Retry-After (never 500, never an acknowledgement of what was not stored) and /ready says 503;
// afterwards requests succeed again by themselves, every acknowledged deposit is stored, and
// the background work that runs on one replica takes its lease again.
func TestDatabaseOutageUnderLoad(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("stops the PostgreSQL test cluster: runs in make test's PostgreSQL pass (ANCHOR_TEST_STORE=postgres)")
	}
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_WRITE_RATE_LIMIT": "0", "ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS": "0"})
	s.waitLogged(t, "took over work that runs on one replica")
	var wallets []*wallet
	for range 6 {
		wallets = append(wallets, newWallet(t, s, nil))
	}
	var mu sync.Mutex
	var acked []string
	statuses := map[int]int{}
	var unavailableWithoutRetryAfter int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range wallets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", s.URL+"/sep6/deposit?asset_code=USDX", nil)
				req.Header.Set("Authorization", "Bearer "+w.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				var out struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == 200 {
					acked = append(acked, out.ID)
				}
				if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
					unavailableWithoutRetryAfter++
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	count := func(code int) int { mu.Lock(); defer mu.Unlock(); return statuses[code] }
	waitFor := func(what string, code, more int) {
		t.Helper()
		from := count(code)
		for deadline := time.Now().Add(30 * time.Second); count(code) < from+more; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %d answers", what, code)
			}
		}
	}
	waitFor("before the outage", 200, 20)
	restart := pgtest.Outage(t)
	down := time.Now()
	waitFor("during the outage", 503, 20)
	// /ready is public: it says the store does not answer, never the database's own error (its
	// host, user and name).
	if r := do(t, "GET", s.URL+"/ready", "", nil); r.Status != 503 || !strings.Contains(string(r.Body), "the store does not answer") ||
		strings.Contains(string(r.Body), "user=") || strings.Contains(string(r.Body), "PGSQL") {
		t.Fatalf("/ready while the database is down: %d %s", r.Status, r.Body)
	}
	time.Sleep(2 * time.Second)
	restart()
	up := time.Now()
	waitFor("after the restart", 200, 20)
	back := time.Since(up)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for code, n := range statuses {
		if code != 200 && code != 503 {
			t.Errorf("%d answers %d", n, code)
		}
	}
	if unavailableWithoutRetryAfter > 0 {
		t.Errorf("%d answers 503 without Retry-After", unavailableWithoutRetryAfter)
	}
	st := openTestStore(t, dir)
	ts := &transfer.Service{Store: st}
	for _, id := range acked {
		if _, err := ts.ShowTx(t.Context(), id); err != nil {
			t.Fatalf("acknowledged deposit %s is lost: %v", id, err)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); strings.Count(s.Logs.String(), "took over work that runs on one replica") < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the background work did not take its lease again:\n%s", s.Logs.String())
		}
	}
	t.Logf("outage of %s: %d acknowledged deposits all stored, %d answers 503; served again %s after the restart",
		up.Sub(down).Round(time.Millisecond), len(acked), statuses[503], back.Round(time.Millisecond))
}
