package cmd

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/store/storetest"
)

// scrape reads /metrics into series → value ("name{labels}" as exposed).
func scrape(t *testing.T, u string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, " ")
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, string(b)
}

// TestMetricsMoveWithEvents: a real anchor serve with metrics_listen; each family moves when
// its event happens (a request, a deposit created, a callback failing, a webhook failing, a
// watcher payment, the distribution balance), the wallet-facing port does not serve /metrics, and no label holds an
// account, a transaction id or a memo.
func TestMetricsMoveWithEvents(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	u := keypair.MustRandom()
	tf.hc.Fund(u.Address())
	submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "100000"})
	submitTx(t, tf.hc, tf.dist, &txnbuild.Payment{Destination: u.Address(), Amount: "50", Asset: tf.asset})
	mport := freePort(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_METRICS_LISTEN": "127.0.0.1:" + strconv.Itoa(mport), "ANCHOR_METRICS_REFRESH": "1s"}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	// A webhook that answers 500: its events become deliveries retried.
	cfgPath := filepath.Join(tf.dir, "anchor.yaml")
	raw, _ := os.ReadFile(cfgPath)
	raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: "+failing.URL+"\n      secret_file: hook.secret\n"), 1)
	if err := os.WriteFile(filepath.Join(tf.dir, "hook.secret"), []byte("6f1c2a9e0b7d4c3a8e5f1b2d9c0a7e6f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, tf.dir, tf.port, env)
	murl := "http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics"
	if r := do(t, "GET", s.URL+"/metrics", "", nil); r.Status != 404 {
		t.Fatalf("/metrics on the wallet-facing port: %d", r.Status)
	}
	w := signedInWallet(t, s, u)
	signedInWallet(t, s, keypair.MustRandom()) // an account not on the ledger: Horizon's 404 is no error
	w.putJSON(map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"})
	r := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "on_change_callback": {failing.URL}})
	if r.Status != 200 {
		t.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
	// A status change queues the wallet's callback, which fails.
	if _, stderr, code := kycCLI(t, tf.dir, "tx", "hold", r.JSON(t)["id"].(string), "--reason", "check"); code != 0 {
		t.Fatal(stderr)
	}
	submitTx(t, tf.hc, u, &txnbuild.Payment{Destination: tf.dist.Address(), Amount: "2", Asset: tf.asset}) // no memo: unmatched
	if r := postJSON(t, s.URL, "AAAA"); r.Status != 400 {
		t.Fatalf("a junk token request: %d", r.Status)
	}

	// A reconcile through the server finds three differences: the 50 USDX the test paid the user
	// behind anchor's back (an untied movement, and the asset out of balance) and the unsettled
	// payment.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, _, _ := runCLI(t, context.Background(), env, "payment", "list", "--unmatched", "--config", filepath.Join(tf.dir, "anchor.yaml")); strings.Contains(out, "2.0000000") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not record the payment")
		}
	}
	if _, stderr, code := runCLI(t, context.Background(), env, "credit", "--to", u.Address(), "--amount", "1", "--config", filepath.Join(tf.dir, "anchor.yaml")); code != 0 {
		t.Fatalf("a treasury payment: %s", stderr)
	}
	runCLI(t, context.Background(), env, "reconcile", "--config", filepath.Join(tf.dir, "anchor.yaml"))
	want := map[string]func(float64) bool{
		`anchor_treasury_actions{state="confirmed"}`:                                    func(v float64) bool { return v == 1 },
		`anchor_callbacks_queued`:                                                       func(v float64) bool { return v >= 1 },
		`anchor_callback_oldest_due_seconds`:                                            func(v float64) bool { return v >= 0 },
		`anchor_reconcile_differences`:                                                  func(v float64) bool { return v == 3 },
		`anchor_reconcile_last_timestamp_seconds`:                                       func(v float64) bool { return v > 0 },
		`anchor_http_requests_total{code="200",method="GET",route="GET /sep6/deposit"}`: func(v float64) bool { return v >= 1 },
		`anchor_transactions{asset="USDX",kind="deposit",status="on_hold"}`:             func(v float64) bool { return v == 1 },
		`anchor_customers{status="PROCESSING",type="sep6-deposit"}`:                     func(v float64) bool { return v == 1 },
		`anchor_callback_deliveries_total{kind="tx",result="retry"}`:                    func(v float64) bool { return v >= 1 },
		`anchor_sep10_requests_total{outcome="ok",step="challenge"}`:                    func(v float64) bool { return v >= 1 },
		`anchor_sep10_requests_total{outcome="ok",step="token"}`:                        func(v float64) bool { return v >= 1 },
		`anchor_sep10_requests_total{outcome="invalid_challenge",step="token"}`:         func(v float64) bool { return v == 1 },
		`anchor_watcher_payments_total{result="unmatched"}`:                             func(v float64) bool { return v == 1 },
		`anchor_unsettled_payments`:                                                     func(v float64) bool { return v == 1 },
		`anchor_distribution_balance{asset="USDX"}`:                                     func(v float64) bool { return v == 9951 },
		`anchor_horizon_requests_total{caller="sep10",outcome="ok"}`:                    func(v float64) bool { return v >= 1 },
		`anchor_horizon_requests_total{caller="sep10",outcome="not_found"}`:             func(v float64) bool { return v >= 1 },
		`anchor_horizon_requests_total{caller="watcher",outcome="ok"}`:                  func(v float64) bool { return v >= 1 },
		`anchor_horizon_requests_total{caller="refresh",outcome="ok"}`:                  func(v float64) bool { return v >= 1 },
		`anchor_webhook_deliveries{endpoint="bank",state="retrying"}`:                   func(v float64) bool { return v >= 1 },
		`anchor_webhook_deliveries{endpoint="bank",state="dead"}`:                       func(v float64) bool { return v == 0 },
		`anchor_webhook_events_behind{endpoint="bank"}`:                                 func(v float64) bool { return v >= 0 },
		`anchor_webhook_lag_seconds{endpoint="bank"}`:                                   func(v float64) bool { return v >= 0 },
	}
	if storetest.Postgres() {
		// The request connections and how the writes ran (alone: one at a time here).
		want[`anchor_db_connections_max`] = func(v float64) bool { return v >= 4 }
		want[`anchor_db_connections{state="idle"}`] = func(v float64) bool { return v >= 0 }
		want[`anchor_db_acquires_total`] = func(v float64) bool { return v >= 1 }
		want[`anchor_db_acquire_wait_seconds_total`] = func(v float64) bool { return v >= 0 }
		want[`anchor_db_updates_total{run="alone"}`] = func(v float64) bool { return v >= 1 }
		want[`anchor_db_updates_total{run="grouped"}`] = func(v float64) bool { return v >= 0 }
	}
	var got map[string]float64
	var text string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, text = scrape(t, murl)
		missing := ""
		for series, ok := range want {
			if v, found := got[series]; !found || !ok(v) {
				missing = series
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not move (%v)\n%s", missing, got[missing], text)
		}
	}
	if !storetest.Postgres() && strings.Contains(text, "anchor_db_") {
		t.Fatalf("bbolt has no database connections to report:\n%s", text)
	}
	if !strings.Contains(text, "anchor_build_info{") || !strings.Contains(text, "anchor_http_request_duration_seconds_bucket") || !strings.Contains(text, "anchor_watcher_caught_up_timestamp_seconds") {
		t.Fatalf("families missing:\n%s", text)
	}
	// No account ids, transaction ids or memos in any label; anchor's series stay few.
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`G[A-Z2-7]{55}`), regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)} {
		if m := re.FindString(text); m != "" {
			t.Fatalf("a label holds %s", m)
		}
	}
	n := 0
	for series := range got {
		if strings.HasPrefix(series, "anchor_") {
			n++
		}
	}
	if n > 300 {
		t.Fatalf("%d anchor series: cardinality is not bounded", n)
	}
}
