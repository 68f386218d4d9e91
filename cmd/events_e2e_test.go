package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/pkg/webhooksig"
)

// business is the issuer's back office on loopback: it receives events, verifies each
// signature, and refuses deliveries while it is down.
type business struct {
	*httptest.Server
	mu     sync.Mutex
	got    []map[string]any
	ids    map[float64]int
	down   atomic.Bool
	forged atomic.Int32
	failed atomic.Int32
	// hang holds each POST unanswered until its sender goes away; hung counts them.
	hang atomic.Bool
	hung atomic.Int32
}

func newBusiness(t *testing.T, secret []byte) *business {
	b := &business{ids: map[float64]int{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhooksig.Verify(secret, r.Header.Get(webhooksig.Header), body, time.Now(), 0); err != nil {
			b.forged.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if b.hang.Load() {
			b.hung.Add(1)
			<-r.Context().Done()
			return
		}
		if b.down.Load() {
			b.failed.Add(1)
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		if b.ids[e["id"].(float64)]++; b.ids[e["id"].(float64)] == 1 { // drop duplicates by id
			b.got = append(b.got, e)
		}
		b.mu.Unlock()
	}))
	t.Cleanup(b.Close)
	return b
}

// of returns the events received for a subject, in arrival order.
func (b *business) of(subject string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, e := range b.got {
		if e["subject"] == subject {
			out = append(out, e)
		}
	}
	return out
}

// wait returns a subject's events once ok holds for them (each subject is delivered on its own).
func (b *business) wait(t *testing.T, subject string, ok func([]map[string]any) bool) []map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if es := b.of(subject); ok(es) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("the business got, for %s: %v", subject, b.of(subject))
		}
	}
}

