package cmd

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/pkg/sep10"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// discovered is what a wallet learns from the anchor's stellar.toml.
type discovered struct {
	toml          *stellartoml.StellarTOML
	homeDomain    string
	webAuthDomain string
}

func discover(t *testing.T, s *anchorServer) discovered {
	t.Helper()
	f, err := stellartoml.Fetch(context.Background(), http.DefaultClient, "localhost:"+strconv.Itoa(s.Port))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Findings) != 0 {
		t.Fatalf("served toml findings: %v", f.Findings)
	}
	if errs := stellartoml.Validate(f.Body); stellartoml.HasErrors(errs, false) {
		t.Fatalf("served toml is invalid: %v", errs)
	}
	tm, err := stellartoml.Decode(f.Body)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(tm.WebAuthEndpoint)
	return discovered{toml: tm, homeDomain: "localhost:" + strconv.Itoa(s.Port), webAuthDomain: u.Host}
}

// walletSignOwn reads the challenge with pkg/sep10's wallet side (which, unlike the SDK's
// ReadChallengeTx, knows the client_domain operation), then signs it.
func walletSignOwn(t *testing.T, d discovered, challenge string, kps ...*keypair.Full) string {
	t.Helper()
	c := &sep10.Client{ServerKey: d.toml.SigningKey, Network: d.toml.NetworkPassphrase, HomeDomain: d.homeDomain, Endpoint: d.toml.WebAuthEndpoint}
	if _, err := c.Read(challenge); err != nil {
		t.Fatalf("wallet rejects the challenge: %v", err)
	}
	signed, err := sep10.SignChallenge(challenge, d.toml.NetworkPassphrase, kps...)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// walletSign reads the challenge with the SDK exactly as a wallet does, then signs it.
func walletSign(t *testing.T, d discovered, challenge string, kps ...*keypair.Full) string {
	t.Helper()
	tx, _, _, _, err := txnbuild.ReadChallengeTx(challenge, d.toml.SigningKey, d.toml.NetworkPassphrase, d.webAuthDomain, []string{d.homeDomain})
	if err != nil {
		t.Fatalf("SDK rejects the challenge: %v", err)
	}
	tx, err = tx.Sign(d.toml.NetworkPassphrase, kps...)
	if err != nil {
		t.Fatal(err)
	}
	b64, err := tx.Base64()
	if err != nil {
		t.Fatal(err)
	}
	return b64
}

func jwtSecret(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ANCHOR_JWT_SECRET="); ok {
			return []byte(v)
		}
	}
	t.Fatal("no ANCHOR_JWT_SECRET in secrets.env")
	return nil
}

func claimsOf(t *testing.T, dir, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return jwtSecret(t, dir), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return claims
}

