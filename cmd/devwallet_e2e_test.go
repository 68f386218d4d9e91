package cmd

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

// TestE2EDevWalletSEP24: anchor dev wallet through SEP-24 against a real anchor serve and the
// Horizon stand-in. A deposit started with --interactive gives the URL of the anchor's pages; once
// they are done and the money credited, status (which finds SEP-24's transactions too) shows it
// completed. A withdrawal started with --interactive: pay waits while the pages are not done
// (and gives up at its timeout), pays once they are, with the memo given, and a second pay
// only prints the payment made, paying nothing more; the watcher then sees the payment.
func TestE2EDevWalletSEP24(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	s := startServe(t, tf.dir, tf.port, env)
	dw := newDevWallet(t, tf, env)
	wallet, must, balance := dw.run, dw.must, dw.balance
	cli := func(args ...string) {
		t.Helper()
		if out, stderr, code := runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(tf.dir, "anchor.yaml"))...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	interactive := func(kind string, args ...string) (string, string) {
		t.Helper()
		out := must(append([]string{kind, "--asset", "USDX", "--interactive"}, args...)...)
		m := submatch(t, `^(deposit|withdrawal) ([0-9a-f-]+): open (\S+)\nthen: anchor dev wallet (status|pay) ([0-9a-f-]+)`, out)
		if m[2] != m[5] {
			t.Fatalf("the next step names another transaction:\n%s", out)
		}
		return m[2], m[3]
	}
	// finish goes through the anchor's pages as the user: the KYC form (bank fields for a
	// withdrawal), accepted at once, then the amount.
	finish := func(id, link, amount string) {
		t.Helper()
		br := newBrowser(t)
		code, _, page := br.do("GET", link, nil)
		if code != 200 {
			t.Fatalf("the link: %d\n%s", code, page)
		}
		csrf := csrfOf(t, page)
		form := url.Values{"csrf": {csrf}, "first_name": {"Ada"}, "last_name": {"Lovelace"}, "email_address": {"ada@example.com"}}
		if strings.Contains(page, `name="bank_account_number"`) {
			form.Set("bank_account_number", "12345678")
			form.Set("bank_number", "021000021")
		}
		if code, _, page = br.do("POST", s.URL+"/flow/"+id+"/kyc", form); code != 200 || !strings.Contains(page, `name="amount"`) {
			t.Fatalf("the KYC form: %d\n%s", code, page)
		}
		if code, path, page := br.do("POST", s.URL+"/flow/"+id+"/confirm", url.Values{"csrf": {csrf}, "amount": {amount}}); code != 200 || path != "/tx/"+id {
			t.Fatalf("the amount: %d %s\n%s", code, path, page)
		}
	}

	// A deposit of 30.
	dep, link := interactive("deposit")
	if out := must("status", dep); !strings.Contains(out, dep+" deposit incomplete") {
		t.Fatalf("a SEP-24 deposit's status: %s", out)
	}
	finish(dep, link, "30")
	cli("deposit", "received", dep, "--amount", "30", "--external-id", "WIRE-1")
	cli("credit", dep)
	if out := must("status", dep); !strings.Contains(out, dep+" deposit completed") || balance() != 300_000_000 {
		t.Fatalf("after the credit: %s, balance %d", out, balance())
	}
	if out := must("transactions", "--asset", "USDX", "--interactive"); !strings.Contains(out, dep) {
		t.Fatalf("SEP-24's transactions lack the deposit:\n%s", out)
	}
	if out := must("transactions", "--asset", "USDX"); strings.Contains(out, dep) {
		t.Fatalf("SEP-6's transactions list a SEP-24 deposit:\n%s", out)
	}

	// A withdrawal of 5: nothing to pay until the pages are done.
	wd, link := interactive("withdraw", "--amount", "5")
	if out, stderr, code := wallet("pay", wd, "--timeout", "1s"); code != ExitFailure || !strings.Contains(stderr, "is still incomplete") {
		t.Fatalf("pay before the pages: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := wallet("pay", dep); code == 0 || !strings.Contains(stderr, "nothing to pay") {
		t.Fatalf("pay of a deposit: exit %d\n%s%s", code, out, stderr)
	}
	finish(wd, link, "5")
	out := must("pay", wd)
	m := submatch(t, `^withdrawal `+wd+`: paid 5\.0000000 to (G[A-Z2-7]{55}) \(memo (\S+)\): ([0-9a-f]{64})\n$`, out)
	if m[1] != tf.dist.Address() || balance() != 250_000_000 {
		t.Fatalf("paid to %s (distribution %s), balance %d", m[1], tf.dist.Address(), balance())
	}
	again := must("pay", wd)
	if again != strings.Replace(out, "paid", "paid already", 1) || balance() != 250_000_000 {
		t.Fatalf("a second pay: %q (first %q), balance %d", again, out, balance())
	}
	must("status", wd, "--watch", "--until", "pending_anchor", "--timeout", "1m")
	// Another wallet file with the same key did not pay it: it is told who did, and pays nothing.
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, dw.signedIn, 0o600)
	if out, stderr, code := runCLI(t, context.Background(), env, "dev", "wallet", "--wallet", other, "pay", wd); code == 0 ||
		!strings.Contains(stderr, "paid already, by Stellar transaction "+m[3]) || balance() != 250_000_000 {
		t.Fatalf("pay from another wallet file: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := wallet("pay", "no-such-transaction"); code == 0 || !strings.Contains(stderr, "404") {
		t.Fatalf("pay of an unknown transaction: exit %d\n%s%s", code, out, stderr)
	}
}

// submatch matches s against the pattern re, or fails the test.
func submatch(t *testing.T, re, s string) []string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q does not match %s", s, re)
	}
	return m
}