// TestE2EEventsToTheBusiness: a whole deposit — the wallet through SEP-10, SEP-12 and SEP-6,
// compliance, operations and treasury through the operator API with their keys — reaches the
// business's webhook as events, each signed, every status change of the transaction in order
// (each event's previous status the last one's new status, seq 1, 2, 3, ...), with the
// customer's submission and acceptance and the payment sent; the webhook was down at first
// (answering 500) and got everything once it came back; the pull API lists the same events.
func TestE2EEventsToTheBusiness(t *testing.T) {
	tf := newTreasuryFixture(t, "1000")
	secret := []byte("6f1c2a9e0b7d4c3a8e5f1b2d9c0a7e6f")
	if err := os.WriteFile(filepath.Join(tf.dir, "webhook-bank.secret"), append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	biz := newBusiness(t, secret)
	biz.down.Store(true)
	path := filepath.Join(tf.dir, "anchor.yaml")
	raw, _ := os.ReadFile(path)
	raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: "+biz.URL+"/anchor-events\n      secret_file: webhook-bank.secret\n"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	opPort := freePort(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_OPERATOR_LISTEN": fmt.Sprintf("127.0.0.1:%d", opPort)}
	key := func(name, role string) operatorClient {
		out, stderr, code := runCLI(t, context.Background(), env, "apikey", "create", "--name", name, "--role", role, "--config", path)
		if code != 0 {
			t.Fatalf("apikey create: %s", stderr)
		}
		return operatorClient{t, fmt.Sprintf("http://127.0.0.1:%d", opPort), strings.TrimSpace(out)}
	}
	compliance, ops, treasurer := key("kyc-vendor", "compliance"), key("back-office", "operator"), key("payments", "treasury")
	s := startServe(t, tf.dir, tf.port, env)

	user := keypair.MustRandom()
	tf.hc.Fund(user.Address())
	submitTx(t, tf.hc, user, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "1000"})
	w := signedInWallet(t, s, user)
	put := w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"})
	if put.Status != 202 {
		t.Fatalf("PUT /customer: %d %s", put.Status, put.Body)
	}
	customer := put.JSON(t)["id"].(string)
	dep := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "account": {user.Address()}})
	if dep.Status != 200 {
		t.Fatalf("deposit: %d %s", dep.Status, dep.Body)
	}
	id := dep.JSON(t)["id"].(string)
	if r := compliance.call("POST", "/v1/kyc/customers/"+customer+"/decisions", `{"action":"approve"}`, "Idempotency-Key", "kyc-"+customer); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	waitStatus := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); w.tx(id)["status"] != want; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the deposit is %v, not %s", w.tx(id)["status"], want)
			}
		}
	}
	waitStatus("pending_user_transfer_start")
	if r := ops.call("POST", "/v1/tx/"+id+"/actions", `{"name":"received","amount":"25","external_id":"WIRE-77"}`, "Idempotency-Key", "wire-77"); r.Status != 200 {
		t.Fatalf("deposit received: %d %s", r.Status, r.Body)
	}
	if r := treasurer.call("POST", "/v1/treasury/credit/"+id, "", "Idempotency-Key", "credit-"+id); r.Status != 200 || r.JSON(t)["status"] != "completed" {
		t.Fatalf("credit: %d %s", r.Status, r.Body)
	}
	time.Sleep(2 * time.Second) // the business is down a while: deliveries fail and back off
	if biz.failed.Load() == 0 {
		t.Fatal("no delivery was tried while the business was down")
	}
	biz.down.Store(false)

	subject := "transaction:" + id
	var txEvents []map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		txEvents = biz.of(subject)
		if n := len(txEvents); n > 0 && txEvents[n-1]["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the business got, for the deposit: %v", txEvents)
		}
	}
	var chain []string
	status := ""
	for i, e := range txEvents {
		if e["seq"] != float64(i+1) {
			t.Fatalf("event %d of the deposit has seq %v: out of order or missing: %v", i+1, e["seq"], txEvents)
		}
		switch e["type"] {
		case "transaction.created":
			status = e["status"].(string)
		case "transaction.status_changed":
			if e["previous_status"] != status {
				t.Fatalf("status change from %v after %s: a change missing or out of order", e["previous_status"], status)
			}
			status = e["status"].(string)
		}
		chain = append(chain, fmt.Sprint(e["type"], " ", e["status"]))
		if data := e["data"].(map[string]any); data["id"] != id || data["status"] != e["status"] {
			t.Fatalf("event data is not the transaction's view: %v", data)
		}
	}
	if status != "completed" {
		t.Fatalf("the deposit's events end at %s: %v", status, chain)
	}
	if !strings.Contains(fmt.Sprint(chain), "payment.sent pending_stellar") {
		t.Fatalf("no payment.sent among the deposit's events: %v", chain)
	}
	t.Logf("the deposit's events: %v", chain)
	cust := biz.wait(t, "customer:"+customer, func(es []map[string]any) bool { return len(es) >= 3 })
	if cust[0]["type"] != "customer.submitted" || cust[len(cust)-1]["status"] != "ACCEPTED" {
		t.Fatalf("the customer's events: %v", cust)
	}
	if biz.forged.Load() != 0 {
		t.Fatal("a delivery's signature did not verify")
	}
	biz.wait(t, "action:credit/"+id, func(es []map[string]any) bool {
		return len(es) > 0 && es[len(es)-1]["type"] == "treasury.action_confirmed"
	})
	// A withdrawal likewise: the user pays on-chain, the watcher finds it, the back office pays
	// out the fiat.
	put = w.putJSON(map[string]string{"type": "sep6-withdraw", "bank_account_number": "12345678", "bank_number": "021000021"})
	if put.Status != 202 {
		t.Fatalf("PUT /customer (bank): %d %s", put.Status, put.Body)
	}
	if r := compliance.call("POST", "/v1/kyc/customers/"+customer+"/decisions", `{"action":"approve"}`); r.Status != 200 {
		t.Fatalf("approve the bank details: %d %s", r.Status, r.Body)
	}
	wd := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"12"}})
	if wd.Status != 200 {
		t.Fatalf("withdraw: %d %s", wd.Status, wd.Body)
	}
	wid, memo := wd.JSON(t)["id"].(string), wd.JSON(t)["memo"].(string)
	payMemo(t, tf, user, "12", memo)
	for deadline := time.Now().Add(20 * time.Second); w.tx(wid)["status"] != "pending_anchor"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not find the payment: %v", w.tx(wid)["status"])
		}
	}
	if r := ops.call("POST", "/v1/tx/"+wid+"/actions", `{"name":"paid","external_id":"OUT-1"}`, "Idempotency-Key", "out-1"); r.Status != 200 || r.JSON(t)["status"] != "completed" {
		t.Fatalf("withdraw paid: %d %s", r.Status, r.Body)
	}
	var wEvents []map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		wEvents = biz.of("transaction:" + wid)
		if n := len(wEvents); n > 0 && wEvents[n-1]["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the business got, for the withdrawal: %v", wEvents)
		}
	}
	var wchain []string
	for i, e := range wEvents {
		if e["seq"] != float64(i+1) {
			t.Fatalf("withdrawal event %d has seq %v", i+1, e["seq"])
		}
		wchain = append(wchain, fmt.Sprint(e["type"], " ", e["status"]))
	}
	if !strings.Contains(fmt.Sprint(wchain), "payment.received pending_anchor") {
		t.Fatalf("no payment.received among the withdrawal's events: %v", wchain)
	}
	t.Logf("the withdrawal's events: %v", wchain)

	// The pull API has them too, in order.
	r := treasurer.call("GET", "/v1/events?after=0&limit=1000", "")
	var pulled []map[string]any
	if err := json.Unmarshal(r.Body, &pulled); r.Status != 200 || err != nil {
		t.Fatalf("GET /v1/events: %d %s", r.Status, r.Body)
	}
	n := 0
	for i, e := range pulled {
		if i > 0 && e["id"].(float64) <= pulled[i-1]["id"].(float64) {
			t.Fatal("GET /v1/events out of order")
		}
		if e["subject"] == subject {
			n++
		}
	}
	if n != len(txEvents) {
		t.Fatalf("GET /v1/events lists %d of the deposit's %d events", n, len(txEvents))
	}
	// A long poll answers when an event comes.
	last := uint64(pulled[len(pulled)-1]["id"].(float64))
	done := make(chan httpResult, 1)
	go func() { done <- treasurer.call("GET", fmt.Sprintf("/v1/events?after=%d&wait=20s", last), "") }()
	time.Sleep(300 * time.Millisecond)
	if r := ops.call("POST", "/v1/tx/"+id+"/actions", `{"name":"refund","reason":"test"}`); r.Status == 200 {
		t.Log("refunded")
	}
	w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada B."})
	select {
	case r := <-done:
		if r.Status != 200 || !strings.Contains(string(r.Body), `"customer.`) {
			t.Fatalf("the long poll: %d %s", r.Status, r.Body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not answer when an event came")
	}
	out, stderr, code := runCLI(t, context.Background(), env, "events", "list", "--json", "--limit", "1000", "--config", path)
	var listed []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) < len(pulled) {
		t.Fatalf("anchor events list: %d %s", code, stderr)
	}
	// The business asks for the deposit's first event again (delivered long ago): the CLI, then
	// the operator API, each queue it once more; the business gets it twice more, same id.
	first := txEvents[0]["id"].(float64)
	out, stderr, code = runCLI(t, context.Background(), env, "events", "redeliver", fmt.Sprint(first), "--config", path)
	if code != 0 || out != "Queued 1 delivery again.\n" {
		t.Fatalf("anchor events redeliver %v: %d %q %s", first, code, out, stderr)
	}
	times := func() int { biz.mu.Lock(); defer biz.mu.Unlock(); return biz.ids[first] }
	for deadline := time.Now().Add(15 * time.Second); times() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the event sent again did not arrive (%d)", times())
		}
	}
	if r := ops.call("POST", "/v1/events/redeliver", fmt.Sprintf(`{"event_id":%v}`, first)); r.Status != 200 || !strings.Contains(string(r.Body), `"redelivered":1`) {
		t.Fatalf("POST /v1/events/redeliver: %d %s", r.Status, r.Body)
	}
	for deadline := time.Now().Add(15 * time.Second); times() < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the event sent again through the operator API did not arrive (%d)", times())
		}
	}
	if _, stderr, code := runCLI(t, context.Background(), env, "events", "redeliver", "999999999", "--config", path); code == 0 || stderr != "anchor: event 999999999 is not in the event log (anchor events list)\n" {
		t.Fatalf("redeliver an event not in the log: %d %q", code, stderr)
	}
	for body, want := range map[string]string{
		`{"event_id":999999999}`: `404 {"error":"event 999999999 is not in the event log"}`,
		`{"event_id":-1}`:        `400 {"error":"give {\"event_id\": N} or {\"all\": true}"}`,
		`{}`:                     `400 {"error":"give {\"event_id\": N} or {\"all\": true}"}`,
	} {
		if r := ops.call("POST", "/v1/events/redeliver", body); fmt.Sprint(r.Status, " ", strings.TrimSpace(string(r.Body))) != want {
			t.Fatalf("POST /v1/events/redeliver %s: %d %s, want %s", body, r.Status, r.Body, want)
		}
	}
	if n := times(); n != 3 {
		t.Fatalf("the business got the event %d times, want 3", n)
	}
}

