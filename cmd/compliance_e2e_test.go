package cmd

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// TestE2EComplianceGate: fiat recorded for a customer still in review is kept and the deposit
// waits; `anchor credit` refuses it through the admin socket and on the store (server stopped),
// `credit --all` and the server's resume pass leave it alone, `tx show` says why; once compliance
// approves, the deposit moves on by itself and is credited exactly once.
func TestE2EComplianceGate(t *testing.T) {
	tf := newTreasuryFixture(t, "1000")
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL()}
	cli := func(args ...string) (string, string, int) {
		return runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(tf.dir, "anchor.yaml"))...)
	}
	s := startServe(t, tf.dir, tf.port, env)
	u := keypair.MustRandom()
	tf.hc.Fund(u.Address())
	submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "1000"})
	w := signedInWallet(t, s, u)
	w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "J", "last_name": "D", "email_address": "j@example.com"})
	id := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)
	if out, stderr, code := cli("deposit", "received", id, "--amount", "20", "--external-id", "WIRE-1"); code != 0 || !strings.Contains(out, "pending_customer_info_update") {
		t.Fatalf("deposit received before approval: %d %s %s", code, out, stderr)
	}
	refused := func(how string) {
		t.Helper()
		if out, stderr, code := cli("credit", id); code == 0 || !strings.Contains(stderr, "compliance") {
			t.Fatalf("credit %s: exit %d %s %s", how, code, out, stderr)
		}
		if _, _, code := cli("credit", "--all"); code != 0 {
			t.Fatalf("credit --all %s: exit %d", how, code)
		}
		if out, _, _ := cli("tx", "show", id); !strings.Contains(out, "compliance: customer") || !strings.Contains(out, "PROCESSING") {
			t.Fatalf("tx show %s does not say why it waits:\n%s", how, out)
		}
		if b, _ := tf.hz.Balance(u.Address(), "USDX:"+tf.issuer.Address()); b != 0 {
			t.Fatalf("credited %s before approval: %d", how, b)
		}
	}
	refused("through the admin socket")
	// Paying a withdrawal out is refused too, with the reason (not an internal error).
	wid := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)
	if _, stderr, code := cli("withdraw", "received", wid, "--amount", "5", "--stellar-tx", strings.Repeat("ab", 32)); code != 0 {
		t.Fatalf("withdraw received: %d %s", code, stderr)
	}
	if _, stderr, code := cli("withdraw", "paid", wid, "--external-id", "OUT-1"); code != 1 || !strings.Contains(stderr, "compliance") {
		t.Fatalf("withdraw paid for a customer in review: %d %s", code, stderr)
	}
	if tx := w.tx(id); tx["status"] != "pending_customer_info_update" || tx["amount_in"] != "20.0000000" {
		t.Fatalf("the wallet sees %v", tx)
	}
	s.Stop(t)
	refused("on the store")
	startServe(t, tf.dir, tf.port, env)
	list, _, _ := cli("kyc", "list", "--json")
	cid := between(list, `"id": "`, `"`)
	if _, stderr, code := cli("kyc", "approve", cid, "--by", "carol"); code != 0 {
		t.Fatalf("approve %s: %s", cid, stderr)
	}
	w.waitStatus(id, "pending_anchor")
	for i := 0; i < 2; i++ {
		if out, stderr, code := cli("credit", id); code != 0 || !strings.Contains(out, "completed") {
			t.Fatalf("credit after approval: %d %s %s", code, out, stderr)
		}
	}
	if n := len(tf.hz.Payments()); n == 0 {
		t.Fatal("no payment")
	}
	if b, _ := tf.hz.Balance(u.Address(), "USDX:"+tf.issuer.Address()); b != 200_000_000 {
		t.Fatalf("balance after approval %d, want one credit of 20", b)
	}
}

// signedInWallet is a wallet of kp holding a SEP-10 token from s.
func signedInWallet(t *testing.T, s *anchorServer, kp *keypair.Full) *wallet {
	t.Helper()
	d := discover(t, s)
	c := &sep10.Client{Endpoint: d.toml.WebAuthEndpoint, ServerKey: d.toml.SigningKey, Network: d.toml.NetworkPassphrase, HomeDomain: d.homeDomain}
	w := newWallet(t, s, nil)
	w.kp = kp
	tok, err := c.Authenticate(context.Background(), kp.Address(), nil, kp)
	if err != nil {
		t.Fatal(err)
	}
	w.token = tok
	return w
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// readyDeposits creates n deposits of funded users with trustlines whose fiat arrived
// (pending_anchor), directly on the store of a stopped anchor; it returns deposit id → user.
func readyDeposits(t *testing.T, tf *treasuryFixture, env map[string]string, n int) map[string]string {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{File: filepath.Join(tf.dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(env)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg.KYC.AutoApprove = true
	ks := &kyc.Service{Store: st, Config: cfg.KYC}
	ts := &transfer.Service{Store: st, Config: cfg, KYC: ks}
	users := map[string]string{}
	for i := 0; i < n; i++ {
		u := keypair.MustRandom()
		tf.hc.Fund(u.Address())
		submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "1000"})
		p := kyc.Principal{Account: u.Address()}
		ks.Put(context.Background(), p, &kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"}})
		tx, err := ts.Create(context.Background(), transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Act(context.Background(), tx.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "10", ExternalID: "W" + tx.ID}); err != nil {
			t.Fatal(err)
		}
		users[tx.ID] = u.Address()
	}
	return users
}

// TestE2ECreditAllStreamsAndOutlivesTheCLI: `credit --all` through the admin socket streams one
// result per deposit as it is done; a CLI that stops listening after the first neither stops
// the server's batch nor makes it pay anything twice.
func TestE2ECreditAllStreamsAndOutlivesTheCLI(t *testing.T) {
	tf := newTreasuryFixture(t, "1000")
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL()}
	users := readyDeposits(t, tf, env, 6)
	startServe(t, tf.dir, tf.port, env)
	cfg, _ := config.Load(config.LoadOptions{File: filepath.Join(tf.dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(env)})
	c := admin.Dial(context.Background(), admin.SocketPath(cfg.DataDir))
	if c == nil {
		t.Fatal("no admin socket")
	}
	// Slow Horizon down so that the batch is still running when the CLI goes away.
	for i := 0; i < 3; i++ {
		tf.hz.Inject(standin.RateLimited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var first []admin.CreditResult
	_, err := c.CreditAll(ctx, "treasurer", func(r admin.CreditResult) {
		first = append(first, r)
		cancel() // the operator presses ^C after the first line
	})
	if len(first) != 1 || first[0].Status != "completed" || err == nil || !strings.Contains(err.Error(), "carries on") {
		t.Fatalf("first line %+v, err %v", first, err)
	}
	paid := func() map[string]int {
		n := map[string]int{}
		for _, p := range tf.hz.Payments() {
			if p.From == tf.dist.Address() {
				n[p.To]++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(paid()) < len(users) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(paid()); n != len(users) {
		t.Fatalf("the server's batch stopped with the CLI: %d of %d deposits paid", n, len(users))
	}
	out, stderr, code := runCLI(t, context.Background(), env, "credit", "--all", "--config", filepath.Join(tf.dir, "anchor.yaml"))
	if code != 0 {
		t.Fatalf("credit --all afterwards: %d %s %s", code, out, stderr)
	}
	got := paid()
	for id, u := range users {
		if got[u] != 1 {
			t.Errorf("deposit %s: %d payments", id, got[u])
		}
	}
}
