package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// replica is an `anchor serve` process of its own (a data dir for its admin socket, a port),
// on the shared PostgreSQL database of the config.
type replica struct {
	name    string
	url     string
	dataDir string
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
}

func startReplica(t *testing.T, dir, name string, env map[string]string) *replica {
	t.Helper()
	port := freePort(t)
	r := &replica{name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), dataDir: filepath.Join(dir, "data-"+name), logs: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = anchorProcess("serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+strconv.Itoa(port))
	r.cmd.Env = append(r.cmd.Env, "ANCHOR_DATA_DIR="+r.dataDir)
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stderr = r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			r.cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(r.url + "/health"); err == nil {
			resp.Body.Close()
			return r
		}
		select {
		case <-r.exited:
			t.Fatalf("replica %s exited:\n%s", name, r.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not start:\n%s", name, r.logs.String())
		}
	}
}

// waitLog waits for a line of the replica's log that holds every part.
func (r *replica) waitLog(t *testing.T, within time.Duration, parts ...string) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return time.Now()
			}
		}
	}
	t.Fatalf("replica %s never logged %q:\n%s", r.name, parts, r.logs.String())
	return time.Time{}
}

// roundRobin serves on addr, sending each request to the next replica in turn.
func roundRobin(t *testing.T, addr string, backends ...*replica) {
	t.Helper()
	var next atomic.Uint64
	proxies := make([]*httputil.ReverseProxy, len(backends))
	for i, b := range backends {
		u, _ := url.Parse(b.url)
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
	}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[next.Add(1)%uint64(len(proxies))].ServeHTTP(w, r)
	})}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatal("the proxy did not start")
}

