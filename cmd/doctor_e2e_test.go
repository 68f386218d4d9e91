package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/doctor"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestDoctor: anchor doctor against a real anchor serve and the Horizon stand-in passes a sound
// deployment, and each seeded misconfiguration fails its own check (and only passes without it).
func TestDoctor(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	dir := tf.dir
	backups := filepath.Join(t.TempDir(), "backups")
	os.MkdirAll(backups, 0o700)
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_BACKUP_DIR": backups}
	configureQuotes(t, dir)
	// A webhook, its receiver up.
	secret := []byte("6f1c2a9e0b7d4c3a8e5f1b2d9c0a7e6f")
	if err := os.WriteFile(filepath.Join(dir, "webhook-bank.secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	biz := newBusiness(t, secret)
	yaml, _ := os.ReadFile(filepath.Join(dir, "anchor.yaml"))
	yaml = bytes.Replace(yaml, []byte("  webhooks: []\n"), []byte("  webhooks:\n    - name: bank\n      url: "+biz.URL+"\n      secret_file: webhook-bank.secret\n"), 1)
	os.WriteFile(filepath.Join(dir, "anchor.yaml"), yaml, 0o600)
	s := startServe(t, dir, tf.port, env)
	cfgFile := filepath.Join(dir, "anchor.yaml")
	run := func(extra map[string]string) (map[string]doctor.Result, int, string) {
		t.Helper()
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		out, stderr, code := runCLI(t, context.Background(), e, "doctor", "--json", "--config", cfgFile)
		var rs []doctor.Result
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatalf("doctor --json: %v\n%s\n%s", err, out, stderr)
		}
		byCheck := map[string]doctor.Result{}
		for _, r := range rs {
			if prev, ok := byCheck[r.Check]; !ok || prev.Level != doctor.Fail {
				byCheck[r.Check] = r
			}
		}
		return byCheck, code, out
	}
	expectFail := func(step, check string, extra map[string]string) {
		t.Helper()
		rs, code, out := run(extra)
		if rs[check].Level != doctor.Fail || code != ExitFailure {
			t.Fatalf("%s: %q is %q (exit %d), want fail\n%s", step, check, rs[check].Level, code, out)
		}
	}

	// Before the issuer's home domain is set, and without a backup: those two fail.
	expectFail("no home domain", "issuer", nil)
	expectFail("no backup", "backups", nil)
	if _, stderr, code := runCLI(t, context.Background(), env, "account", "set-home-domain", "--config", cfgFile); code != 0 {
		t.Fatal(stderr)
	}
	if storetest.Postgres() {
		// PostgreSQL is backed up with pg_dump: a dump file of today.
		if err := os.WriteFile(filepath.Join(backups, "anchor-today.dump"), []byte("PGDMP"), 0o600); err != nil {
			t.Fatal(err)
		}
	} else if _, stderr, code := runCLI(t, context.Background(), env, "backup", "--out", filepath.Join(backups, "anchor-today.tar"), "--config", cfgFile); code != 0 {
		t.Fatal(stderr)
	}
	rs, code, out := run(nil)
	if code != 0 {
		t.Fatalf("a sound deployment: exit %d\n%s", code, out)
	}
	for _, check := range []string{"stellar.toml", "stellar.toml matches config", "signing key", "SEP-10", "SEP-6 /info", "SEP-24 /info",
		"SEP-38 /info", "SEP-38 prices", "webhook bank", "horizon", "clock", "issuer", "issuer flags", "asset USDX",
		"distribution USDX", "distribution key", "mode", "TLS", "data dir", "database", "admin socket", "secrets file", "backups"} {
		if rs[check].Level != doctor.OK {
			t.Fatalf("sound deployment: %q is %+v\n%s", check, rs[check], out)
		}
	}
	if storetest.Postgres() {
		// The server's connections are counted as anchor's (application_name), with room left.
		if m := regexp.MustCompile(`(\d+) of them anchor's`).FindStringSubmatch(rs["database"].Message); m == nil || m[1] == "0" {
			t.Fatalf("database: %q, want the server's connections counted as anchor's", rs["database"].Message)
		}
	}

	// The webhook's receiver goes down: a customer's event is retried, and the check warns.
	biz.down.Store(true)
	newWallet(t, s, nil).putJSON(map[string]string{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"})
	deadline := time.Now().Add(15 * time.Second)
	for {
		rs, code, out := run(nil)
		if hook := rs["webhook bank"]; hook.Level == doctor.Warn && strings.Contains(hook.Message, "retrying") && code == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the receiver down: %+v (exit %d)\n%s", hook, code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	biz.down.Store(false)

	// One misconfiguration at a time.
	expectFail("the served toml differs", "stellar.toml matches config", map[string]string{"ANCHOR_DOCUMENTATION_ORG_NAME": "Someone Else"})
	expectFail("another signing key", "signing key", map[string]string{"ANCHOR_SIGNING_SECRET": keypair.MustRandom().Seed()})
	expectFail("another network", "horizon", map[string]string{"ANCHOR_NETWORK_PASSPHRASE": network.PublicNetworkPassphrase})
	expectFail("a public domain in development mode", "mode", map[string]string{"ANCHOR_HOME_DOMAIN": "anchor.example.com"})
	certFile, keyFile, _ := selfSigned(t, t.TempDir(), "soon", 9, time.Now().Add(-time.Hour), time.Now().Add(5*24*time.Hour))
	expectFail("a certificate expiring in 5 days", "TLS", map[string]string{"ANCHOR_TLS_CERT_FILE": certFile, "ANCHOR_TLS_KEY_FILE": keyFile})

	expectFail("another account's distribution key", "distribution key", map[string]string{"ANCHOR_DISTRIBUTION_SECRET": keypair.MustRandom().Seed()})

	// A loopback stellar.toml server standing in for the domain: the real file with another
	// SIGNING_KEY (SEP-10 challenges do not verify with it), transfer servers whose /info lists
	// no asset, and a quote server whose pricing is down.
	real := do(t, "GET", "http://localhost:"+strconv.Itoa(tf.port)+"/.well-known/stellar.toml", "", nil).Body
	fake := httptest.NewServer(nil)
	defer fake.Close()
	fake.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch r.URL.Path {
		case "/.well-known/stellar.toml":
			body := regexp.MustCompile(`SIGNING_KEY = "G[A-Z2-7]{55}"`).ReplaceAllString(string(real), `SIGNING_KEY = "`+keypair.MustRandom().Address()+`"`)
			for key, path := range map[string]string{"TRANSFER_SERVER": "/sep6", "TRANSFER_SERVER_SEP0024": "/sep24", "ANCHOR_QUOTE_SERVER": "/sep38"} {
				body = regexp.MustCompile(key+` = "[^"]*"`).ReplaceAllString(body, key+` = "`+fake.URL+path+`"`)
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(body))
		case "/sep6/info", "/sep24/info":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"deposit": {}, "withdraw": {}}`))
		case "/sep38/info":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"assets": [{"asset": "iso4217:EUR"}]}`))
		case "/sep38/prices":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error": "prices are unavailable at the moment; try again shortly"}`))
		default:
			http.NotFound(w, r)
		}
	})
	fakeDomain := strings.TrimPrefix(fake.URL, "http://")
	expectFail("a toml whose key does not sign the challenges", "SEP-10", map[string]string{"ANCHOR_HOME_DOMAIN": fakeDomain})
	expectFail("an /info without the asset", "SEP-6 /info", map[string]string{"ANCHOR_HOME_DOMAIN": fakeDomain})
	expectFail("a SEP-24 /info without the asset", "SEP-24 /info", map[string]string{"ANCHOR_HOME_DOMAIN": fakeDomain})
	expectFail("pricing down", "SEP-38 prices", map[string]string{"ANCHOR_HOME_DOMAIN": fakeDomain})
	// A Horizon whose last ledger closed ten minutes from this machine's clock.
	skewed := standin.NewWithOptions(standin.Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
	defer skewed.Close()
	expectFail("a clock ten minutes off", "clock", map[string]string{"ANCHOR_HORIZON_URL": skewed.URL()})

	raw, _ := os.ReadFile(cfgFile)
	os.WriteFile(cfgFile, []byte(strings.Replace(string(raw), "low_balance: {}", `low_balance: {USDX: "999999"}`, 1)), 0o644)
	expectFail("a low balance", "distribution USDX", nil)
	os.WriteFile(cfgFile, bytes.Replace(raw, []byte("\n  assets:\n"), []byte("\n  assets:\n    - {asset: iso4217:GBP, decimals: 2}\n"), 1), 0o644)
	expectFail("an off-chain asset /info does not list", "SEP-38 /info", nil)
	os.WriteFile(cfgFile, raw, 0o644)

	secrets := filepath.Join(dir, "secrets.env")
	os.Chmod(secrets, 0o644)
	expectFail("a readable secrets file", "secrets file", nil)
	os.Chmod(secrets, 0o600)
	os.Chmod(filepath.Join(dir, "data"), 0o755)
	expectFail("an open data dir", "data dir", nil)
	os.Chmod(filepath.Join(dir, "data"), 0o700)
	authRequired := []txnbuild.AccountFlag{txnbuild.AuthRequired}
	submitTx(t, tf.hc, tf.issuer, &txnbuild.SetOptions{SetFlags: authRequired})
	expectFail("an issuer with AUTH_REQUIRED", "issuer flags", nil)
	submitTx(t, tf.hc, tf.issuer, &txnbuild.SetOptions{ClearFlags: authRequired})
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(backups, "anchor-today.tar"), old, old)
	os.Chtimes(filepath.Join(backups, "anchor-today.dump"), old, old)
	expectFail("an old backup", "backups", nil)
}