func TestE2EWalletAuthenticates(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	if d.toml.WebAuthEndpoint != s.URL+"/auth" {
		t.Fatalf("WEB_AUTH_ENDPOINT %q", d.toml.WebAuthEndpoint)
	}
	client := keypair.MustRandom()

	r := getChallenge(t, s.URL, url.Values{"account": {client.Address()}})
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET /auth: %d %s", r.Status, r.Body)
	}
	body := r.JSON(t)
	if body["network_passphrase"] != network.TestNetworkPassphrase {
		t.Errorf("network_passphrase %v", body["network_passphrase"])
	}
	challenge := body["transaction"].(string)
	var env xdr.TransactionEnvelope
	if err := xdr.SafeUnmarshalBase64(challenge, &env); err != nil {
		t.Fatal(err)
	}
	// SEP-10: the home domain includes the port.
	if k := string(env.V1.Tx.Operations[0].Body.ManageDataOp.DataName); k != d.homeDomain+" auth" {
		t.Errorf("first op key %q", k)
	}
	signed := walletSign(t, d, challenge, client)

	r = postJSON(t, s.URL, signed)
	if r.Status != 200 {
		t.Fatalf("POST /auth: %d %s", r.Status, r.Body)
	}
	token := r.JSON(t)["token"].(string)
	c := claimsOf(t, dir, token)
	if c["iss"] != s.URL+"/auth" || c["sub"] != client.Address() || c["home_domain"] != d.homeDomain {
		t.Errorf("claims %v", c)
	}
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if time.Since(time.Unix(int64(iat), 0)) > time.Minute || exp-iat != 24*3600 {
		t.Errorf("iat %v exp %v", iat, exp)
	}
	hash, _ := network.HashTransactionInEnvelope(env, network.TestNetworkPassphrase)
	if c["jti"] != hex.EncodeToString(hash[:]) {
		t.Errorf("jti %v, want challenge hash", c["jti"])
	}

	// A challenge is exchanged once, even after a restart (the mark is in the store).
	if r := postJSON(t, s.URL, signed); r.Status != 400 || !strings.Contains(r.JSON(t)["error"].(string), "already been used") {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	if err := s.Stop(t); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	s = startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	if r := postJSON(t, s.URL, signed); r.Status != 400 {
		t.Fatalf("replay after restart: %d %s", r.Status, r.Body)
	}

	// An account that authenticated without a memo is not a shared account (SEP-12).
	r = getChallenge(t, s.URL, url.Values{"account": {client.Address()}, "memo": {"5"}})
	if r = postJSON(t, s.URL, walletSign(t, d, r.JSON(t)["transaction"].(string), client)); r.Status != 400 || !strings.Contains(string(r.Body), "not a shared account") {
		t.Fatalf("memo for a non-shared account: %d %s", r.Status, r.Body)
	}

	// Form encoding, memo and muxed accounts (a shared account: always with a memo or muxed id).
	omnibus := keypair.MustRandom()
	r = getChallenge(t, s.URL, url.Values{"account": {omnibus.Address()}, "memo": {"123456789"}})
	signed = walletSign(t, d, r.JSON(t)["transaction"].(string), omnibus)
	r = do(t, "POST", s.URL+"/auth", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"transaction": {signed}}.Encode()))
	if r.Status != 200 {
		t.Fatalf("form POST: %d %s", r.Status, r.Body)
	}
	if sub := claimsOf(t, dir, r.JSON(t)["token"].(string))["sub"]; sub != omnibus.Address()+":123456789" {
		t.Errorf("memo sub %v", sub)
	}
	r = getChallenge(t, s.URL, url.Values{"account": {omnibus.Address()}})
	if r = postJSON(t, s.URL, walletSign(t, d, r.JSON(t)["transaction"].(string), omnibus)); r.Status != 400 || !strings.Contains(string(r.Body), "shared account") {
		t.Fatalf("no memo for a shared account: %d %s", r.Status, r.Body)
	}
	mux, _ := xdr.MuxedAccountFromAccountId(omnibus.Address(), 77)
	r = getChallenge(t, s.URL, url.Values{"account": {mux.Address()}})
	if r.Status != 200 {
		t.Fatalf("muxed challenge: %d %s", r.Status, r.Body)
	}
	signed, err := sep10.SignChallenge(r.JSON(t)["transaction"].(string), network.TestNetworkPassphrase, omnibus)
	if err != nil {
		t.Fatal(err)
	}
	r = postJSON(t, s.URL, signed)
	if r.Status != 200 {
		t.Fatalf("muxed POST: %d %s", r.Status, r.Body)
	}
	if sub := claimsOf(t, dir, r.JSON(t)["token"].(string))["sub"]; sub != mux.Address() {
		t.Errorf("muxed sub %v", sub)
	}

	// No secret reaches the logs (stopping the server flushes them).
	s.Stop(t)
	sec, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	for _, line := range strings.Split(string(sec), "\n") {
		if _, v, ok := strings.Cut(line, "="); ok && v != "" && strings.Contains(s.Logs.String(), v) {
			t.Errorf("a secret from secrets.env appears in the server log")
		}
	}
	if !strings.Contains(s.Logs.String(), "request_id=") {
		t.Error("access log has no request ids")
	}
}

