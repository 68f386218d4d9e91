package cmd

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

// sep24 posts to the wallet's anchor's SEP-24 endpoint with a body of the given content type.
func (w *wallet) sep24(method, path, ctype string, body []byte) httpResult {
	w.t.Helper()
	base := strings.TrimSuffix(w.base, "/kyc") + "/sep24"
	h := []string{}
	if w.token != "" {
		h = append(h, "Authorization", "Bearer "+w.token)
	}
	return do(w.t, method, base+path, ctype, bytes.NewReader(body), h...)
}

func multipartBody(t *testing.T, fields map[string]string, file []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("photo_id_front", "id.png")
		fw.Write(file)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestE2ESEP24API: SEP-24's API on a real anchor serve with sep24.enabled: the toml advertises
// it, /info has SEP-24's shape, the interactive requests (JSON, form and multipart) create an
// incomplete transaction and answer interactive_customer_info_needed with a URL and the id;
// every bad request is a 400 that creates nothing; SEP-6 and SEP-24 transactions stay on
// their own endpoints and another account's are never shown.
func TestE2ESEP24API(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	if d.toml.TransferServerSEP0024 != s.URL+"/sep24" {
		t.Fatalf("TRANSFER_SERVER_SEP0024 = %q", d.toml.TransferServerSEP0024)
	}
	w := newWallet(t, s, nil)

	r := w.sep24("GET", "/info", "", nil)
	var info struct {
		Deposit  map[string]map[string]any `json:"deposit"`
		Withdraw map[string]map[string]any `json:"withdraw"`
		Fee      map[string]any            `json:"fee"`
		Features map[string]bool           `json:"features"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &info) != nil || info.Deposit["USDX"]["enabled"] != true || info.Fee["enabled"] != false || !info.Features["claimable_balances"] {
		t.Fatalf("GET /info: %d %s", r.Status, r.Body)
	}

	anon := &wallet{t: t, base: w.base}
	if r := anon.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX"}`)); r.Status != 403 || !strings.Contains(string(r.Body), "authentication_required") {
		t.Fatalf("without a token: %d %s", r.Status, r.Body)
	}

	start := func(kind, ctype string, body []byte) map[string]any {
		t.Helper()
		r := w.sep24("POST", "/transactions/"+kind+"/interactive", ctype, body)
		if r.Status != 200 {
			t.Fatalf("%s interactive (%s): %d %s", kind, ctype, r.Status, r.Body)
		}
		m := r.JSON(t)
		if m["type"] != "interactive_customer_info_needed" || m["id"] == "" || !strings.HasPrefix(m["url"].(string), s.URL+"/flow/"+m["id"].(string)+"?") || !strings.Contains(m["url"].(string), "token=") {
			t.Fatalf("%s interactive: %v", kind, m)
		}
		return m
	}
	dep := start("deposit", "application/json", []byte(`{"asset_code":"USDX","amount":10,"lang":"es","claimable_balance_supported":true}`))
	if !strings.Contains(dep["url"].(string), "lang=es") {
		t.Fatalf("lang is not passed on: %v", dep["url"])
	}
	wd := start("withdraw", "application/x-www-form-urlencoded", []byte(url.Values{"asset_code": {"USDX"}, "amount": {"5"}, "email_address": {"ada@example.com"}}.Encode()))
	ct, body := multipartBody(t, map[string]string{"asset_code": "USDX", "first_name": "Ada"}, pngBytes)
	start("deposit", ct, body)

	tx := func(id string) map[string]any {
		t.Helper()
		r := w.sep24("GET", "/transaction?id="+id, "", nil)
		if r.Status != 200 {
			t.Fatalf("GET /transaction %s: %d %s", id, r.Status, r.Body)
		}
		return r.JSON(t)["transaction"].(map[string]any)
	}
	got := tx(dep["id"].(string))
	if got["status"] != "incomplete" || got["kind"] != "deposit" || got["amount_in"] != "10.0000000" || !strings.Contains(got["more_info_url"].(string), "/tx/") {
		t.Fatalf("the deposit: %v", got)
	}
	if got := tx(wd["id"].(string)); got["status"] != "incomplete" || got["withdraw_anchor_account"] != nil {
		t.Fatalf("an incomplete withdrawal shows where to pay: %v", got)
	}

	list := func(q string) int {
		t.Helper()
		r := w.sep24("GET", "/transactions?"+q, "", nil)
		if r.Status != 200 {
			t.Fatalf("GET /transactions?%s: %d %s", q, r.Status, r.Body)
		}
		return len(r.JSON(t)["transactions"].([]any))
	}
	if n := list("asset_code=USDX"); n != 3 {
		t.Fatalf("%d SEP-24 transactions, want 3", n)
	}
	if n := list("asset_code=USDX&kind=withdrawal"); n != 1 {
		t.Fatalf("%d withdrawals, want 1", n)
	}

	for name, c := range map[string]struct{ path, ctype, body, want string }{
		"quote_id":          {"deposit", "application/json", `{"asset_code":"USDX","quote_id":"q1"}`, "quote_id"},
		"source_asset":      {"deposit", "application/json", `{"asset_code":"USDX","source_asset":"iso4217:EUR"}`, "source_asset"},
		"destination_asset": {"withdraw", "application/json", `{"asset_code":"USDX","destination_asset":"iso4217:EUR"}`, "destination_asset"},
		"no asset":          {"deposit", "application/json", `{"amount":"1"}`, "asset_code"},
		"unknown asset":     {"deposit", "application/json", `{"asset_code":"NOPE"}`, "NOPE"},
		"amount too large":  {"deposit", "application/json", `{"asset_code":"USDX","amount":"1000000000"}`, "maximum"},
		"amount not number": {"withdraw", "application/json", `{"asset_code":"USDX","amount":"ten"}`, "amount"},
		"contract account":  {"deposit", "application/json", `{"asset_code":"USDX","account":"CA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"}`, "contract"},
		"bad account":       {"deposit", "application/json", `{"asset_code":"USDX","account":"GNOPE"}`, "account"},
		"other issuer":      {"deposit", "application/json", `{"asset_code":"USDX","asset_issuer":"` + keypair.MustRandom().Address() + `"}`, "asset_issuer"},
		"memo type":         {"deposit", "application/json", `{"asset_code":"USDX","memo":"abc","memo_type":"id"}`, "memo"},
		"claimable flag":    {"deposit", "application/json", `{"asset_code":"USDX","claimable_balance_supported":"maybe"}`, "claimable_balance_supported"},
		"not an object":     {"deposit", "application/json", `["USDX"]`, "JSON object"},
		"content type":      {"deposit", "text/plain", `asset_code=USDX`, "content type"},
	} {
		r := w.sep24("POST", "/transactions/"+c.path+"/interactive", c.ctype, []byte(c.body))
		var e struct{ Error string }
		if r.Status != 400 || json.Unmarshal(r.Body, &e) != nil || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if n := list("asset_code=USDX"); n != 3 {
		t.Fatalf("a refused request created a transaction: %d", n)
	}
	if r := w.sep24("GET", "/transactions", "", nil); r.Status != 400 {
		t.Fatalf("GET /transactions without asset_code: %d", r.Status)
	}

	// SEP-6 and SEP-24 keep to their own; another account sees none of them.
	d6 := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)
	if r := w.sep24("GET", "/transaction?id="+d6, "", nil); r.Status != 404 {
		t.Fatalf("a SEP-6 transaction through SEP-24: %d", r.Status)
	}
	if r := w.sep6("/transaction", url.Values{"id": {dep["id"].(string)}}); r.Status != 404 {
		t.Fatalf("a SEP-24 transaction through SEP-6: %d", r.Status)
	}
	if r := w.sep6("/transactions", url.Values{"asset_code": {"USDX"}}); len(r.JSON(t)["transactions"].([]any)) != 1 {
		t.Fatalf("SEP-6 lists SEP-24 transactions: %s", r.Body)
	}
	other := newWallet(t, s, nil)
	if r := other.sep24("GET", "/transaction?id="+dep["id"].(string), "", nil); r.Status != 404 {
		t.Fatalf("another account's transaction: %d", r.Status)
	}
}

// TestE2ESEP24Off: with sep24.enabled false, SEP-24 is neither advertised nor served.
func TestE2ESEP24Off(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_SEP24_ENABLED": "false"})
	if d := discover(t, s); d.toml.TransferServerSEP0024 != "" {
		t.Fatalf("TRANSFER_SERVER_SEP0024 = %q while sep24 is off", d.toml.TransferServerSEP0024)
	}
	w := newWallet(t, s, nil)
	if r := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX"}`)); r.Status != 404 {
		t.Fatalf("SEP-24 while off: %d", r.Status)
	}
}
