package cmd

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/views"
)

// setDepositFees edits anchor.yaml: deposit fee_fixed 0.5 and fee_percent 1.
func setDepositFees(t *testing.T, dir string) {
	p := filepath.Join(dir, "anchor.yaml")
	b, _ := os.ReadFile(p)
	s := strings.Replace(string(b), `fee_fixed: "0"`, `fee_fixed: "0.5"`, 1)
	s = strings.Replace(s, `fee_percent: "0"`, `fee_percent: "1"`, 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *wallet) sep6(path string, q url.Values) httpResult {
	w.t.Helper()
	base := strings.TrimSuffix(w.base, "/kyc") + "/sep6"
	return do(w.t, "GET", base+path+"?"+q.Encode(), "application/json", nil, "Authorization", "Bearer "+w.token)
}

func (w *wallet) tx(id string) map[string]any {
	w.t.Helper()
	r := w.sep6("/transaction", url.Values{"id": {id}, "lang": {"en"}})
	if r.Status != 200 {
		w.t.Fatalf("GET /transaction: %d %s", r.Status, r.Body)
	}
	return r.JSON(w.t)["transaction"].(map[string]any)
}

func (w *wallet) waitStatus(id, status string) map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tx := w.tx(id)
		if tx["status"] == status {
			return tx
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("transaction %s is %v, want %s", id, tx["status"], status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2ESEP6Deposit(t *testing.T) {
	dir, port := initAnchor(t)
	setDepositFees(t, dir)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	if d.toml.TransferServer != s.URL+"/sep6" {
		t.Fatalf("TRANSFER_SERVER %q", d.toml.TransferServer)
	}
	rcv := newCallbackReceiver(t, d.toml.SigningKey)

	// /info needs no token; amounts are exact numbers; features only where they work.
	r := do(t, "GET", s.URL+"/sep6/info?lang=en", "application/json", nil)
	var info struct {
		Deposit  map[string]map[string]any `json:"deposit"`
		Withdraw map[string]map[string]any `json:"withdraw"`
		Features map[string]bool           `json:"features"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &info) != nil {
		t.Fatalf("/info: %d %s", r.Status, r.Body)
	}
	dep := info.Deposit["USDX"]
	if dep["enabled"] != true || dep["authentication_required"] != true || dep["min_amount"] != 1.0 || dep["fee_percent"] != 1.0 || dep["fee_fixed"] != 0.5 {
		t.Fatalf("/info deposit %v", dep)
	}
	if !info.Features["account_creation"] || !info.Features["claimable_balances"] {
		t.Fatalf("features %v", info.Features)
	}
	if r := do(t, "GET", s.URL+"/sep6/deposit?asset_code=USDX", "", nil); r.Status != 403 || r.JSON(t)["type"] != "authentication_required" {
		t.Fatalf("deposit without a token: %d %s", r.Status, r.Body)
	}
	w := newWallet(t, s, nil)
	// Without quotes the exchange endpoints are not advertised, and answer 400.
	if strings.Contains(string(r.Body), "exchange") {
		t.Fatalf("/info advertises exchanges without quotes: %s", r.Body)
	}
	for _, ex := range []string{"/deposit-exchange", "/withdraw-exchange"} {
		q := url.Values{"destination_asset": {"USDX"}, "source_asset": {"USDX"}, "amount": {"10"}}
		if ex == "/deposit-exchange" {
			q.Set("source_asset", "iso4217:EUR")
		} else {
			q.Set("destination_asset", "iso4217:EUR")
		}
		if r := w.sep6(ex, q); r.Status != 400 || !strings.Contains(string(r.Body), "SEP-38") {
			t.Fatalf("%s: %d %s", ex, r.Status, r.Body)
		}
	}

	r = w.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "amount": {"100"}, "lang": {"en"}, "on_change_callback": {rcv.URL}, "email_address": {"j@example.com"}})
	if r.Status != 200 {
		t.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
	resp := r.JSON(t)
	id, _ := resp["id"].(string)
	if id == "" || resp["instructions"] != nil || resp["how"] == nil || !strings.HasPrefix(resp["how"].(string), "Make a bank transfer") || resp["min_amount"] != 1.0 || resp["eta"] != 86400.0 || resp["fee_fixed"] != 0.5 {
		t.Fatalf("deposit before KYC: %v", resp)
	}
	tx := w.tx(id)
	upd, _ := tx["required_customer_info_updates"].([]any)
	if tx["status"] != "pending_customer_info_update" || len(upd) != 3 || tx["instructions"] != nil || tx["user_action_required_by"] == nil {
		t.Fatalf("waiting for KYC: %v", tx)
	}

	// KYC through SEP-12, approval through the CLI: the deposit moves on by itself.
	cid := w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Jane", "last_name": "Doe", "email_address": "j@example.com"}).JSON(t)["id"].(string)
	if _, stderr, code := kycCLI(t, dir, "kyc", "approve", cid, "--by", "alice"); code != 0 {
		t.Fatal(stderr)
	}
	tx = w.waitStatus(id, "pending_user_transfer_start")
	ins := tx["instructions"].(map[string]any)
	ref := ins["external_transfer_memo"].(map[string]any)["value"].(string)
	if ref == "" || ins["organization.bank_account_number"] == nil {
		t.Fatalf("instructions %v", ins)
	}
	rcv.waitFor(t, id, "pending_user_transfer_start")

	// The fiat arrives: fees are computed exactly.
	out, stderr, code := kycCLI(t, dir, "deposit", "received", id, "--amount", "100", "--external-id", "WIRE-1", "--by", "bob")
	if code != 0 || !strings.Contains(out, "pending_anchor") {
		t.Fatalf("deposit received: %d %s %s", code, out, stderr)
	}
	tx = w.tx(id)
	fd, _ := tx["fee_details"].(map[string]any)
	if tx["amount_in"] != "100.0000000" || tx["amount_fee"] != "1.5000000" || tx["amount_out"] != "98.5000000" || tx["external_transaction_id"] != "WIRE-1" || fd["total"] != "1.5000000" {
		t.Fatalf("after receipt: %v", tx)
	}
	rcv.waitFor(t, id, "pending_anchor")
	if r := w.sep6("/transaction", url.Values{"external_transaction_id": {"WIRE-1"}}); r.Status != 200 {
		t.Fatalf("by external id: %d", r.Status)
	}

	// Hold and release, illegal moves refused, all in the history.
	kycCLI(t, dir, "tx", "hold", id, "--reason", "manual review", "--by", "bob")
	if w.tx(id)["status"] != "on_hold" {
		t.Fatal("not on hold")
	}
	kycCLI(t, dir, "tx", "release", id, "--by", "bob")
	if _, stderr, code := kycCLI(t, dir, "withdraw", "paid", id, "--external-id", "X"); code != 1 || !strings.Contains(stderr, "deposit") {
		t.Fatalf("paid on a deposit: %d %s", code, stderr)
	}
	if _, stderr, code := kycCLI(t, dir, "deposit", "received", id, "--amount", "1", "--external-id", "W9"); code != 1 || !strings.Contains(stderr, "already recorded") {
		t.Fatalf("received twice: %d %s", code, stderr)
	}
	// The same receipt again (a retried script) is done already: exit 0, nothing changes.
	if out, stderr, code := kycCLI(t, dir, "deposit", "received", id, "--amount", "100", "--external-id", "WIRE-1"); code != 0 || !strings.Contains(out, "already recorded") {
		t.Fatalf("the same receipt again: %d %s %s", code, out, stderr)
	}
	out, _, _ = kycCLI(t, dir, "tx", "show", id, "--json")
	var detail views.TxDetail
	if err := json.Unmarshal([]byte(out), &detail); err != nil || len(detail.Transaction.History) < 5 || len(detail.AllowedMoves) == 0 {
		t.Fatalf("tx show: %v\n%s", err, out)
	}
	last := detail.Transaction.History[len(detail.Transaction.History)-1]
	if last.Actor != reviewer("bob") || last.To != "pending_anchor" {
		t.Fatalf("history %+v", detail.Transaction.History)
	}
	if out, _, code := kycCLI(t, dir, "tx", "list", "--status", "pending_anchor", "--json"); code != 0 || !strings.Contains(out, id) {
		t.Fatalf("tx list: %s", out)
	}
}

func TestE2ESEP6Withdrawal(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	cid := w.putJSON(map[string]string{"type": "sep6-withdraw", "first_name": "Jane", "last_name": "Doe", "email_address": "j@example.com",
		"bank_account_number": "13719713158835300", "bank_number": "121122676"}).JSON(t)["id"].(string)
	kycCLI(t, dir, "kyc", "approve", cid, "--by", "alice")

	r := w.sep6("/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"50"}, "funding_method": {"WIRE"}, "lang": {"en"}})
	if r.Status != 200 {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	resp := r.JSON(t)
	id := resp["id"].(string)
	if !strings.HasPrefix(resp["account_id"].(string), "G") || resp["memo_type"] != "id" || resp["memo"] == "" {
		t.Fatalf("withdraw with KYC accepted: %v", resp)
	}
	tx := w.tx(id)
	if tx["status"] != "pending_user_transfer_start" || tx["withdraw_anchor_account"] != resp["account_id"] || tx["withdraw_memo"] != resp["memo"] {
		t.Fatalf("transaction %v", tx)
	}
	hash := strings.Repeat("ab", 32)
	if _, stderr, code := kycCLI(t, dir, "withdraw", "received", id, "--amount", "50", "--stellar-tx", hash, "--by", "bob"); code != 0 {
		t.Fatal(stderr)
	}
	if r := w.sep6("/transaction", url.Values{"stellar_transaction_id": {hash}}); r.Status != 200 || r.JSON(t)["transaction"].(map[string]any)["status"] != "pending_anchor" {
		t.Fatalf("by stellar id: %d %s", r.Status, r.Body)
	}
	if _, stderr, code := kycCLI(t, dir, "withdraw", "paid", id, "--external-id", "WIRE-OUT-7", "--by", "bob"); code != 0 {
		t.Fatal(stderr)
	}
	tx = w.tx(id)
	if tx["status"] != "completed" || tx["completed_at"] == nil || tx["amount_out"] != "50.0000000" {
		t.Fatalf("completed: %v", tx)
	}
	if _, stderr, code := kycCLI(t, dir, "tx", "fail", id, "--reason", "late"); code != 1 || !strings.Contains(stderr, "final") {
		t.Fatalf("fail a completed transaction: %d %s", code, stderr)
	}
}

func TestE2ESEP6BadParamsAndIsolation(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w, other := newWallet(t, s, nil), newWallet(t, s, nil)
	cases := []struct {
		name, path string
		q          url.Values
		errHas     string
	}{
		{"unknown asset", "/deposit", url.Values{"asset_code": {"EUR"}}, "EUR"},
		{"missing asset", "/deposit", url.Values{}, "asset_code"},
		{"amount over max", "/deposit", url.Values{"asset_code": {"USDX"}, "amount": {"20000"}}, "maximum"},
		{"amount under min", "/withdraw", url.Values{"asset_code": {"USDX"}, "amount": {"0.5"}}, "minimum"},
		{"8 decimals", "/deposit", url.Values{"asset_code": {"USDX"}, "amount": {"10.00000001"}}, "7 decimal"},
		{"negative amount", "/deposit", url.Values{"asset_code": {"USDX"}, "amount": {"-5"}}, "amount"},
		{"bad account", "/deposit", url.Values{"asset_code": {"USDX"}, "account": {"GBAD"}}, "account"},
		{"memo type mismatch", "/deposit", url.Values{"asset_code": {"USDX"}, "memo_type": {"id"}, "memo": {"abc"}}, "id memo"},
		{"bad hash memo", "/deposit", url.Values{"asset_code": {"USDX"}, "memo_type": {"hash"}, "memo": {"xyz"}}, "hash"},
		{"long text memo", "/deposit", url.Values{"asset_code": {"USDX"}, "memo_type": {"text"}, "memo": {strings.Repeat("a", 29)}}, "28 bytes"},
		{"unknown memo type", "/deposit", url.Values{"asset_code": {"USDX"}, "memo_type": {"return"}, "memo": {"1"}}, "memo_type"},
		{"bad email", "/deposit", url.Values{"asset_code": {"USDX"}, "email_address": {"nope"}}, "email_address"},
		{"bad country", "/deposit", url.Values{"asset_code": {"USDX"}, "country_code": {"US"}}, "country_code"},
		{"bad callback", "/deposit", url.Values{"asset_code": {"USDX"}, "on_change_callback": {"ftp://x"}}, "on_change_callback"},
		{"unknown funding method", "/withdraw", url.Values{"asset_code": {"USDX"}, "funding_method": {"PIGEON"}}, "funding_method"},
		{"refund memo without type", "/withdraw", url.Values{"asset_code": {"USDX"}, "refund_memo": {"1"}}, "refund_memo"},
		{"claimable flag", "/deposit", url.Values{"asset_code": {"USDX"}, "claimable_balance_supported": {"yes"}}, "claimable"},
		{"unknown customer id", "/deposit", url.Values{"asset_code": {"USDX"}, "customer_id": {"not-a-customer"}}, "customer_id"},
		{"transactions without asset", "/transactions", url.Values{}, "asset_code"},
		{"transactions of an unknown asset", "/transactions", url.Values{"asset_code": {"EUR"}}, "EUR"},
		{"bad no_older_than", "/transactions", url.Values{"asset_code": {"USDX"}, "no_older_than": {"yesterday"}}, "no_older_than"},
		{"bad kind", "/transactions", url.Values{"asset_code": {"USDX"}, "kind": {"swap"}}, "kind"},
		{"transaction without id", "/transaction", url.Values{}, "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.sep6(c.path, c.q)
			if r.Status != 400 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if msg, _ := r.JSON(t)["error"].(string); !strings.Contains(msg, c.errHas) {
				t.Fatalf("error %q does not mention %q", msg, c.errHas)
			}
		})
	}
	if out, _, _ := kycCLI(t, dir, "tx", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("bad requests created transactions: %s", out)
	}

	// Paging and isolation.
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string))
		time.Sleep(2 * time.Millisecond)
	}
	page := func(q url.Values) []string {
		q.Set("asset_code", "USDX")
		var out []string
		for _, tx := range w.sep6("/transactions", q).JSON(t)["transactions"].([]any) {
			out = append(out, tx.(map[string]any)["id"].(string))
		}
		return out
	}
	first := page(url.Values{"limit": {"2"}})
	second := page(url.Values{"limit": {"2"}, "paging_id": {first[1]}})
	if len(first) != 2 || first[0] != ids[4] || first[1] != ids[3] || len(second) != 2 || second[0] != ids[2] {
		t.Fatalf("paging: %v then %v (ids %v)", first, second, ids)
	}
	if got := page(url.Values{"kind": {"withdrawal"}}); len(got) != 0 {
		t.Fatalf("kind filter: %v", got)
	}
	if r := other.sep6("/transaction", url.Values{"id": {ids[0]}}); r.Status != 404 {
		t.Fatalf("B reads A's transaction: %d", r.Status)
	}
	if got := other.sep6("/transactions", url.Values{"asset_code": {"USDX"}}).JSON(t)["transactions"].([]any); len(got) != 0 {
		t.Fatalf("B lists A's transactions: %v", got)
	}
	if r := other.sep6("/transactions", url.Values{"asset_code": {"USDX"}, "account": {w.kp.Address()}}); r.Status != 403 {
		t.Fatalf("B names A's account: %d", r.Status)
	}
	pr := do(t, "PATCH", s.URL+"/sep6/transactions/"+ids[0], "application/json", strings.NewReader(`{"transaction":{}}`), "Authorization", "Bearer "+other.token)
	if pr.Status != 404 {
		t.Fatalf("B patches A's transaction: %d", pr.Status)
	}
	pr = do(t, "PATCH", s.URL+"/sep6/transactions/"+ids[0], "application/json", strings.NewReader(`{"transaction":{}}`), "Authorization", "Bearer "+w.token)
	if pr.Status != 400 {
		t.Fatalf("PATCH with no update requested: %d", pr.Status)
	}
}

func TestE2ESEP6LegacyKYCResponses(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_SEP6_LEGACY_KYC_RESPONSES": "true"})
	w := newWallet(t, s, nil)
	r := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}})
	if r.Status != 403 || r.JSON(t)["type"] != "non_interactive_customer_info_needed" || len(r.JSON(t)["fields"].([]any)) != 3 {
		t.Fatalf("legacy needs-info: %d %s", r.Status, r.Body)
	}
	w.putJSON(map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"})
	if r := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}); r.Status != 403 || r.JSON(t)["status"] != "pending" {
		t.Fatalf("legacy pending: %d %s", r.Status, r.Body)
	}
	if out, _, _ := kycCLI(t, dir, "tx", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("legacy mode created transactions: %s", out)
	}
}

// TestE2EPerAccountLimits: one token cannot flood the anchor: unfinished transactions per account
// are bounded (429 naming the limit) whatever memo it uses, and writes per account are rate
// limited (429 with Retry-After), while another account is unaffected.
func TestE2EPerAccountLimits(t *testing.T) {
	dir, port := initAnchor(t)
	configureQuotes(t, dir)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS": "3",
		"ANCHOR_WRITE_RATE_LIMIT": "0.01", "ANCHOR_WRITE_RATE_BURST": "5"})
	w, other := newWallet(t, s, nil), newWallet(t, s, nil)
	var statuses []int
	for i := 0; i < 6; i++ {
		statuses = append(statuses, w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).Status)
	}
	if fmt.Sprint(statuses) != "[200 200 200 429 429 429]" {
		t.Fatalf("deposits of one account: %v", statuses)
	}
	if r := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("over the write rate: %d %v", r.Status, r.Header)
	}
	if r := w.sep6("/transactions", url.Values{"asset_code": {"USDX"}}); r.Status != 200 {
		t.Fatalf("reads are not limited: %d", r.Status)
	}
	if r := other.sep6("/deposit", url.Values{"asset_code": {"USDX"}}); r.Status != 200 {
		t.Fatalf("another account: %d %s", r.Status, r.Body)
	}
	// Exchanges count as deposits and withdrawals do: the open limit after 3, the write rate
	// (with Retry-After) after the burst of 5.
	x := newWallet(t, s, nil)
	statuses = nil
	var last httpResult
	for i := 0; i < 6; i++ {
		last = x.sep6("/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}, "amount": {"10"}})
		statuses = append(statuses, last.Status)
	}
	if fmt.Sprint(statuses) != "[200 200 200 429 429 429]" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("exchanges of one account: %v, the last %v %s", statuses, last.Header, last.Body)
	}
}