// call makes one request and returns its status and body (errors, not t.Fatal: it runs in the
// wallets' goroutines).
func call(method, u, token, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestReplicasOnPostgres: two anchor serve replicas on one PostgreSQL database behind a
// round-robin proxy behave as one anchor. Many wallets authenticate (challenge from one replica,
// token from the other), submit KYC and open deposits: every acknowledged deposit is stored. A
// challenge issued by one replica and redeemed at the other is refused when replayed at the
// first. A replica killed -9 in the middle of a credit batch leaves no deposit paid twice or
// unpaid once the other finishes the batch, and the other takes over the withdrawal watcher
// within 15 s.
func TestReplicasOnPostgres(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("replicas share a PostgreSQL database: this runs in make test's PostgreSQL pass (ANCHOR_TEST_STORE=postgres)")
	}
	tf := newTreasuryFixture(t, "100000")
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_WRITE_RATE_LIMIT": "0", "ANCHOR_AUTH_RATE_LIMIT": "0",
		"ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS": "0", "ANCHOR_KYC_AUTO_APPROVE": "true"}
	// Each replica with its own metrics listener.
	metricsOf := map[string]string{}
	withMetrics := func(name string) map[string]string {
		port := freePort(t)
		metricsOf[name] = "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		out := maps.Clone(env)
		out["ANCHOR_METRICS_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
		out["ANCHOR_METRICS_REFRESH"] = "1s"
		return out
	}
	a := startReplica(t, tf.dir, "a", withMetrics("a"))
	a.waitLog(t, 10*time.Second, "took over work that runs on one replica", "worker=watcher")
	a.waitLog(t, 10*time.Second, "took over work that runs on one replica", "worker=metrics")
	b := startReplica(t, tf.dir, "b", withMetrics("b"))
	front := "127.0.0.1:" + strconv.Itoa(tf.port) // the home domain's port: stellar.toml's URLs lead here
	roundRobin(t, front, a, b)
	base := "http://" + front

	// Many wallets through the proxy.
	d := discover(t, &anchorServer{Port: tf.port})
	client := &sep10.Client{Endpoint: d.toml.WebAuthEndpoint, ServerKey: d.toml.SigningKey, Network: d.toml.NetworkPassphrase, HomeDomain: d.homeDomain}
	const wallets, depositsEach = 24, 4
	var mu sync.Mutex
	var acked []string
	var failures []string
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	start := time.Now()
	for range wallets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kp := keypair.MustRandom()
			token, err := client.Authenticate(context.Background(), kp.Address(), nil, kp)
			if err != nil {
				fail("authenticate: %v", err)
				return
			}
			body, _ := json.Marshal(map[string]string{"first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"})
			if st, b, err := call("PUT", base+"/kyc/customer", token, "application/json", body); err != nil || st != 202 {
				fail("PUT /customer: %d %s %v", st, b, err)
				return
			}
			for range depositsEach {
				st, b, err := call("GET", base+"/sep6/deposit?asset_code=USDX&account="+kp.Address(), token, "", nil)
				if err != nil || st != 200 {
					fail("GET /deposit: %d %s %v", st, b, err)
					continue
				}
				var out struct{ ID string }
				json.Unmarshal(b, &out)
				mu.Lock()
				acked = append(acked, out.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	st := openTestStore(t, tf.dir)
	ts := &transfer.Service{Store: st}
	for _, id := range acked {
		if _, err := ts.ShowTx(context.Background(), id); err != nil {
			t.Fatalf("acknowledged deposit %s is not stored: %v", id, err)
		}
	}
	t.Logf("%d wallets through two replicas: %d deposits acknowledged, all stored (%s)", wallets, len(acked), elapsed.Round(time.Millisecond))

	// The CLI on the database directly, while the replicas serve (no admin socket in its data
	// dir), prints what it prints through a replica's socket.
	cliAt := func(dataDir string, args ...string) string {
		t.Helper()
		e := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_DATA_DIR": dataDir}
		out, stderr, code := runCLI(t, context.Background(), e, append(args, "--config", filepath.Join(tf.dir, "anchor.yaml"))...)
		if code != 0 {
			t.Fatalf("%v in %s: exit %d %s", args, dataDir, code, stderr)
		}
		return out
	}
	direct := t.TempDir()
	for _, args := range [][]string{{"tx", "show", acked[0], "--json"}, {"tx", "list", "--limit", "5"}, {"kyc", "list", "--json"}} {
		if viaSocket, viaDB := cliAt(b.dataDir, args...), cliAt(direct, args...); viaSocket != viaDB {
			t.Fatalf("%v differs through the socket and on the database:\n%s\n%s", args, viaSocket, viaDB)
		}
	}

	// A challenge from replica a, redeemed at b, replayed at a.
	kp := keypair.MustRandom()
	st1, raw, err := call("GET", a.url+"/auth?account="+kp.Address(), "", "", nil)
	if err != nil || st1 != 200 {
		t.Fatalf("challenge from a: %d %s %v", st1, raw, err)
	}
	var ch struct{ Transaction string }
	json.Unmarshal(raw, &ch)
	gtx, err := txnbuild.TransactionFromXDR(ch.Transaction)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := gtx.Transaction()
	if tx, err = tx.Sign(network.TestNetworkPassphrase, kp); err != nil {
		t.Fatal(err)
	}
	signed, _ := tx.Base64()
	post, _ := json.Marshal(map[string]string{"transaction": signed})
	if st, raw, _ := call("POST", b.url+"/auth", "", "application/json", post); st != 200 {
		t.Fatalf("redeemed at b: %d %s", st, raw)
	}
	if st, raw, _ := call("POST", a.url+"/auth", "", "application/json", post); st == 200 {
		t.Fatalf("the same challenge replayed at a gave a second token: %s", raw)
	}

	// Withdrawals: users who hold tokens, each with a withdrawal and its memo; half are paid
	// while replica a watches, the rest after it is killed.
	type withdrawal struct {
		user     *keypair.Full
		id, memo string
	}
	var wds []withdrawal
	viaProxy := &anchorServer{URL: "http://localhost:" + strconv.Itoa(tf.port), Port: tf.port}
	for i := range 6 {
		u := keypair.MustRandom()
		tf.hc.Fund(u.Address())
		submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "100000"})
		submitTx(t, tf.hc, tf.dist, &txnbuild.Payment{Destination: u.Address(), Amount: "50", Asset: tf.asset})
		w := signedInWallet(t, viaProxy, u)
		if r := w.putJSON(map[string]string{"type": "sep6-withdraw", "first_name": "J", "last_name": "D", "email_address": "j@example.com",
			"bank_account_number": "1", "bank_number": "2"}); r.Status != 202 {
			t.Fatalf("KYC %d: %d %s", i, r.Status, r.Body)
		}
		wd := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"10"}}).JSON(t)
		wds = append(wds, withdrawal{u, wd["id"].(string), wd["memo"].(string)})
		if i < 3 {
			payMemo(t, tf, u, "10", wd["memo"].(string))
		}
	}

	// Only the replica that watches reports the watcher's progress: b, which does not, has no
	// such gauge (a 0 there would page "watcher lagging" for as long as b runs). Likewise the
	// gauges read from the store: one replica reads them for the anchor (a, which took every
	// lease first), not each.
	waitGauge(t, metricsOf["a"], watcherGauge, true)
	waitGauge(t, metricsOf["b"], watcherGauge, false)
	waitGauge(t, metricsOf["a"], refreshGauge, true)
	waitGauge(t, metricsOf["b"], refreshGauge, false)
	if sb, _ := scrape(t, metricsOf["b"]); len(filterPrefix(sb, "anchor_transactions{")) != 0 {
		t.Fatalf("b, which does not refresh, reports transactions: %v", filterPrefix(sb, "anchor_transactions{"))
	}

	// A reconcile run straight against the database, from a machine with no replica on it (no
	// admin socket): the refreshing replica reports it, from the store.
	rc := anchorProcess("reconcile", "--config", filepath.Join(tf.dir, "anchor.yaml"))
	rc.Env = append(rc.Env, "ANCHOR_HORIZON_URL="+tf.hz.URL(), "ANCHOR_DATA_DIR="+t.TempDir())
	ranAt := time.Now().Add(-time.Second)
	if out, err := rc.CombinedOutput(); err != nil && rc.ProcessState.ExitCode() != 1 {
		t.Fatalf("reconcile against the database: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		sa, _ := scrape(t, metricsOf["a"])
		const last = "anchor_reconcile_last_timestamp_seconds"
		if sa[last] >= float64(ranAt.Unix()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reconcile at %d: a reports %v", ranAt.Unix(), sa[last])
		}
	}

	// kill -9 of replica a in the middle of a credit batch it runs (through its admin socket),
	// while it also holds the watcher.
	const n = 12
	users := readyDeposits(t, tf, env, n)
	cli := func(dataDir string) *exec.Cmd {
		c := anchorProcess("credit", "--all", "--config", filepath.Join(tf.dir, "anchor.yaml"), "--by", "treasurer")
		c.Env = append(c.Env, "ANCHOR_HORIZON_URL="+tf.hz.URL(), "ANCHOR_DATA_DIR="+dataDir)
		return c
	}
	paid := func() int {
		k := 0
		for _, p := range tf.hz.Payments() {
			if p.From == tf.dist.Address() && p.Kind == "payment" {
				k++
			}
		}
		return k
	}
	paid0 := paid() // the tokens given to the withdrawing users
	batch := cli(a.dataDir)
	if err := batch.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); paid() < paid0+2 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	killedAt := time.Now()
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	batch.Wait()
	paidAtKill := paid() - paid0
	if out, err := cli(b.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("credit --all through b: %v\n%s", err, out)
	}
	perUser := map[string]int{}
	for _, p := range tf.hz.Payments() {
		if p.From == tf.dist.Address() && p.Kind == "payment" {
			perUser[p.To]++
		}
	}
	for id, user := range users {
		if perUser[user] != 1 {
			t.Errorf("deposit %s: %d payments", id, perUser[user])
		}
		if tx, err := ts.ShowTx(context.Background(), id); err != nil || tx.Status != transfer.Completed {
			t.Errorf("deposit %s: %v %v", id, err, tx)
		}
	}
	took := b.waitLog(t, 15*time.Second, "took over work that runs on one replica", "worker=watcher").Sub(killedAt)
	if took > 15*time.Second {
		t.Fatalf("the watcher was taken over after %s", took)
	}
	// Now b watches and refreshes: its metrics report the watcher's progress, from its first
	// poll on, and the store's gauges, the last reconcile among them (recorded in the store, it
	// outlives a).
	waitGauge(t, metricsOf["b"], watcherGauge, true)
	waitGauge(t, metricsOf["b"], refreshGauge, true)
	if sb, _ := scrape(t, metricsOf["b"]); sb["anchor_reconcile_last_timestamp_seconds"] < float64(ranAt.Unix()) {
		t.Fatalf("b reports the last reconcile at %v, before the run at %d", sb["anchor_reconcile_last_timestamp_seconds"], ranAt.Unix())
	}
	for _, wd := range wds[3:] {
		payMemo(t, tf, wd.user, "10", wd.memo)
	}
	// Every withdrawal payment, before and after the kill, is matched once by the watcher (of
	// a, then of b): none is left unmatched or recorded twice.
	for _, wd := range wds {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			tx, err := ts.ShowTx(context.Background(), wd.id)
			if err == nil && tx.Status == transfer.PendingAnchor {
				if tx.StellarTransactionID == "" {
					t.Fatalf("withdrawal %s received without its payment's hash", wd.id)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("withdrawal %s: its payment was never matched (%v %+v)", wd.id, err, tx)
			}
		}
	}
	if list, err := st.UnmatchedPayments(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("unmatched payments after the takeover: %v %+v", err, list)
	}
	t.Logf("killed a after %d of %d credits; b finished the batch: payments = deposits = %d; b took the watcher over %s after the kill; %d withdrawal payments (half before the kill) each matched once",
		paidAtKill, n, n, took.Round(10*time.Millisecond), len(wds))
}

const (
	watcherGauge = "anchor_watcher_caught_up_timestamp_seconds"
	refreshGauge = "anchor_metrics_refreshed_timestamp_seconds"
)

// waitGauge waits until the replica's metrics have (want) or lack the timestamp gauge name, a
// recent time when they have it.
func waitGauge(t *testing.T, metricsURL, name string, want bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		series, _ := scrape(t, metricsURL)
		v, has := series[name]
		if has == want && (!has || time.Since(time.Unix(int64(v), 0)) < time.Minute) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s present %v (value %v), want present %v", metricsURL, name, has, v, want)
		}
	}
}

// filterPrefix returns the series whose name (with labels) starts with prefix.
func filterPrefix(series map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range series {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}