func TestE2EInvalidRequests(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_AUTH_RATE_LIMIT": "1", "ANCHOR_AUTH_RATE_BURST": "1000"})
	client := keypair.MustRandom()
	mux, _ := xdr.MuxedAccountFromAccountId(client.Address(), 5)
	cases := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		status int
		errHas string
	}{
		{"missing account", "GET", "/auth", "", "", 400, "account is required"},
		{"bad account", "GET", "/auth?account=GBAD", "", "", 400, "not a valid Stellar account"},
		{"secret seed as account", "GET", "/auth?account=" + client.Seed(), "", "", 400, "not a Stellar account"},
		{"text memo", "GET", "/auth?account=" + client.Address() + "&memo=hello", "", "", 400, "id memo"},
		{"memo with muxed account", "GET", "/auth?account=" + mux.Address() + "&memo=1", "", "", 400, "not allowed with a muxed"},
		{"other home domain", "GET", "/auth?account=" + client.Address() + "&home_domain=evil.example", "", "", 400, "home_domain"},
		{"unreachable client domain", "GET", "/auth?account=" + client.Address() + "&client_domain=127.0.0.1:1", "", "", 400, "client_domain"},
		{"POST without transaction", "POST", "/auth", "application/json", `{}`, 400, "transaction is required"},
		{"POST bad JSON", "POST", "/auth", "application/json", `{"transaction":`, 400, "not valid JSON"},
		{"POST garbage transaction", "POST", "/auth", "application/json", `{"transaction":"AAAA"}`, 400, "base64 XDR"},
		{"POST unsupported content type", "POST", "/auth", "text/xml", `<x/>`, 400, "Content-Type"},
		{"POST too large", "POST", "/auth", "application/json", `{"transaction":"` + strings.Repeat("A", 70000) + `"}`, 413, "too large"},
		{"unknown path", "GET", "/nope", "", "", 404, "not found"},
		{"wrong method", "DELETE", "/auth", "", "", 405, "method not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, s.URL+c.path, c.ctype, strings.NewReader(c.body))
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header on an error response")
			}
			if msg, _ := r.JSON(t)["error"].(string); !strings.Contains(msg, c.errHas) {
				t.Errorf("error %q, want it to contain %q", msg, c.errHas)
			}
		})
	}

	t.Run("preflight", func(t *testing.T) {
		r := do(t, "OPTIONS", s.URL+"/auth", "", nil, "Origin", "https://wallet.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Fatalf("preflight %d %v", r.Status, r.Header)
		}
	})
	t.Run("toml headers", func(t *testing.T) {
		r := do(t, "GET", s.URL+"/.well-known/stellar.toml", "", nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || r.Header.Get("Access-Control-Allow-Origin") != "*" || len(r.Body) > stellartoml.MaxSize {
			t.Fatalf("toml %d %v", r.Status, r.Header)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		dir, port := initAnchor(t)
		s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_AUTH_RATE_LIMIT": "1", "ANCHOR_AUTH_RATE_BURST": "3"})
		statuses := []int{}
		for i := 0; i < 5; i++ {
			statuses = append(statuses, getChallenge(t, s.URL, url.Values{"account": {client.Address()}}).Status)
		}
		if statuses[0] != 200 || statuses[2] != 200 || statuses[4] != 429 {
			t.Fatalf("statuses %v, want 3×200 then 429", statuses)
		}
	})
	// Behind a trusted reverse proxy each wallet has its own bucket (keyed on X-Forwarded-For);
	// without trusted_proxies the header is ignored, so a client cannot pick its own bucket.
	t.Run("rate limit behind a proxy", func(t *testing.T) {
		for _, trusted := range []bool{true, false} {
			dir, port := initAnchor(t)
			env := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_AUTH_RATE_LIMIT": "1", "ANCHOR_AUTH_RATE_BURST": "2"}
			if trusted {
				env["ANCHOR_TRUSTED_PROXIES"] = "127.0.0.1/32,::1/128"
			}
			s := startServe(t, dir, port, env)
			get := func(from string) int {
				return do(t, "GET", s.URL+"/auth?account="+client.Address(), "", nil, "X-Forwarded-For", "6.6.6.6, "+from).Status
			}
			a := []int{get("198.51.100.1"), get("198.51.100.1"), get("198.51.100.1")}
			b := get("198.51.100.2")
			if a[2] != 429 || (trusted && b != 200) || (!trusted && b != 429) {
				t.Fatalf("trusted=%v: wallet A %v, wallet B %d", trusted, a, b)
			}
			for i := 0; trusted && i < 100 && !strings.Contains(s.Logs.String(), "remote=198.51.100.2"); i++ {
				time.Sleep(20 * time.Millisecond) // the log writer flushes every 100 ms
			}
			if trusted && !strings.Contains(s.Logs.String(), "remote=198.51.100.2") {
				t.Fatalf("the access log does not name the client:\n%s", s.Logs.String())
			}
			s.Stop(t)
		}
	})
}

func TestE2ESignerThresholdsFromHorizon(t *testing.T) {
	hz := standin.New()
	defer hz.Close()
	dir, port := initAnchor(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL(), "ANCHOR_MODE": "production"}
	s := startServe(t, dir, port, env)
	d := discover(t, s)

	master, cosigner := keypair.MustRandom(), keypair.MustRandom()
	// An account created and changed through the stand-in's ledger: funded by friendbot, then a
	// set_options adds a signer and raises the thresholds, so medium needs both keys.
	hc := &horizonclient.Client{HorizonURL: hz.URL(), HTTP: http.DefaultClient}
	if _, err := hc.Fund(master.Address()); err != nil {
		t.Fatal(err)
	}
	low, med, high := txnbuild.Threshold(1), txnbuild.Threshold(2), txnbuild.Threshold(2)
	submitTx(t, hc, master, &txnbuild.SetOptions{Signer: &txnbuild.Signer{Address: cosigner.Address(), Weight: 1},
		LowThreshold: &low, MediumThreshold: &med, HighThreshold: &high})
	round := func(account string, kps ...*keypair.Full) httpResult {
		r := getChallenge(t, s.URL, url.Values{"account": {account}})
		if r.Status != 200 {
			t.Fatalf("challenge: %d %s", r.Status, r.Body)
		}
		return postJSON(t, s.URL, walletSign(t, d, r.JSON(t)["transaction"].(string), kps...))
	}
	if r := round(master.Address(), master); r.Status != 400 || !strings.Contains(string(r.Body), "threshold") {
		t.Fatalf("master alone: %d %s", r.Status, r.Body)
	}
	if r := round(master.Address(), master, cosigner); r.Status != 200 {
		t.Fatalf("master+cosigner: %d %s", r.Status, r.Body)
	}
	if r := round(master.Address(), cosigner); r.Status != 400 {
		t.Fatalf("cosigner alone: %d %s", r.Status, r.Body)
	}
	// Lower the medium threshold on the ledger (a threshold change needs the high threshold, 2:
	// both keys sign): then one key is enough.
	one := txnbuild.Threshold(1)
	acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: master.Address()})
	stx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.SetOptions{MediumThreshold: &one}}, BaseFee: 100,
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	stx, _ = stx.Sign(network.TestNetworkPassphrase, master, cosigner)
	if _, err := hc.SubmitTransaction(stx); err != nil {
		t.Fatalf("lower the threshold: %v", err)
	}
	if r := round(master.Address(), master); r.Status != 200 {
		t.Fatalf("master alone after lowering the medium threshold: %d %s", r.Status, r.Body)
	}
	// An account that does not exist: the master key alone, nothing else.
	fresh, other := keypair.MustRandom(), keypair.MustRandom()
	if r := round(fresh.Address(), fresh); r.Status != 200 {
		t.Fatalf("new account: %d %s", r.Status, r.Body)
	}
	if r := round(fresh.Address(), fresh, other); r.Status != 400 {
		t.Fatalf("new account with an extra signature: %d %s", r.Status, r.Body)
	}
	// A failing Horizon gives 503, never a token.
	hz.FailWith(http.StatusInternalServerError)
	if r := round(master.Address(), master, cosigner); r.Status != 503 {
		t.Fatalf("Horizon 500: %d %s", r.Status, r.Body)
	}
	hz.FailWith(0)
	hz.Close()
	if r := round(fresh.Address(), fresh); r.Status != 503 {
		t.Fatalf("Horizon down in production mode: %d %s", r.Status, r.Body)
	}
}

