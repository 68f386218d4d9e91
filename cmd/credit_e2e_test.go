package cmd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/transfer"
)

func secretFromFile(t *testing.T, dir, name string) *keypair.Full {
	b, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return keypair.MustParseFull(v)
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

func submitTx(t *testing.T, hc *horizonclient.Client, src *keypair.Full, ops ...txnbuild.Operation) {
	t.Helper()
	acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: src.Address()})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true, Operations: ops,
		BaseFee: 100, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, src)
	if _, err := hc.SubmitTransaction(tx); err != nil {
		t.Fatalf("setup: %v", err)
	}
}

// TestKill9DuringCredits: `anchor credit --all` is killed with SIGKILL several times during a
// batch; after running it to the end, the ledger holds exactly one payment per deposit and the
// store agrees.
func TestKill9DuringCredits(t *testing.T) {
	tf := newTreasuryFixture(t, "100000")
	hz, dir, issuer, dist := tf.hz, tf.dir, tf.issuer, tf.dist

	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL()}
	cfg, err := config.Load(config.LoadOptions{File: filepath.Join(dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(env)})
	if err != nil {
		t.Fatal(err)
	}
	// A batch of deposits whose fiat arrived.
	const n = 30
	users := readyDeposits(t, tf, env, n)

	// Kill the batch in the middle: as soon as the ledger shows the next payment (the process
	// is between one credit and the next, or inside one), SIGKILL it; then let it finish.
	kills := 0
	var progress []int // deposits paid after each kill
	for round := 0; round < 8; round++ {
		before := len(hz.Payments()) - 1
		if before >= n-1 {
			break
		}
		c := anchorProcess("credit", "--all", "--config", filepath.Join(dir, "anchor.yaml"), "--by", "treasurer")
		c.Env = append(c.Env, "ANCHOR_HORIZON_URL="+hz.URL())
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(hz.Payments())-1 <= before && time.Now().Before(deadline) {
			select {
			case <-done:
			default:
			}
			time.Sleep(200 * time.Microsecond)
		}
		if c.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		<-done
		progress = append(progress, len(hz.Payments())-1)
	}
	c := anchorProcess("credit", "--all", "--config", filepath.Join(dir, "anchor.yaml"))
	c.Env = append(c.Env, "ANCHOR_HORIZON_URL="+hz.URL())
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("final credit --all: %v\n%s", err, out)
	}
	if kills == 0 {
		t.Fatal("no run was killed")
	}

	perUser := map[string]int{}
	for _, p := range hz.Payments() {
		if p.From == dist.Address() && p.Kind == "payment" {
			perUser[p.To]++
		}
	}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := &transfer.Service{Store: st, Config: cfg}
	for id, user := range users {
		if perUser[user] != 1 {
			t.Errorf("deposit %s: %d payments on the ledger", id, perUser[user])
		}
		tx, err := ts.ShowTx(context.Background(), id)
		if err != nil || tx.Status != transfer.Completed || tx.StellarTransactionID == "" {
			t.Errorf("deposit %s in the store: %v %+v", id, err, tx)
		}
		if b, _ := hz.Balance(user, "USDX:"+issuer.Address()); b != 100_000_000 {
			t.Errorf("user of %s holds %d", id, b)
		}
	}
	t.Logf("%d runs killed; deposits paid after each kill: %v; %d payments for %d deposits", kills, progress, len(hz.Payments())-1, n)
}

