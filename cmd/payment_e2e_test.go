package cmd

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// TestE2EPayments: the operator's day with unmatched payments, through a running server's
// socket and then on the stopped store. Reconcile is red while a payment is open; payment return
// sends one back once (a dry run first, a repeat says so); payment resolve ties a short payment
// to its withdrawal, which moves on, or acknowledges one with a note; nothing is settled twice or
// two ways; then reconcile is green.
func TestE2EPayments(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	hz, hc, dir, dist, asset, ct := tf.hz, tf.hc, tf.dir, tf.dist, tf.asset, tf.ct
	u := keypair.MustRandom()
	hc.Fund(u.Address())
	submitTx(t, hc, u, &txnbuild.ChangeTrust{Line: ct, Limit: "100000"})
	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	s := startServe(t, dir, tf.port, env)
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
	}
	// The user gets tokens the anchor recorded paying, then pays: with no memo, and short.
	if _, stderr, code := cli("credit", "--to", u.Address(), "--amount", "100"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	w := signedInWallet(t, s, u)
	w.putJSON(map[string]string{"type": "sep6-withdraw", "first_name": "J", "last_name": "D", "email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"})
	wd := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"40"}}).JSON(t)
	wid := wd["id"].(string)
	submitTx(t, hc, u, &txnbuild.Payment{Destination: dist.Address(), Amount: "7", Asset: asset})
	payMemo(t, tf, u, "30", wd["memo"].(string))
	var ids map[string]string // amount → payment id
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, _, _ := cli("payment", "list", "--unmatched")
		ids = map[string]string{}
		for _, line := range strings.Split(out, "\n")[1:] {
			if f := strings.Fields(line); len(f) > 4 {
				ids[f[4]] = f[0]
			}
		}
		if len(ids) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher recorded %v", out)
		}
	}
	noMemo, short := ids["7.0000000"], ids["30.0000000"]
	if out, _, code := cli("reconcile"); code != 1 || !strings.Contains(out, "unsettled payment "+noMemo) || !strings.Contains(out, "balanced") {
		t.Fatalf("reconcile with open payments: %d %s", code, out)
	}
	// The payments and the reconcile's finding are events.
	if out, _, code := cli("events", "list", "--limit", "1000"); code != 0 || strings.Count(out, "payment.unmatched") != 2 || !strings.Contains(out, "reconcile.differences_found") {
		t.Fatalf("events: %d\n%s", code, out)
	}
	returns := func() int {
		n := 0
		for _, p := range hz.Payments() {
			if p.From == dist.Address() && p.To == u.Address() && p.Memo.Type == xdr.MemoTypeMemoReturn {
				n++
			}
		}
		return n
	}

	// Usage errors first: nothing read, exit 2.
	for _, args := range [][]string{
		{"payment", "return", "abc"},
		{"payment", "resolve", noMemo},
		{"payment", "resolve", noMemo, "--note", "x", "--withdrawal", wid},
		{"payment", "resolve", noMemo, "--withdrawal", "not-an-id!"},
		{"payment", "list", "--limit", "0"},
	} {
		if _, stderr, code := cli(args...); code != ExitUsage {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
	}
	if out, _, code := runCLI(t, context.Background(), env, "__complete", "--config", filepath.Join(dir, "anchor.yaml"), "payment", "return", ""); code != 0 || !strings.Contains(out, noMemo) || !strings.Contains(out, short) {
		t.Fatalf("completion of payment ids: %d %s", code, out)
	}
	if out, stderr, code := cli("payment", "return", noMemo, "--dry-run"); code != 0 || !strings.Contains(out, "dry run: return return/"+noMemo) ||
		!strings.Contains(out, "7.0000000 USDX to "+u.Address()) || returns() != 0 {
		t.Fatalf("return --dry-run: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := cli("payment", "return", noMemo); code != 0 || !strings.Contains(out, "confirmed") || returns() != 1 {
		t.Fatalf("return: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := cli("payment", "return", noMemo); code != 0 || !strings.Contains(out, "already returned at") || returns() != 1 {
		t.Fatalf("return again: %d %s %s", code, out, stderr)
	}
	if _, stderr, code := cli("payment", "resolve", noMemo, "--note", "top-up"); code != 1 || !strings.Contains(stderr, "was returned") {
		t.Fatalf("resolve a returned payment: %d %s", code, stderr)
	}
	if _, stderr, code := cli("payment", "return", "123456789"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Fatalf("return an unknown payment: %d %s", code, stderr)
	}
	if out, stderr, code := cli("payment", "resolve", short, "--withdrawal", wid[:8]); code != 0 || !strings.Contains(out, "tied to withdrawal "+wid) {
		t.Fatalf("resolve --withdrawal: %d %s %s", code, out, stderr)
	}
	if tx := w.tx(wid); tx["status"] != "pending_anchor" || tx["amount_in"] != "30.0000000" {
		t.Fatalf("withdrawal after resolve: %v", tx)
	}
	if out, _, code := cli("payment", "resolve", short, "--withdrawal", wid); code != 0 || !strings.Contains(out, "already tied") {
		t.Fatalf("resolve again: %d %s", code, out)
	}
	if _, stderr, code := cli("payment", "return", short); code != 1 || !strings.Contains(stderr, "tied to withdrawal") || returns() != 1 {
		t.Fatalf("return a resolved payment: %d %s", code, stderr)
	}
	if out, _, code := cli("reconcile"); code != 0 || strings.Contains(out, "unsettled") {
		t.Fatalf("reconcile after settling: %d %s", code, out)
	}

	// On the stopped store: a third payment, acknowledged with a note.
	submitTx(t, hc, u, &txnbuild.Payment{Destination: dist.Address(), Amount: "2", Asset: asset})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out, _, _ := cli("payment", "list", "--unmatched"); strings.Contains(out, "2.0000000") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not record the third payment")
		}
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	out, _, _ := cli("payment", "list", "--unmatched", "--json")
	third := strings.Split(strings.Split(out, `"id": "`)[1], `"`)[0]
	if out, stderr, code := cli("payment", "resolve", third, "--note", "treasury top-up", "--by", "carol"); code != 0 || !strings.Contains(out, "resolved: treasury top-up") {
		t.Fatalf("resolve --note offline: %d %s %s", code, out, stderr)
	}
	if out, _, code := cli("payment", "list"); code != 0 || strings.Count(out, "returned") != 1 || strings.Count(out, "resolved") != 2 {
		t.Fatalf("payment list: %s", out)
	}
	if out, stderr, code := cli("reconcile"); code != 0 {
		t.Fatalf("reconcile offline: %d %s %s", code, out, stderr)
	}
}

// payMemo pays amount of USDX from u to the distribution account with an id memo.
func payMemo(t *testing.T, tf *treasuryFixture, u *keypair.Full, amount, memo string) {
	t.Helper()
	acct, err := tf.hc.AccountDetail(horizonclient.AccountRequest{AccountID: u.Address()})
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(memo, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.Payment{Destination: tf.dist.Address(), Amount: amount, Asset: tf.asset}},
		BaseFee:    100, Memo: txnbuild.MemoID(id), Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, u)
	if _, err := tf.hc.SubmitTransaction(tx); err != nil {
		t.Fatal(err)
	}
}