// TestE2EEventOutlivesKill9: anchor serve is killed (SIGKILL) after a change and before its
// event reached the business — which was down (the event waits as a delivery record), or held
// the POST unanswered (the feed had not moved past it) —; the next start delivers it, with the
// same id.
func TestE2EEventOutlivesKill9(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(map[bool]string{false: "business down", true: "POST in flight"}[hang], func(t *testing.T) { eventOutlivesKill9(t, hang) })
	}
}

func eventOutlivesKill9(t *testing.T, hang bool) {
	dir, port := initAnchor(t)
	secret := []byte("6f1c2a9e0b7d4c3a8e5f1b2d9c0a7e6f")
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	biz := newBusiness(t, secret)
	biz.down.Store(!hang)
	biz.hang.Store(hang)
	path := filepath.Join(dir, "anchor.yaml")
	raw, _ := os.ReadFile(path)
	raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: "+biz.URL+"\n      types: [transaction.*]\n      secret_file: hook.secret\n"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		t.Helper()
		c := anchorProcess("serve", "--config", path, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		c.Env = append(c.Env, "ANCHOR_HORIZON_URL=none", "ANCHOR_KYC_AUTO_APPROVE=true")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port)); err == nil {
				resp.Body.Close()
				return c
			}
			if time.Now().After(deadline) {
				t.Fatal("anchor serve did not start")
			}
		}
	}
	first := start()
	w := newWallet(t, &anchorServer{URL: fmt.Sprintf("http://localhost:%d", port), Port: port}, nil)
	w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"})
	dep := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}})
	if dep.Status != 200 {
		t.Fatalf("deposit: %d %s", dep.Status, dep.Body)
	}
	id := dep.JSON(t)["id"].(string)
	for deadline := time.Now().Add(10 * time.Second); biz.failed.Load() == 0 && biz.hung.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no delivery was tried")
		}
	}
	out, stderr, code := runCLI(t, context.Background(), map[string]string{}, "events", "list", "--json", "--config", path)
	var before []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &before) != nil {
		t.Fatalf("events list: %d %s", code, stderr)
	}
	var ids []float64
	for _, e := range before {
		if e["subject"] == "transaction:"+id {
			ids = append(ids, e["id"].(float64))
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no event of the deposit: %s", out)
	}
	if !hang {
		// The failed POST left its events retrying: anchor events webhooks says so.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			out, stderr, code := runCLI(t, context.Background(), map[string]string{}, "events", "webhooks", "--json", "--config", path)
			var hooks []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &hooks) != nil || len(hooks) != 1 || hooks[0]["webhook"] != "bank" {
				t.Fatalf("events webhooks: %d %s %s", code, out, stderr)
			}
			if hooks[0]["retrying"].(float64) >= 1 && hooks[0]["dead"].(float64) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no delivery retrying: %s", out)
			}
		}
		if out, stderr, code := runCLI(t, context.Background(), map[string]string{}, "events", "webhooks", "--config", path); code != 0 ||
			!strings.Contains(out, "RETRYING") || !strings.Contains(out, "bank") {
			t.Fatalf("events webhooks: %d %s %s", code, out, stderr)
		}
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	biz.down.Store(false)
	biz.hang.Store(false)
	start()
	for deadline := time.Now().Add(20 * time.Second); len(biz.of("transaction:"+id)) < len(ids); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the business got %v of %v", biz.of("transaction:"+id), ids)
		}
	}
	for i, e := range biz.of("transaction:" + id) {
		if e["id"] != ids[i] {
			t.Fatalf("event %d delivered with id %v, listed before the kill as %v", i, e["id"], ids[i])
		}
	}
}