// TestE2ETreasuryThroughServer: the treasury commands while anchor serve runs (through the
// admin socket), against the stand-in: account show, burn and ad-hoc payments once per ref,
// the issuer's home domain, a deposit credited to completion and a withdrawal found by the
// server's watcher.
func TestE2ETreasuryThroughServer(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	hz, hc, dir, port, issuer, dist, asset, ct := tf.hz, tf.hc, tf.dir, tf.port, tf.issuer, tf.dist, tf.asset, tf.ct
	u := keypair.MustRandom()
	hc.Fund(u.Address())
	submitTx(t, hc, u, &txnbuild.ChangeTrust{Line: ct, Limit: "100000"})

	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	s := startServe(t, dir, port, env)
	cli := func(args ...string) (string, string, int) {
		return runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
	}
	key := "USDX:" + issuer.Address()
	if out, stderr, code := cli("account", "show", "distribution"); code != 0 || !strings.Contains(out, "10000.0000000") {
		t.Fatalf("account show: %d %s %s", code, out, stderr)
	}
	// A repeat of the same parameters is refused once the first is confirmed: --ref makes a
	// deliberate second one.
	for i := 0; i < 2; i++ {
		out, stderr, code := cli("burn", "--amount", "100")
		if code != 0 || (i == 0 && !strings.Contains(out, "confirmed")) || (i == 1 && (!strings.Contains(out, "already done at") || !strings.Contains(out, "--ref"))) {
			t.Fatalf("burn %d: %d %s %s", i, code, out, stderr)
		}
		out, stderr, code = cli("credit", "--to", u.Address(), "--amount", "5", "--memo", "7")
		if code != 0 || (i == 0 && !strings.Contains(out, "confirmed")) || (i == 1 && !strings.Contains(out, "already done at")) {
			t.Fatalf("payment %d: %d %s %s", i, code, out, stderr)
		}
	}
	if b, _ := hz.Balance(dist.Address(), key); b != (10000-100-5)*10_000_000 {
		t.Fatalf("distribution holds %d: a burn or payment happened twice", b)
	}
	if out, stderr, code := cli("account", "set-home-domain", "--dry-run"); code != 0 || !strings.Contains(out, "set_options home_domain=localhost:"+strconv.Itoa(port)) {
		t.Fatalf("set-home-domain --dry-run: %d %s %s", code, out, stderr)
	}
	if acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: issuer.Address()}); acct.HomeDomain != "" {
		t.Fatalf("a dry run set the home domain to %q", acct.HomeDomain)
	}
	if _, stderr, code := cli("account", "set-home-domain"); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("set-home-domain: %d %s", code, stderr)
	}
	acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: issuer.Address()})
	if acct.HomeDomain != "localhost:"+strconv.Itoa(port) {
		t.Fatalf("issuer home domain %q", acct.HomeDomain)
	}
	// A domain whose stellar.toml does not list the issuer: the change is made, with a warning.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "VERSION=\"2.0.0\"\n[[CURRENCIES]]\ncode=\"USDX\"\nissuer=\""+keypair.MustRandom().Address()+"\"\n")
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	if _, stderr, code := cli("account", "set-home-domain", "--domain", otherHost); code != 1 || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, issuer.Address()) {
		t.Fatalf("set-home-domain to a toml without the issuer: %d %q", code, stderr)
	}
	if acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: issuer.Address()}); acct.HomeDomain == otherHost {
		t.Fatal("a refused set-home-domain changed the account")
	}
	if _, stderr, code := cli("account", "set-home-domain", "--domain", otherHost, "--force"); code != 0 || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, issuer.Address()) {
		t.Fatalf("set-home-domain --force to a toml without the issuer: %d %q", code, stderr)
	}
	if acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: issuer.Address()}); acct.HomeDomain != otherHost {
		t.Fatalf("issuer home domain %q, want %q", acct.HomeDomain, otherHost)
	}
	// Back again: the same domain as this morning is a new change only under a new --ref.
	if _, stderr, code := cli("account", "set-home-domain", "--ref", "back"); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("set-home-domain back: %d %s", code, stderr)
	}
	if acct, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: issuer.Address()}); acct.HomeDomain != "localhost:"+strconv.Itoa(port) {
		t.Fatalf("issuer home domain %q after setting it back", acct.HomeDomain)
	}

	// A deposit, credited through the server.
	signIn := func(kp *keypair.Full) *wallet {
		w := signedInWallet(t, s, kp)
		w.putJSON(map[string]string{"type": "sep6-withdraw", "first_name": "J", "last_name": "D", "email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"})
		return w
	}
	w := signIn(u)
	id := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)
	if out, stderr, code := cli("credit", id, "--dry-run"); code != 1 || !strings.Contains(stderr, "pending_anchor") {
		t.Fatalf("credit --dry-run before the fiat arrived: %d %s %s", code, out, stderr)
	}
	cli("deposit", "received", id, "--amount", "20", "--external-id", "WIRE-77")
	// A dry run shows the payment (amount_out after the fee) and changes nothing.
	before, _ := hz.Balance(u.Address(), key)
	if out, stderr, code := cli("credit", id[:8], "--dry-run"); code != 0 || !strings.Contains(out, "dry run: credit credit/"+id) ||
		!strings.Contains(out, "USDX to "+u.Address()) || !strings.Contains(out, "Nothing was signed, stored or submitted.") {
		t.Fatalf("credit --dry-run: %d %s %s", code, out, stderr)
	}
	if tx := w.tx(id); tx["status"] != "pending_anchor" {
		t.Fatalf("a dry run moved the deposit to %v", tx["status"])
	}
	if after, _ := hz.Balance(u.Address(), key); after != before {
		t.Fatalf("a dry run paid %d stroops", after-before)
	}
	if out, stderr, code := cli("credit", id); code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("credit: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := cli("credit", id, "--dry-run"); code != 0 || !strings.Contains(out, "already done") {
		t.Fatalf("credit --dry-run of a credited deposit: %d %s %s", code, out, stderr)
	}
	tx := w.tx(id)
	if tx["status"] != "completed" || tx["stellar_transaction_id"] == nil {
		t.Fatalf("deposit %v", tx)
	}

	// A withdrawal: the user pays with the memo; the server's watcher moves it on.
	r := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"12"}})
	wd := r.JSON(t)
	acctU, _ := hc.AccountDetail(horizonclient.AccountRequest{AccountID: u.Address()})
	memo, _ := strconv.ParseUint(wd["memo"].(string), 10, 64)
	ptx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acctU, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.Payment{Destination: wd["account_id"].(string), Amount: "12", Asset: asset}},
		BaseFee:    100, Memo: txnbuild.MemoID(memo), Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	ptx, _ = ptx.Sign(network.TestNetworkPassphrase, u)
	if _, err := hc.SubmitTransaction(ptx); err != nil {
		t.Fatal(err)
	}
	got := w.waitStatus(wd["id"].(string), "pending_anchor")
	if got["amount_in"] != "12.0000000" || got["stellar_transaction_id"] == nil {
		t.Fatalf("withdrawal %v", got)
	}
	if out, _, code := cli("tx", "list", "--unmatched", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("unmatched: %s", out)
	}

	// A deposit to an account without a trustline waits in pending_trust; the server pays it by
	// itself once the trustline appears, and the wallet hears of each status.
	v := keypair.MustRandom()
	hc.Fund(v.Address())
	wv := signIn(v)
	rcv := newCallbackReceiver(t, discover(t, s).toml.SigningKey)
	vid := wv.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "on_change_callback": {rcv.URL}}).JSON(t)["id"].(string)
	cli("deposit", "received", vid, "--amount", "4", "--external-id", "WIRE-78")
	// Shell completion offers ids from the running server, and the values of filter flags.
	for _, tc := range [][]string{
		{"tx", "show", vid[:6], vid},
		{"credit", vid[:6], vid},
		{"tx", "list", "--status", "", "pending_anchor"},
		{"tx", "list", "--kind", "", "withdrawal"},
		{"kyc", "list", "--status", "", "ACCEPTED"},
		{"kyc", "list", "--type", "", "sep6-deposit"},
		{"burn", "--asset", "", "USDX"},
	} {
		args, want := tc[:len(tc)-1], tc[len(tc)-1]
		// The word being completed comes last, so --config goes first.
		full := append([]string{"__complete", "--config", filepath.Join(dir, "anchor.yaml")}, args...)
		if out, stderr, code := runCLI(t, context.Background(), env, full...); code != 0 || !strings.Contains(out, want+"\n") || !strings.Contains(out, ":4\n") {
			t.Fatalf("completion of %v: %d %q %s, want %s", args, code, out, stderr, want)
		}
	}
	// The server streams the list; the CLI writes it as it reads it, the same JSON either way.
	for _, tc := range []struct {
		args []string
		n    int
	}{{[]string{"--all"}, -1}, {[]string{"--reference", "WIRE-78"}, 1}, {[]string{"--kind", "withdrawal", "--status", "completed"}, 0}} {
		out, stderr, code := cli(append([]string{"tx", "list", "--json"}, tc.args...)...)
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || (tc.n >= 0 && len(rows) != tc.n) || (tc.n < 0 && len(rows) < 2) {
			t.Fatalf("tx list --json %v: %d rows, %v, exit %d, %s", tc.args, len(rows), err, code, stderr)
		}
	}
	if out, stderr, code := cli("tx", "list", "--reference", "WIRE-78"); code != 0 || !strings.Contains(out, vid) || strings.Count(out, "\n") != 2 {
		t.Fatalf("tx list --reference WIRE-78: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := cli("credit", vid); code != 0 || !strings.Contains(out, "pending_trust") {
		t.Fatalf("credit without a trustline: %d %s %s", code, out, stderr)
	}
	rcv.waitFor(t, vid, "pending_trust")
	submitTx(t, hc, v, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
	if got := wv.waitStatus(vid, "completed"); got["stellar_transaction_id"] == nil {
		t.Fatalf("resumed deposit %v", got)
	}
	rcv.waitFor(t, vid, "completed")
	if bal, _ := hz.Balance(v.Address(), key); bal != 40_000_000 {
		t.Fatalf("user received %d stroops, want 4 USDX once", bal)
	}

	// The withdrawal is paid out in fiat; burning what withdrawals collected takes it out of
	// circulation once.
	if _, stderr, code := cli("withdraw", "paid", wd["id"].(string), "--external-id", "WIRE-OUT-1"); code != 0 {
		t.Fatal(stderr)
	}
	before, _ = hz.Balance(dist.Address(), key)
	if out, stderr, code := cli("burn", "--withdrawals", "--dry-run"); code != 0 || !strings.Contains(out, "dry run: burn burn-withdrawals/") || !strings.Contains(out, "payment of 12.0000000 USDX") {
		t.Fatalf("burn --withdrawals --dry-run: %d %s %s", code, out, stderr)
	}
	if after, _ := hz.Balance(dist.Address(), key); after != before {
		t.Fatalf("a dry run burned %d stroops", before-after)
	}
	for i := 0; i < 2; i++ {
		if out, stderr, code := cli("burn", "--withdrawals"); code != 0 {
			t.Fatalf("burn --withdrawals %d: %d %s %s", i, code, out, stderr)
		}
	}
	if after, _ := hz.Balance(dist.Address(), key); before-after != 120_000_000 {
		t.Fatalf("burn --withdrawals burned %d stroops, want 12 USDX once", before-after)
	}

	// A dry run shows the transaction and stores, signs and submits nothing: the same burn then
	// runs for real (it was not recorded as done) and moves the tokens once.
	before, _ = hz.Balance(dist.Address(), key)
	out, stderr, code := cli("burn", "--amount", "2", "--ref", "dry-1", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: burn") || !strings.Contains(out, " USDX to "+issuer.Address()) ||
		!strings.Contains(out, "fee bid:") || !strings.Contains(out, "Nothing was signed, stored or submitted.") {
		t.Fatalf("burn --dry-run: %d %s %s", code, out, stderr)
	}
	if after, _ := hz.Balance(dist.Address(), key); after != before {
		t.Fatalf("a dry run moved %d stroops", before-after)
	}
	if out, stderr, code := cli("burn", "--amount", "2", "--ref", "dry-1"); code != 0 || strings.Contains(out, "already done") {
		t.Fatalf("burn after its dry run: %d %s %s", code, out, stderr)
	}
	if after, _ := hz.Balance(dist.Address(), key); before-after != 20_000_000 {
		t.Fatalf("burn after its dry run moved %d stroops, want 2 USDX", before-after)
	}
	if out, _, code := cli("burn", "--amount", "2", "--ref", "dry-1", "--dry-run"); code != 0 || !strings.Contains(out, "already done") {
		t.Fatalf("a dry run of a confirmed burn should say it is done: %d %s", code, out)
	}

	// Air-gapped signing: prepare a burn (unsigned, valid 48h), see the short report, sign the file
	// offline with a typed key, submit it (twice: once counts).
	xdrFile := filepath.Join(t.TempDir(), "burn.xdr")
	for _, bad := range [][]string{{"--valid-for", "1000h", "--xdr-out", xdrFile}, {"--valid-for", "1h"}, {"--sign"}, {"--xdr-out", xdrFile, "--key-prompt"}, {"--xdr-out", xdrFile, "--valid-for", "-1h"}} {
		if _, stderr, code := cli(append([]string{"burn", "--amount", "1", "--ref", "offline-1"}, bad...)...); code != ExitUsage {
			t.Fatalf("burn %v: exit %d %s", bad, code, stderr)
		}
	}
	if _, stderr, code := cli("burn", "--amount", "1", "--ref", "offline-1", "--xdr-out", xdrFile, "--valid-for", "48h"); code != 0 || !strings.Contains(stderr, "anchor submit") {
		t.Fatalf("burn --xdr-out: %d %s", code, stderr)
	}
	raw, _ := os.ReadFile(xdrFile)
	gt, err := txnbuild.TransactionFromXDR(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	unsigned, _ := gt.Transaction()
	if len(unsigned.Signatures()) != 0 {
		t.Fatalf("prepared envelope has %d signatures, want none without --sign", len(unsigned.Signatures()))
	}
	if d := time.Until(time.Unix(unsigned.Timebounds().MaxTime, 0)); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("prepared envelope valid for %s, want 48h", d)
	}
	before, _ = hz.Balance(dist.Address(), key)
	if out, stderr, code := cli("submit", xdrFile); code != 1 || !strings.Contains(out, dist.Address()+": weight 0 of 1") || !strings.Contains(stderr, "short of signatures") {
		t.Fatalf("submit unsigned: %d %s %s", code, out, stderr)
	}
	// Offline: no configuration, no network, the key on standard input (never echoed).
	if out, stderr, code := runCLIInput(t, nil, dist.Seed()+"\n", "sign", xdrFile, "--network", "testnet"); code != 0 || !strings.Contains(out, "signed by "+dist.Address()) ||
		!strings.Contains(stderr, "payment of 1.0000000 USDX to "+issuer.Address()) || strings.Contains(out+stderr, dist.Seed()) {
		t.Fatalf("sign: %d %s %s", code, out, stderr)
	}
	if _, stderr, code := runCLIInput(t, nil, dist.Seed()+"\n", "sign", xdrFile, "--network", "testnet"); code != 1 || !strings.Contains(stderr, "already signed") {
		t.Fatalf("sign twice: %d %s", code, stderr)
	}
	if out, _, code := cli("submit", xdrFile, "--dry-run"); code != 0 || !strings.Contains(out, "weight 1 of 1") || !strings.Contains(out, "nothing was submitted") {
		t.Fatalf("submit --dry-run: %d %s", code, out)
	}
	for i := 0; i < 2; i++ {
		if out, stderr, code := cli("submit", xdrFile); code != 0 || !strings.Contains(out, "confirmed") {
			t.Fatalf("submit %d: %d %s %s", i, code, out, stderr)
		}
	}
	if after, _ := hz.Balance(dist.Address(), key); before-after != 10_000_000 {
		t.Fatalf("the offline burn moved %d stroops, want 1 USDX once", before-after)
	}
	// --sign: the server's key signs the envelope it prepares.
	signedFile := filepath.Join(t.TempDir(), "signed.xdr")
	if _, stderr, code := cli("burn", "--amount", "1", "--ref", "offline-2", "--xdr-out", signedFile, "--sign"); code != 0 {
		t.Fatalf("burn --xdr-out --sign: %d %s", code, stderr)
	}
	if out, stderr, code := cli("submit", signedFile); code != 0 || !strings.Contains(out, "confirmed") {
		t.Fatalf("submit a --sign envelope: %d %s %s", code, out, stderr)
	}

	// A key typed at the prompt signs here; a wrong one is refused and never echoed.
	wrong := keypair.MustRandom()
	cfgArg := []string{"--config", filepath.Join(dir, "anchor.yaml")}
	out, stderr, code = runCLIInput(t, env, wrong.Seed()+"\n", append([]string{"credit", "--to", u.Address(), "--amount", "2", "--ref", "prompted", "--key-prompt"}, cfgArg...)...)
	if code == 0 || strings.Contains(out+stderr, wrong.Seed()) {
		t.Fatalf("wrong prompted key: %d %s %s", code, out, stderr)
	}
	before, _ = hz.Balance(u.Address(), key)
	out, stderr, code = runCLIInput(t, env, dist.Seed()+"\n", append([]string{"credit", "--to", u.Address(), "--amount", "2", "--ref", "prompted", "--key-prompt"}, cfgArg...)...)
	if code != 0 || !strings.Contains(out, "confirmed") || strings.Contains(out+stderr, dist.Seed()) {
		t.Fatalf("prompted key: %d %s %s", code, out, stderr)
	}
	if after, _ := hz.Balance(u.Address(), key); after-before != 20_000_000 {
		t.Fatalf("prompted payment moved %d", after-before)
	}

	// Everything anchor did balances; a payment made behind its back does not.
	if out, stderr, code := cli("reconcile"); code != 0 || !strings.Contains(out, "balanced") {
		t.Fatalf("reconcile: %d %s %s", code, out, stderr)
	}
	submitTx(t, hc, dist, &txnbuild.Payment{Destination: u.Address(), Amount: "3", Asset: asset})
	out, _, code = cli("reconcile", "--json")
	if code != 1 || !strings.Contains(out, `"untied_movements": [`) || !strings.Contains(out, "no confirmed credit") || !strings.Contains(out, `"difference": "3.0000000"`) {
		t.Fatalf("reconcile after a rogue payment: %d %s", code, out)
	}
}

// treasuryFixture is an initialised anchor whose issuer and distribution accounts exist on a
// stand-in Horizon, the distribution account holding USDX.
type treasuryFixture struct {
	hz           *standin.Server
	hc           *horizonclient.Client
	dir          string
	port         int
	issuer, dist *keypair.Full
	asset        txnbuild.CreditAsset
	ct           txnbuild.ChangeTrustAsset
}

func newTreasuryFixture(t *testing.T, distBalance string) *treasuryFixture {
	t.Helper()
	f := &treasuryFixture{hz: standin.New()}
	t.Cleanup(f.hz.Close)
	f.hc = &horizonclient.Client{HorizonURL: f.hz.URL(), HTTP: http.DefaultClient}
	f.dir, f.port = initAnchor(t)
	f.issuer, f.dist = secretFromFile(t, f.dir, "ANCHOR_ISSUER_SECRET"), secretFromFile(t, f.dir, "ANCHOR_DISTRIBUTION_SECRET")
	f.hc.Fund(f.issuer.Address())
	f.hc.Fund(f.dist.Address())
	f.asset = txnbuild.CreditAsset{Code: "USDX", Issuer: f.issuer.Address()}
	f.ct, _ = f.asset.ToChangeTrustAsset()
	submitTx(t, f.hc, f.dist, &txnbuild.ChangeTrust{Line: f.ct, Limit: "1000000"})
	submitTx(t, f.hc, f.issuer, &txnbuild.Payment{Destination: f.dist.Address(), Amount: distBalance, Asset: f.asset})
	return f
}

// TestTreasuryUsageErrors: malformed treasury arguments are usage errors (exit 2, one line
// naming the flag) found before any store or Horizon is touched: no config file exists here.
func TestTreasuryUsageErrors(t *testing.T) {
	g := keypair.MustRandom().Address()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"burn"}, "give --amount or --withdrawals"},
		{[]string{"burn", "--amount", "5", "--withdrawals"}, "give --amount or --withdrawals"},
		{[]string{"burn", "--amount", "-5"}, `--amount: "-5" is not a positive amount`},
		{[]string{"burn", "--amount", "0"}, `--amount: "0" is not a positive amount`},
		{[]string{"burn", "--amount", "1.12345678"}, "more than 7 decimal places"},
		{[]string{"credit"}, "give one DEPOSIT_ID, --all, or --to with --amount"},
		{[]string{"credit", "a", "--all"}, "give one DEPOSIT_ID, --all, or --to with --amount"},
		{[]string{"credit", "--to", g}, "--to takes --amount"},
		{[]string{"credit", "--to", "GBAD", "--amount", "5"}, "--to GBAD is not a Stellar account"},
		{[]string{"credit", "--to", g, "--amount", "5x"}, `--amount: "5x" is not an amount`},
		{[]string{"credit", "--all", "--dry-run"}, "--dry-run shows one deposit's credit, not --all"},
		{[]string{"burn", "--amount", "5", "--dry-run", "--xdr-out", "f"}, "--dry-run signs and writes nothing"},
		{[]string{"account", "set-home-domain", "--dry-run", "--key-prompt"}, "--dry-run signs and writes nothing"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append(tc.args, "--config", filepath.Join(t.TempDir(), "none.yaml"))
			out, stderr, code := runCLI(t, context.Background(), nil, args...)
			if code != 2 || out != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, stderr, tc.want)
			}
		})
	}
}

