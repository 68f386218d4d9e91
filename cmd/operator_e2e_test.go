package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/anchorkit/anchor/internal/operator"
)

// operatorClient calls the operator API with a key.
type operatorClient struct {
	t    *testing.T
	base string
	key  string
}

func (c operatorClient) call(method, path, body string, header ...string) httpResult {
	c.t.Helper()
	var rd *bytes.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	h := append([]string{"Authorization", "Bearer " + c.key}, header...)
	r := do(c.t, method, c.base+path, "application/json", rd, h...)
	checkAgainstSpec(c.t, method, c.base+path, r)
	return r
}

var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(operator.Spec())
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// checkAgainstSpec fails the test when an answer of the operator API is not what its OpenAPI
// description says (docs/openapi.json): the description cannot drift from what is served.
func checkAgainstSpec(t *testing.T, method, u string, r httpResult) {
	t.Helper()
	if r.Status == 401 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return
	}
	router, err := specRouter()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, u, nil)
	route, params, err := router.FindRoute(req)
	if err != nil && r.Status == 403 && strings.Contains(u, "/v1/apikeys") {
		return // keys are not managed through the API: refused before routing
	}
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI description: %v", method, u, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: r.Status, Header: r.Header, Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s answered %d, not as docs/openapi.json says: %v\n%s", method, u, r.Status, err, r.Body)
	}
}