// TestE2EWebhookSecretOnlyForServe: a webhook's secret file is read by anchor serve, which
// refuses to start without it (one line naming the key); other commands, run by users who may
// not read it, work.
func TestE2EWebhookSecretOnlyForServe(t *testing.T) {
	dir, port := initAnchor(t)
	path := filepath.Join(dir, "anchor.yaml")
	raw, _ := os.ReadFile(path)
	raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: https://bank.example/events\n      secret_file: missing.secret\n"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, context.Background(), nil, "kyc", "list", "--config", path); code != 0 {
		t.Fatalf("kyc list without the webhook's secret: %d %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, stderr, code := runCLI(t, ctx, map[string]string{"ANCHOR_HORIZON_URL": "none"}, "serve", "--config", path, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	if code == 0 || !strings.Contains(stderr, "config: events.webhooks[0].secret_file: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("serve without the secret: %d %q", code, stderr)
	}
}

// TestE2EWebhookBatchRefused: events.webhooks[].batch beyond its bounds is a config error naming
// the key, on one line.
func TestE2EWebhookBatchRefused(t *testing.T) {
	for _, batch := range []string{"-1", "501"} {
		dir, _ := initAnchor(t)
		path := filepath.Join(dir, "anchor.yaml")
		raw, _ := os.ReadFile(path)
		raw = bytes.Replace(raw, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: https://bank.example/events\n      secret_file: bank.secret\n      batch: "+batch+"\n"), 1)
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runCLI(t, context.Background(), nil, "config", "show", "--config", path)
		if code == 0 || !strings.Contains(stderr, "events.webhooks[0].batch: "+batch) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("batch %s: %d %q", batch, code, stderr)
		}
	}
}