// TestDevHorizonFund: the offline try-out a new user follows (docs/treasury.md): anchor init,
// `anchor dev horizon --fund`, then treasury commands against it, with reconcile balanced.
func TestDevHorizonFund(t *testing.T) {
	dir, _ := initAnchor(t)
	cfgPath := filepath.Join(dir, "anchor.yaml")
	if _, stderr, code := runCLI(t, context.Background(), nil, "dev", "horizon", "--fund", "--mint", "-1", "--config", cfgPath, "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(stderr, "--mint") {
		t.Fatalf("bad --mint: exit %d %s", code, stderr)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		_, _, code := runCLI(t, ctx, nil, "dev", "horizon", "--fund", "--mint", "5000", "--config", cfgPath, "--listen", addr)
		done <- code
	}()
	hc := &horizonclient.Client{HorizonURL: "http://" + addr, HTTP: http.DefaultClient}
	dist := secretFromFile(t, dir, "ANCHOR_DISTRIBUTION_SECRET")
	deadline := time.Now().Add(10 * time.Second)
	for {
		acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: dist.Address()})
		if err == nil && len(acct.Balances) == 2 && acct.Balances[0].Balance == "5000.0000000" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution account not funded: %v %+v", err, acct.Balances)
		}
		time.Sleep(20 * time.Millisecond)
	}
	env := map[string]string{"ANCHOR_HORIZON_URL": "http://" + addr}
	u := keypair.MustRandom()
	hc.Fund(u.Address())
	issuer := secretFromFile(t, dir, "ANCHOR_ISSUER_SECRET")
	line, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: issuer.Address()}.ToChangeTrustAsset()
	submitTx(t, hc, u, &txnbuild.ChangeTrust{Line: line, Limit: "100"})
	if out, stderr, code := runCLI(t, context.Background(), env, "credit", "--to", u.Address(), "--amount", "5", "--config", cfgPath); code != 0 || !strings.Contains(out, "confirmed") {
		t.Fatalf("credit --to: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := runCLI(t, context.Background(), env, "reconcile", "--config", cfgPath); code != 0 {
		t.Fatalf("reconcile after funding and one payment: %d %s %s", code, out, stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("dev horizon exit %d", code)
	}
}