// TestE2EOperatorAPI: the operator API on a real anchor serve. Keys made with anchor apikey
// (on the store before the server starts, through its socket while it runs) authenticate;
// no key, a wrong one and a revoked one are 401; each role may do its own calls only (a
// compliance key cannot credit, a read-only key cannot change anything, no key manages keys);
// answers are the CLI's views; the same Idempotency-Key twice credits once and gives the same
// answer again, and with another request is refused; the audit trail names the key; the log
// never holds a key; /openapi.json is served.
func TestE2EOperatorAPI(t *testing.T) {
	tf := newTreasuryFixture(t, "1000")
	opPort := freePort(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_OPERATOR_LISTEN": fmt.Sprintf("127.0.0.1:%d", opPort)}
	users := readyDeposits(t, tf, env, 2)
	cfgPath := filepath.Join(tf.dir, "anchor.yaml")
	cli := func(args ...string) (string, string) {
		t.Helper()
		out, stderr, code := runCLI(t, context.Background(), env, append(args, "--config", cfgPath)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return out, stderr
	}
	// Before the server starts: on the store.
	treasuryKey, note := cli("apikey", "create", "--name", "bank", "--role", "treasury", "--expires", "90d")
	treasuryKey = strings.TrimSpace(treasuryKey)
	if !strings.HasPrefix(treasuryKey, "anchor_") || strings.Count(treasuryKey, "\n") != 0 || !strings.Contains(note, "shown only this once") {
		t.Fatalf("apikey create printed %q, %q", treasuryKey, note)
	}
	s := startServe(t, tf.dir, tf.port, env)
	// While it runs: through its socket.
	complianceKey, _ := cli("apikey", "create", "--name", "kyc-vendor", "--role", "compliance")
	readKey, _ := cli("apikey", "create", "--name", "dashboard", "--role", "read-only")
	operatorKey, _ := cli("apikey", "create", "--name", "back-office", "--role", "operator")
	base := fmt.Sprintf("http://127.0.0.1:%d", opPort)
	bank := operatorClient{t, base, treasuryKey}
	vendor := operatorClient{t, base, strings.TrimSpace(complianceKey)}
	dash := operatorClient{t, base, strings.TrimSpace(readKey)}
	office := operatorClient{t, base, strings.TrimSpace(operatorKey)}

	for name, c := range map[string]operatorClient{"no key": {t, base, ""}, "a wrong key": {t, base, treasuryKey[:len(treasuryKey)-2] + "xx"}, "garbage": {t, base, "hunter2"}} {
		if r := c.call("GET", "/v1/tx", ""); r.Status != 401 || !strings.Contains(string(r.Body), `"error"`) || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	var deposits []map[string]any
	r := dash.call("GET", "/v1/tx?status=pending_anchor", "")
	if err := json.Unmarshal(r.Body, &deposits); r.Status != 200 || err != nil || len(deposits) != 2 {
		t.Fatalf("read-only list: %d %s", r.Status, r.Body)
	}
	if deposits[0]["amount_in"] != "10.0000000" {
		t.Fatalf("not the CLI's view (decimal amounts): %v", deposits[0])
	}
	// A webhook nobody configured: 404, in the SEP error shape.
	if r := dash.call("GET", "/v1/events/webhooks/nobody", ""); r.Status != 404 || !strings.Contains(string(r.Body), `"error":"not found"`) {
		t.Fatalf("an unknown webhook's backlog: %d %s", r.Status, r.Body)
	}
	id := deposits[0]["id"].(string)

	// Roles.
	for _, c := range []struct {
		who          operatorClient
		method, path string
		body         string
	}{
		{vendor, "POST", "/v1/treasury/credit/" + id, ""},
		{dash, "POST", "/v1/treasury/credit/" + id, ""},
		{dash, "POST", "/v1/tx/" + id + "/actions", `{"name":"hold","reason":"x"}`},
		{dash, "POST", "/v1/kyc/customers/x/decisions", `{"action":"approve"}`},
		{office, "POST", "/v1/treasury/credit/" + id, ""},
		{bank, "POST", "/v1/tx/" + id + "/actions", `{"name":"hold","reason":"x"}`},
		{bank, "GET", "/v1/backup", ""},
		{bank, "POST", "/v1/apikeys", `{"name":"mine","role":"treasury"}`},
	} {
		if r := c.who.call(c.method, c.path, c.body); r.Status != 403 {
			t.Fatalf("%s %s with a %s key: %d %s", c.method, c.path, c.who.key[:12], r.Status, r.Body)
		}
	}
	if r := office.call("POST", "/v1/tx/"+id+"/actions", `{"name":"hold","reason":"checking the wire"}`); r.Status != 200 || r.JSON(t)["status"] != "on_hold" {
		t.Fatalf("operator holds: %d %s", r.Status, r.Body)
	}
	if r := office.call("POST", "/v1/tx/"+id+"/actions", `{"name":"release"}`); r.Status != 200 || r.JSON(t)["status"] != "pending_anchor" {
		t.Fatalf("operator releases: %d %s", r.Status, r.Body)
	}

	// The same Idempotency-Key twice: one credit, the same answer.
	first := bank.call("POST", "/v1/treasury/credit/"+id+"?by=payments-job", "", "Idempotency-Key", "credit-"+id)
	if first.Status != 200 || first.JSON(t)["status"] != "completed" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("credit: %d %s", first.Status, first.Body)
	}
	again := bank.call("POST", "/v1/treasury/credit/"+id+"?by=payments-job", "", "Idempotency-Key", "credit-"+id)
	if again.Status != 200 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry: %d %s %v", again.Status, again.Body, again.Header)
	}
	if b, _ := tf.hz.Balance(users[id], "USDX:"+tf.issuer.Address()); b != 100_000_000 {
		t.Fatalf("balance %d after two calls with one key: want 10 USDX once", b)
	}
	other := deposits[1]["id"].(string)
	if r := bank.call("POST", "/v1/treasury/credit/"+other, "", "Idempotency-Key", "credit-"+id); r.Status != 422 {
		t.Fatalf("the key with another request: %d %s", r.Status, r.Body)
	}
	if b, _ := tf.hz.Balance(users[other], "USDX:"+tf.issuer.Address()); b != 0 {
		t.Fatalf("the refused call credited %d", b)
	}
	if r := bank.call("POST", "/v1/treasury/credit/"+other, "", "Idempotency-Key", "bad key with spaces"); r.Status != 400 {
		t.Fatalf("a malformed Idempotency-Key: %d %s", r.Status, r.Body)
	}

	// The audit trail names the key.
	detail := dash.call("GET", "/v1/tx/"+id, "")
	if detail.Status != 200 || !strings.Contains(string(detail.Body), `"apikey:bank (--by payments-job)"`) || !strings.Contains(string(detail.Body), `"apikey:back-office"`) {
		t.Fatalf("the transaction's history does not name the keys: %s", detail.Body)
	}

	// Revoked: refused at once.
	if out, _ := cli("apikey", "revoke", "kyc-vendor"); !strings.Contains(out, `Revoked API key "kyc-vendor"`) {
		t.Fatalf("revoke: %q", out)
	}
	if r := vendor.call("GET", "/v1/kyc/customers", ""); r.Status != 401 || !strings.Contains(string(r.Body), "revoked") {
		t.Fatalf("a revoked key: %d %s", r.Status, r.Body)
	}
	// Expired: refused, saying so.
	shortKey, _ := cli("apikey", "create", "--name", "temp", "--role", "read-only", "--expires", "3s")
	temp := operatorClient{t, base, strings.TrimSpace(shortKey)}
	if r := temp.call("GET", "/v1/tx", ""); r.Status != 200 {
		t.Fatalf("a fresh key: %d %s", r.Status, r.Body)
	}
	time.Sleep(3100 * time.Millisecond)
	if r := temp.call("GET", "/v1/tx", ""); r.Status != 401 || !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("an expired key: %d %s", r.Status, r.Body)
	}
	cli("apikey", "revoke", "temp")
	out, _ := cli("apikey", "list", "--json")
	var keys []map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 5 || keys[4]["state"] != "revoked" || strings.Contains(out, "hash") {
		t.Fatalf("apikey list --json: %s", out)
	}

	spec := do(t, "GET", base+"/openapi.json", "", nil)
	var doc map[string]any
	if spec.Status != 200 || json.Unmarshal(spec.Body, &doc) != nil || doc["openapi"] != "3.0.3" {
		t.Fatalf("/openapi.json: %d", spec.Status)
	}
	s.waitLogged(t, "key=dashboard") // the log is written in batches
	logs := s.Logs.String()
	for _, k := range []string{treasuryKey, complianceKey, readKey, operatorKey} {
		if secret := strings.TrimSpace(k); strings.Contains(logs, secret[len(secret)-20:]) {
			t.Fatal("the server's log holds a key")
		}
	}
}