func TestE2EClientDomain(t *testing.T) {
	wallet := keypair.MustRandom()
	walletTOML := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != stellartoml.WellKnownPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte("SIGNING_KEY = \"" + wallet.Address() + "\"\n"))
	}))
	defer walletTOML.Close()
	walletDomain := strings.TrimPrefix(walletTOML.URL, "http://")
	// ResolveURL uses http only for localhost names, so name the loopback wallet that way.
	walletDomain = strings.Replace(walletDomain, "127.0.0.1", "localhost", 1)

	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	client := keypair.MustRandom()

	r := getChallenge(t, s.URL, url.Values{"account": {client.Address()}, "client_domain": {walletDomain}})
	if r.Status != 200 {
		t.Fatalf("challenge: %d %s", r.Status, r.Body)
	}
	challenge := r.JSON(t)["transaction"].(string)
	var env xdr.TransactionEnvelope
	xdr.SafeUnmarshalBase64(challenge, &env)
	last := env.V1.Tx.Operations[len(env.V1.Tx.Operations)-1]
	if string(last.Body.ManageDataOp.DataName) != "client_domain" || last.SourceAccount.Address() != wallet.Address() ||
		string(*last.Body.ManageDataOp.DataValue) != walletDomain {
		t.Fatalf("client_domain op: %+v", last)
	}
	if r := postJSON(t, s.URL, walletSignOwn(t, d, challenge, client)); r.Status != 400 || !strings.Contains(string(r.Body), "client domain") {
		t.Fatalf("without the client domain signature: %d %s", r.Status, r.Body)
	}
	r = getChallenge(t, s.URL, url.Values{"account": {client.Address()}, "client_domain": {walletDomain}})
	r = postJSON(t, s.URL, walletSignOwn(t, d, r.JSON(t)["transaction"].(string), client, wallet))
	if r.Status != 200 {
		t.Fatalf("with both signatures: %d %s", r.Status, r.Body)
	}
	if cd := claimsOf(t, dir, r.JSON(t)["token"].(string))["client_domain"]; cd != walletDomain {
		t.Errorf("client_domain claim %v", cd)
	}
}

func TestE2EClientDomainRefusesLoopbackInProduction(t *testing.T) {
	dir, port := initAnchor(t)
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_MODE": "production"})
	domain := strings.Replace(strings.TrimPrefix(target.URL, "http://"), "127.0.0.1", "localhost", 1)
	r := getChallenge(t, s.URL, url.Values{"account": {keypair.MustRandom().Address()}, "client_domain": {domain}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "not public") {
		t.Fatalf("loopback client_domain in production: %d %s", r.Status, r.Body)
	}
	if hits != 0 {
		t.Fatalf("the loopback target was contacted %d times", hits)
	}
}

func TestE2EStoreHeldByServer(t *testing.T) {
	if storetest.Postgres() {
		t.Skip("bbolt only: PostgreSQL is shared by design (ANCHOR_TEST_STORE=postgres)")
	}
	dir, port := initAnchor(t)
	startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	start := time.Now()
	_, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err == nil || !strings.Contains(err.Error(), "anchor serve running") {
		t.Fatalf("open while serving: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %s to fail", time.Since(start))
	}
}
