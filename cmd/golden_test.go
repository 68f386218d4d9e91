package cmd

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// normalizer replaces what differs from run to run (ids, accounts, hashes, times, ports, the
// temporary directory, random memos and references) by numbered placeholders, so that the
// golden file pins every key, every null and every value's form, and the same placeholder
// still shows where two fields hold the same value.
type normalizer struct {
	dir   string
	seen  map[string]string
	count map[string]int
}

var testDatabase = regexp.MustCompile(`"postgres://[^"]*"`)

var normalizeRules = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "uuid"},
	{regexp.MustCompile(`\bG[A-Z2-7]{55}\b`), "account"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "hash"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), ""},
	{regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`), "host"},
	{regexp.MustCompile(`\b\d{8,}\b`), "number"},
}

func (n *normalizer) normalize(s string) string {
	s = strings.ReplaceAll(s, n.dir, "<dir>")
	// The audit trail names the OS user running the tests.
	s = strings.ReplaceAll(s, `"`+reviewer("")+` (--by `, `"<os-user> (--by `)
	// The test database of ANCHOR_TEST_STORE=postgres, as the bbolt run prints it (none).
	s = testDatabase.ReplaceAllString(s, `""`)
	for _, r := range normalizeRules {
		s = r.re.ReplaceAllStringFunc(s, func(m string) string {
			switch {
			case r.name == "":
				return "<time>"
			}
			key := r.name + "\x00" + m
			if p, ok := n.seen[key]; ok {
				return p
			}
			n.count[r.name]++
			p := fmt.Sprintf("<%s-%d>", r.name, n.count[r.name])
			n.seen[key] = p
			return p
		})
	}
	return s
}

// golden compares out with testdata/golden/NAME.json (after normalizing it), or writes it with -update.
func golden(t *testing.T, n *normalizer, name, out string) {
	t.Helper()
	got := n.normalize(out)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd -run TestGoldenJSON -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: --json differs from %s (if the change is meant, update docs/json.md and run -update):\n%s", name, path, got)
	}
}

// TestGoldenJSON: the --json of every command that prints it, from a real anchor with a
// customer, a credited deposit, a withdrawal, an unmatched payment and a red reconcile, matches
// its golden file: the documented views, with decimal amounts, RFC 3339 times and every key.
func TestGoldenJSON(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	hz, hc, dir, issuer, dist, asset, ct := tf.hz, tf.hc, tf.dir, tf.issuer, tf.dist, tf.asset, tf.ct
	n := &normalizer{dir: dir, seen: map[string]string{}, count: map[string]int{}}
	// Placeholders in the order the fixture made them: the issuer and distribution accounts
	// read the same in every golden file.
	n.normalize(issuer.Address() + " " + dist.Address())

	u := keypair.MustRandom()
	hc.Fund(u.Address())
	submitTx(t, hc, u, &txnbuild.ChangeTrust{Line: ct, Limit: "100000"})
	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL()}
	// The two-person rule above 1000 USDX, for approvals list.
	cfgFile := filepath.Join(dir, "anchor.yaml")
	raw, _ := os.ReadFile(cfgFile)
	if err := os.WriteFile(cfgFile, []byte(strings.Replace(string(raw), "approval_threshold: {}", `approval_threshold: {USDX: "1000"}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, tf.port, env)
	cli := func(args ...string) (string, int) {
		t.Helper()
		out, stderr, code := runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
		if code > 1 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		return out, code
	}

	w := signedInWallet(t, s, u)
	n.normalize(u.Address())
	r := w.putMultipart(map[string]string{"type": "sep6-withdraw", "first_name": "Jane", "last_name": "Doe", "email_address": "jane@example.com",
		"bank_account_number": "1234", "bank_number": "5678"}, map[string][]byte{"photo_id_front": []byte("\xff\xd8\xff\xe0 a tiny photo")})
	cid := r.JSON(t)["id"].(string)
	cli("kyc", "approve", cid, "--by", "alice")

	id := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "amount": {"20"}}).JSON(t)["id"].(string)
	cli("deposit", "received", id, "--amount", "20", "--external-id", "WIRE-77", "--by", "bob")
	if out, code := cli("credit", id, "--by", "bob"); code != 0 {
		t.Fatalf("credit: %s", out)
	}
	wid := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"5"}}).JSON(t)["id"].(string)
	// A payment with a memo no withdrawal has: unmatched.
	submitTx(t, hc, u, &txnbuild.Payment{Destination: dist.Address(), Amount: "1.5", Asset: asset})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out, _ := cli("tx", "list", "--unmatched", "--json"); strings.Contains(out, "1.5000000") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not record the unmatched payment")
		}
	}

	out, _ := cli("tx", "show", id, "--json")
	golden(t, n, "tx-show-deposit", out)
	out, _ = cli("tx", "show", wid, "--json")
	golden(t, n, "tx-show-withdrawal", out)
	out, _ = cli("tx", "list", "--json")
	golden(t, n, "tx-list", out)
	out, _ = cli("tx", "list", "--unmatched", "--json")
	golden(t, n, "tx-list-unmatched", out)
	out, _ = cli("kyc", "list", "--json")
	golden(t, n, "kyc-list", out)
	out, _ = cli("kyc", "show", cid, "--json")
	golden(t, n, "kyc-show", out)
	out, code := cli("reconcile", "--json")
	if code != 1 {
		t.Fatalf("reconcile with an unsettled payment: exit %d", code)
	}
	golden(t, n, "reconcile", out)
	var pid string
	for _, p := range hz.Payments() {
		if p.Amount == 1_5000000 {
			pid = p.PagingToken
		}
	}
	if _, code := cli("payment", "return", pid, "--by", "carol"); code != 0 {
		t.Fatal("payment return failed")
	}
	out, _ = cli("payment", "list", "--json")
	golden(t, n, "payment-list", out)
	if out, code := cli("credit", "--to", u.Address(), "--amount", "2500", "--ref", "big", "--by", "carol"); code != 0 || !strings.Contains(out, "proposed") {
		t.Fatalf("a payment above the threshold: %s", out)
	}
	out, _ = cli("approvals", "list", "--json")
	golden(t, n, "approvals-list", out)
	out, _ = cli("account", "show", "distribution", "--json")
	golden(t, n, "account-show", out)
	// A load run's figures vary: the golden file pins its keys and types.
	out, _ = cli("dev", "load", "--url", s.URL, "--mode", "challenge", "--clients", "1", "--duration", "100ms", "--json")
	out = regexp.MustCompile(`(": )[0-9][0-9.e+-]*`).ReplaceAllString(out, "${1}0")
	golden(t, n, "dev-load", regexp.MustCompile(`("first_error": )".*"`).ReplaceAllString(out, `${1}"<text>"`))
	out, _ = cli("config", "show", "--json")
	golden(t, n, "config-show", out)
	out, _ = cli("toml", "validate", filepath.Join("..", "testdata", "toml", "warnings", firstFile(t, "../testdata/toml/warnings")), "--json")
	golden(t, n, "toml-validate", out)

}

func firstFile(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".toml") {
			return e.Name()
		}
	}
	t.Fatalf("no .toml in %s", dir)
	return ""
}
