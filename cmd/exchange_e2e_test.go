package cmd

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/money"
)

// quote asks the anchor for a firm quote as w.
func (w *wallet) quote(base string, req map[string]string) map[string]any {
	w.t.Helper()
	body, _ := json.Marshal(req)
	r := do(w.t, "POST", base+"/quote", "application/json", strings.NewReader(string(body)), "Authorization", "Bearer "+w.token)
	if r.Status != 201 {
		w.t.Fatalf("POST /quote %s: %d %s", body, r.Status, r.Body)
	}
	return r.JSON(w.t)
}

// balance is account's USDX balance on the stand-in Horizon.
func (tf *treasuryFixture) balance(t *testing.T, account string) string {
	t.Helper()
	acct, err := tf.hc.AccountDetail(horizonclient.AccountRequest{AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range acct.Balances {
		if b.Asset.Code == "USDX" {
			return b.Balance
		}
	}
	return ""
}

// TestE2EExchange: SEP-6 exchanges end to end with euros against USDX. /info advertises
// deposit-exchange and withdraw-exchange; a wallet quotes EUR→USDX, deposits with the quote
// (amount_in_asset EUR, amount_out the quote's, fee_details its fee), the operator records the
// euros and credits, and the customer receives exactly the quoted tokens; a quote serves one
// transaction, never another account's, and conflicting parameters are 400s; a deposit without a
// quote is priced when the euros arrive, at /price's rate; a withdrawal-exchange with a quote is
// paid on Stellar and priced by the watcher; anchor quote list / show name the transaction that
// used each quote; reconcile still balances (it counts tokens only).
func TestE2EExchange(t *testing.T) {
	tf := newTreasuryFixture(t, "10000")
	configureQuotes(t, tf.dir)
	u := keypair.MustRandom()
	tf.hc.Fund(u.Address())
	submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "100000"})
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	s := startServe(t, tf.dir, tf.port, env)
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(tf.dir, "anchor.yaml"))...)
	}
	d := discover(t, s)
	qbase := d.toml.AnchorQuoteServer
	usdx := "stellar:USDX:" + tf.issuer.Address()

	var info struct {
		DX map[string]map[string]any `json:"deposit-exchange"`
		WX map[string]map[string]any `json:"withdraw-exchange"`
	}
	if r := do(t, "GET", s.URL+"/sep6/info", "", nil); r.Status != 200 || json.Unmarshal(r.Body, &info) != nil ||
		info.DX["USDX"]["enabled"] != true || info.WX["USDX"]["authentication_required"] != true ||
		len(info.DX["USDX"]["funding_methods"].([]any)) != 1 || info.DX["USDX"]["funding_methods"].([]any)[0] != "SEPA" {
		t.Fatalf("/info: %d %s", r.Status, r.Body)
	}

	w := signedInWallet(t, s, u)
	w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "J", "last_name": "D", "email_address": "j@example.com"})
	w.putJSON(map[string]string{"type": "sep6-withdraw", "first_name": "J", "last_name": "D", "email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"})

	// A deposit-exchange with a firm quote.
	q := w.quote(qbase, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "100", "context": "sep6"})
	qid := q["id"].(string)
	if q["buy_amount"] != "107.0733290" {
		t.Fatalf("quote %v", q)
	}
	params := url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}, "quote_id": {qid}, "amount": {"100.00"}, "funding_method": {"SEPA"}}
	r := w.sep6("/deposit-exchange", params)
	if r.Status != 200 || r.JSON(t)["instructions"] == nil || r.JSON(t)["fee_fixed"] != nil {
		t.Fatalf("deposit-exchange: %d %s", r.Status, r.Body)
	}
	dep := r.JSON(t)["id"].(string)
	tx := w.tx(dep)
	fd, _ := tx["fee_details"].(map[string]any)
	if tx["kind"] != "deposit-exchange" || tx["amount_in"] != "100.0000000" || tx["amount_in_asset"] != "iso4217:EUR" ||
		tx["amount_out"] != "107.0733290" || tx["amount_out_asset"] != usdx || tx["amount_fee"] != "1.0000000" || tx["amount_fee_asset"] != "iso4217:EUR" ||
		tx["quote_id"] != qid || fd["total"] != "1.0000000" || fd["asset"] != "iso4217:EUR" {
		t.Fatalf("deposit-exchange transaction: %v", tx)
	}
	if r := w.sep6("/transactions", url.Values{"asset_code": {"USDX"}, "kind": {"deposit-exchange"}}); r.Status != 200 || len(r.JSON(t)["transactions"].([]any)) != 1 {
		t.Fatalf("transactions kind=deposit-exchange: %d %s", r.Status, r.Body)
	}
	if r := w.sep6("/transactions", url.Values{"asset_code": {"USDX"}, "kind": {"deposit"}}); r.Status != 200 || len(r.JSON(t)["transactions"].([]any)) != 0 {
		t.Fatalf("transactions kind=deposit: %d %s", r.Status, r.Body)
	}

	// Refusals: each is a 400 with a reason, and creates nothing.
	other := newWallet(t, s, nil)
	otherQuote := other.quote(qbase, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "10", "context": "sep6"})["id"].(string)
	q24 := w.quote(qbase, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "10", "context": "sep24"})["id"].(string)
	fresh := w.quote(qbase, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "20", "context": "sep6"})["id"].(string)
	for name, c := range map[string]struct {
		path string
		q    url.Values
		want string
	}{
		"quote used":         {"/deposit-exchange", params, "used by another transaction"},
		"another's quote":    {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}, "quote_id": {otherQuote}}, "not a quote of this account"},
		"unknown quote":      {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "quote_id": {"nope"}}, "not a quote of this account"},
		"sep24 quote":        {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "quote_id": {q24}}, "context sep24"},
		"amount conflict":    {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "quote_id": {fresh}, "amount": {"21"}}, "conflicts with quote"},
		"asset conflict":     {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:USD"}, "quote_id": {fresh}}, "conflicts with quote"},
		"method conflict":    {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "quote_id": {fresh}, "funding_method": {"SWIFT"}}, "conflicts with quote"},
		"withdraw with it":   {"/withdraw-exchange", url.Values{"source_asset": {"USDX"}, "quote_id": {fresh}}, "exchanges"},
		"no token":           {"/deposit-exchange", url.Values{"source_asset": {"iso4217:EUR"}, "amount": {"5"}}, "destination_asset is required"},
		"no amount":          {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}}, "amount is required"},
		"no off-chain asset": {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "amount": {"5"}}, "source_asset is required"},
		"not offered":        {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:GBP"}, "amount": {"5"}}, "not exchanged"},
		"euro cents":         {"/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}, "amount": {"5.001"}}, "more than the 2 decimals"},
		"bad method":         {"/withdraw-exchange", url.Values{"source_asset": {"USDX"}, "destination_asset": {"iso4217:EUR"}, "amount": {"5"}, "funding_method": {"cash"}}, "funding_method"},
	} {
		r := w.sep6(c.path, c.q)
		if r.Status != 400 || !strings.Contains(r.JSON(t)["error"].(string), c.want) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := w.sep6("/transactions", url.Values{"asset_code": {"USDX"}}); len(r.JSON(t)["transactions"].([]any)) != 1 {
		t.Fatalf("a refused request created a transaction: %s", r.Body)
	}

	// The euros arrive: the quote's tokens are credited, exactly.
	before := tf.balance(t, u.Address())
	if out, stderr, code := cli("deposit", "received", dep, "--amount", "100", "--external-id", "SEPA-1"); code != 0 || !strings.Contains(out, "pending_anchor") {
		t.Fatalf("deposit received: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := cli("credit", dep); code != 0 {
		t.Fatalf("credit: %d %s %s", code, out, stderr)
	}
	tx = w.waitStatus(dep, "completed")
	if tx["amount_out"] != "107.0733290" || tf.balance(t, u.Address()) != addAmounts(t, before, "107.0733290") {
		t.Fatalf("after credit: balance %s (was %s), %v", tf.balance(t, u.Address()), before, tx)
	}

	// Without a quote: priced when the euros arrive, at the rate /price gives.
	r = w.sep6("/deposit-exchange", url.Values{"destination_asset": {"USDX"}, "source_asset": {"iso4217:EUR"}, "amount": {"50"}})
	if r.Status != 200 {
		t.Fatalf("deposit-exchange without a quote: %d %s", r.Status, r.Body)
	}
	dep2 := r.JSON(t)["id"].(string)
	if tx := w.tx(dep2); tx["amount_in"] != "50.0000000" || tx["amount_out"] != nil || tx["quote_id"] != nil {
		t.Fatalf("unpriced deposit-exchange: %v", tx)
	}
	price := do(t, "GET", qbase+"/price?"+url.Values{"sell_asset": {"iso4217:EUR"}, "buy_asset": {usdx}, "sell_amount": {"50"}, "context": {"sep6"}}.Encode(), "", nil).JSON(t)
	if _, stderr, code := cli("deposit", "received", dep2, "--amount", "50", "--external-id", "SEPA-2"); code != 0 {
		t.Fatalf("deposit received: %s", stderr)
	}
	if tx := w.tx(dep2); tx["amount_out"] != price["buy_amount"] || tx["status"] != "pending_anchor" {
		t.Fatalf("priced at arrival: %v, /price %v", tx, price)
	}
	if out, _, _ := cli("tx", "show", dep2, "--json"); !strings.Contains(out, `"price": "`+price["price"].(string)+`"`) || !strings.Contains(out, "priced at the current rate") {
		t.Fatalf("tx show does not record the price used: %s", out)
	}

	// A withdrawal-exchange with a quote, paid on Stellar: the watcher prices it by the quote.
	wq := w.quote(qbase, map[string]string{"sell_asset": usdx, "buy_asset": "iso4217:EUR", "sell_amount": "20", "context": "sep6"})
	r = w.sep6("/withdraw-exchange", url.Values{"source_asset": {"USDX"}, "destination_asset": {"iso4217:EUR"}, "quote_id": {wq["id"].(string)}, "dest": {"DE89370400440532013000"}})
	if r.Status != 200 || r.JSON(t)["memo"] == nil {
		t.Fatalf("withdraw-exchange: %d %s", r.Status, r.Body)
	}
	wd := r.JSON(t)
	wid := wd["id"].(string)
	payMemo(t, tf, u, "20", wd["memo"].(string))
	tx = w.waitStatus(wid, "pending_anchor")
	if tx["kind"] != "withdrawal-exchange" || tx["amount_in"] != "20.0000000" || tx["amount_in_asset"] != usdx ||
		tx["amount_out"] != wq["buy_amount"].(string)+"00000" || tx["amount_out_asset"] != "iso4217:EUR" || tx["quote_id"] != wq["id"] {
		t.Fatalf("withdrawal-exchange after the payment: %v (quote %v)", tx, wq)
	}
	if out, stderr, code := cli("withdraw", "paid", wid, "--external-id", "SEPA-OUT-1"); code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("withdraw paid: %d %s %s", code, out, stderr)
	}
	// Without a quote, the watcher prices the payment at the current rate as it records it.
	r = w.sep6("/withdraw-exchange", url.Values{"source_asset": {"USDX"}, "destination_asset": {"iso4217:EUR"}, "amount": {"10"}})
	if r.Status != 200 {
		t.Fatalf("withdraw-exchange without a quote: %d %s", r.Status, r.Body)
	}
	wd2 := r.JSON(t)
	wprice := do(t, "GET", qbase+"/price?"+url.Values{"sell_asset": {usdx}, "buy_asset": {"iso4217:EUR"}, "sell_amount": {"10"}, "context": {"sep6"}}.Encode(), "", nil).JSON(t)
	payMemo(t, tf, u, "10", wd2["memo"].(string))
	if tx := w.waitStatus(wd2["id"].(string), "pending_anchor"); tx["amount_out"] != wprice["buy_amount"].(string)+"00000" || tx["amount_fee"] != "1.0000000" {
		t.Fatalf("withdrawal-exchange priced by the watcher: %v, /price %v", tx, wprice)
	}

	// The operator's views of exchanges: the kind, each amount's asset, the quote and price.
	if out, _, code := cli("tx", "list", "--kind", "deposit-exchange"); code != 0 || strings.Count(out, "deposit-exchange") != 2 || !strings.Contains(out, "100.0000000 EUR") {
		t.Fatalf("tx list --kind deposit-exchange: %d %s", code, out)
	}
	if out, _, code := cli("tx", "list", "--kind", "withdrawal"); code != 0 || strings.Count(out, "withdrawal-exchange") != 2 {
		t.Fatalf("tx list --kind withdrawal: %d %s", code, out)
	}
	if out, _, code := cli("tx", "show", dep); code != 0 || !strings.Contains(out, "amount_in: 100.0000000 EUR") || !strings.Contains(out, "amount_out: 107.0733290 USDX") || !strings.Contains(out, "quote:     "+qid) {
		t.Fatalf("tx show of an exchange: %d %s", code, out)
	}

	// The operator's view of the quotes.
	if out, _, code := cli("quote", "show", qid); code != 0 || !strings.Contains(out, dep) || !strings.Contains(out, "107.0733290") {
		t.Fatalf("quote show: %d %s", code, out)
	}
	if out, _, code := cli("quote", "show", fresh, "--json"); code != 0 || !strings.Contains(out, `"used_by": ""`) {
		t.Fatalf("quote show of an unused quote: %d %s", code, out)
	}
	if out, _, code := cli("quote", "list", "--account", u.Address()); code != 0 || strings.Count(out, u.Address()) != 4 {
		t.Fatalf("quote list --account: %d %s", code, out)
	}
	if out, stderr, code := cli("reconcile"); code != 0 {
		t.Fatalf("reconcile: %d %s %s", code, out, stderr)
	}
	// And on the stopped store, the same answers.
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	if out, _, code := cli("quote", "show", qid[:8]); code != 0 || !strings.Contains(out, dep) {
		t.Fatalf("quote show offline: %d %s", code, out)
	}
}

// addAmounts adds two 7-decimal amounts.
func addAmounts(t *testing.T, a, b string) string {
	t.Helper()
	x, err := money.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := money.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return money.Format(x + y)
}

// TestE2ESEP24Exchange: SEP-24 with SEP-38. A deposit with a sep24 quote_id shows the quote's
// assets and amounts (kind stays deposit, as SEP-24 has no -exchange kinds); the amount page
// shows the quoted conversion with the amount fixed, and a changed amount is refused; a
// withdrawal with destination_asset and no quote says it is converted at the day's rate; a
// sep6 quote, another's quote, or the other side's asset parameter is a 400.
func TestE2ESEP24Exchange(t *testing.T) {
	dir, port := initAnchor(t)
	configureQuotes(t, dir)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	d := discover(t, s)
	usdx := "stellar:USDX:" + d.toml.Currencies[0].Issuer
	w := newWallet(t, s, nil)
	q := w.quote(d.toml.AnchorQuoteServer, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "100", "context": "sep24"})
	q6 := w.quote(d.toml.AnchorQuoteServer, map[string]string{"sell_asset": "iso4217:EUR", "buy_asset": usdx, "sell_amount": "100", "context": "sep6"})
	for name, c := range map[string]struct{ path, body, want string }{
		"sep6 quote":        {"deposit", `{"asset_code":"USDX","quote_id":"` + q6["id"].(string) + `"}`, "context sep6"},
		"unknown quote":     {"deposit", `{"asset_code":"USDX","quote_id":"nope"}`, "not a quote of this account"},
		"destination_asset": {"deposit", `{"asset_code":"USDX","destination_asset":"iso4217:EUR"}`, "source_asset"},
		"not offered":       {"withdraw", `{"asset_code":"USDX","destination_asset":"iso4217:GBP"}`, "not exchanged"},
		"amount conflict":   {"deposit", `{"asset_code":"USDX","quote_id":"` + q["id"].(string) + `","amount":"99"}`, "conflicts with quote"},
	} {
		r := w.sep24("POST", "/transactions/"+c.path+"/interactive", "application/json", []byte(c.body))
		if r.Status != 400 || !strings.Contains(r.JSON(t)["error"].(string), c.want) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	r := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","quote_id":"`+q["id"].(string)+`","source_asset":"iso4217:EUR"}`))
	if r.Status != 200 {
		t.Fatalf("interactive deposit with a quote: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	id, link := m["id"].(string), m["url"].(string)
	tx := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if tx["kind"] != "deposit" || tx["amount_in_asset"] != "iso4217:EUR" || tx["amount_out"] != "107.0733290" || tx["quote_id"] != q["id"] {
		t.Fatalf("SEP-24 deposit with a quote: %v", tx)
	}
	br := newBrowser(t)
	code, _, page := br.do("GET", link, nil)
	if code != 200 {
		t.Fatalf("flow: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	code, _, page = br.do("POST", s.URL+"/flow/"+id+"/kyc", url.Values{"csrf": {csrf}, "first_name": {"Ada"}, "last_name": {"L"}, "email_address": {"ada@example.com"}})
	if code != 200 || !strings.Contains(page, "You send 100.0000000 EUR and receive 107.0733290 USDX (fee 1.0000000 EUR)") ||
		!strings.Contains(page, "readonly") || !strings.Contains(page, "(EUR)") {
		t.Fatalf("the amount page of a quoted deposit: %d\n%s", code, page)
	}
	if code, _, page := br.do("POST", s.URL+"/flow/"+id+"/confirm", url.Values{"csrf": {csrf}, "amount": {"90"}}); code != 400 || !strings.Contains(page, "conflicts with quote") {
		t.Fatalf("another amount: %d\n%s", code, page)
	}
	code, path, page := br.do("POST", s.URL+"/flow/"+id+"/confirm", url.Values{"csrf": {csrf}, "amount": {"100.0000000"}})
	tx = w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if code != 200 || path != "/tx/"+id || tx["status"] != "pending_user_transfer_start" {
		t.Fatalf("confirmed: %d %s %v", code, path, tx)
	}
	// The status page names each amount's asset.
	if !strings.Contains(page, `id="amount_in">100.0000000 EUR<`) || !strings.Contains(page, `id="amount_out">107.0733290 USDX<`) || !strings.Contains(page, `id="amount_fee">1.0000000 EUR<`) {
		t.Fatalf("the status page of an exchange:\n%s", page)
	}

	r = w.sep24("POST", "/transactions/withdraw/interactive", "application/json", []byte(`{"asset_code":"USDX","destination_asset":"iso4217:EUR"}`))
	if r.Status != 200 {
		t.Fatalf("interactive withdrawal-exchange: %d %s", r.Status, r.Body)
	}
	m = r.JSON(t)
	br = newBrowser(t)
	_, _, page = br.do("GET", m["url"].(string), nil)
	code, _, page = br.do("POST", s.URL+"/flow/"+m["id"].(string)+"/kyc", url.Values{"csrf": {csrfOf(t, page)}, "bank_account_number": {"12345678"}, "bank_number": {"021000021"}})
	if code != 200 || !strings.Contains(page, "converted to EUR at the rate of the day") || !strings.Contains(page, "(USDX)") {
		t.Fatalf("the amount page of a withdrawal-exchange: %d\n%s", code, page)
	}
}