// devWallet is anchor dev wallet, run in this process with its own wallet file, signed in to
// the anchor of tf and trusting its USDX.
type devWallet struct {
	t        *testing.T
	tf       *treasuryFixture
	env      map[string]string
	file     string
	account  string
	signedIn []byte // the wallet file after login and trust
}

func newDevWallet(t *testing.T, tf *treasuryFixture, env map[string]string) *devWallet {
	t.Helper()
	dw := &devWallet{t: t, tf: tf, env: env, file: filepath.Join(t.TempDir(), "wallet.json")}
	dw.must("login", "--domain", "localhost:"+strconv.Itoa(tf.port))
	dw.must("trust", "--asset", "USDX")
	var file struct {
		Seed string `json:"seed"`
	}
	raw, err := os.ReadFile(dw.file)
	if err != nil || json.Unmarshal(raw, &file) != nil {
		t.Fatalf("the wallet file: %v", err)
	}
	dw.account, dw.signedIn = keypair.MustParseFull(file.Seed).Address(), raw
	return dw
}

func (dw *devWallet) run(args ...string) (string, string, int) {
	dw.t.Helper()
	return runCLI(dw.t, context.Background(), dw.env, append([]string{"dev", "wallet", "--wallet", dw.file}, args...)...)
}

func (dw *devWallet) must(args ...string) string {
	dw.t.Helper()
	out, stderr, code := dw.run(args...)
	if code != 0 {
		dw.t.Fatalf("dev wallet %v: exit %d\n%s%s", args, code, out, stderr)
	}
	return out
}

// balance is the wallet's USDX balance in stroops.
func (dw *devWallet) balance() int64 {
	dw.t.Helper()
	b, ok := dw.tf.hz.Balance(dw.account, "USDX:"+dw.tf.issuer.Address())
	if !ok {
		dw.t.Fatal("the wallet has no USDX trustline")
	}
	return b
}

// TestE2EDevWalletExchange: anchor dev wallet with SEP-38 against a real anchor serve offering
// euros for USDX. A firm quote (an asset given by its code, as USDX), a SEP-6 deposit with it (the
// quote's euros in), credited with exactly the quoted tokens; a withdrawal with a quote pays the
// quote's tokens on-chain; a SEP-24 deposit with a sep24 quote carries the quote; conflicting
// flags are usage errors, found before anything is asked.
func TestE2EDevWalletExchange(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	configureQuotes(t, tf.dir)
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	startServe(t, tf.dir, tf.port, env)
	dw := newDevWallet(t, tf, env)
	for _, typ := range []string{"sep6-deposit", "sep6-withdraw"} {
		dw.must("kyc", "put", "--type", typ, "--field", "first_name=Ada", "--field", "last_name=Lovelace", "--field", "email_address=ada@example.com",
			"--field", "bank_account_number=12345678", "--field", "bank_number=021000021")
	}
	usdx := "stellar:USDX:" + tf.issuer.Address()
	quote := func(args ...string) string {
		t.Helper()
		out := dw.must(append([]string{"quote"}, args...)...)
		return submatch(t, `^quote ([0-9a-f-]+): sell `, out)[1]
	}

	q := quote("--sell", "iso4217:EUR", "--buy", "USDX", "--sell-amount", "100", "--method", "SEPA")
	out := dw.must("--json", "quote", "--sell", "iso4217:EUR", "--buy", usdx, "--sell-amount", "100")
	var shown map[string]any
	if json.Unmarshal([]byte(out), &shown) != nil || shown["buy_amount"] != "107.0733290" || shown["buy_asset"] != usdx {
		t.Fatalf("quote --json: %s", out)
	}
	dep := strings.TrimSpace(dw.must("-q", "deposit", "--asset", "USDX", "--quote", q))
	cli := func(args ...string) {
		t.Helper()
		if out, stderr, code := runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(tf.dir, "anchor.yaml"))...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	if out := dw.must("--json", "status", dep); !strings.Contains(out, `"quote_id": "`+q+`"`) {
		t.Fatalf("the deposit does not carry its quote: %s", out)
	}
	cli("deposit", "received", dep, "--amount", "100", "--external-id", "SEPA-1")
	cli("credit", dep)
	if out := dw.must("status", dep); !strings.Contains(out, dep+" deposit-exchange completed") || !strings.Contains(out, "amount_out=107.0733290") ||
		dw.balance() != 1_070_733_290 {
		t.Fatalf("after the credit: %s, balance %d", out, dw.balance())
	}

	wq := quote("--sell", "USDX", "--buy", "iso4217:EUR", "--sell-amount", "20")
	out = dw.must("withdraw", "--asset", "USDX", "--quote", wq)
	wd := submatch(t, `^withdrawal ([0-9a-f-]+): paid 20\.0000000 USDX to `+tf.dist.Address(), out)[1]
	if dw.balance() != 870_733_290 {
		t.Fatalf("after the withdrawal: balance %d", dw.balance())
	}
	dw.must("status", wd, "--watch", "--until", "pending_anchor", "--timeout", "1m")

	q24 := quote("--sell", "iso4217:EUR", "--buy", "USDX", "--sell-amount", "10", "--context", "sep24")
	out = dw.must("--json", "deposit", "--asset", "USDX", "--interactive", "--quote", q24)
	var started map[string]any
	json.Unmarshal([]byte(out), &started)
	id, _ := started["id"].(string)
	if out := dw.must("--json", "status", id); !strings.Contains(out, `"quote_id": "`+q24+`"`) || !strings.Contains(out, `"amount_in_asset": "iso4217:EUR"`) {
		t.Fatalf("the SEP-24 deposit with a quote: %s", out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deposit", "--asset", "USDX", "--quote", q, "--amount", "5"}, "give --amount or --quote, not both"},
		{[]string{"withdraw", "--asset", "USDX"}, "give --amount (or --quote, or --interactive)"},
		{[]string{"quote", "--sell", "USDX", "--buy", "iso4217:EUR"}, "give --sell-amount or --buy-amount"},
		{[]string{"quote", "--sell", "USDX", "--buy", "iso4217:EUR", "--sell-amount", "1", "--context", "sep31"}, "--context \"sep31\""},
		{[]string{"quote", "--sell", "USDX", "--buy", "iso4217:EUR", "--buy-amount", "-1"}, "--buy-amount"},
	} {
		if out, stderr, code := dw.run(c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q%q, want 2 and %q", c.args, code, out, stderr, c.want)
		}
	}
	if out, stderr, code := dw.run("deposit", "--asset", "USDX", "--quote", "no-such-quote"); code == 0 || !strings.Contains(stderr, "quote no-such-quote") {
		t.Fatalf("an unknown quote: exit %d %s%s", code, out, stderr)
	}
}
