package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2ESEP38: with quotes configured, the toml advertises ANCHOR_QUOTE_SERVER; /info lists the
// token and the off-chain asset with its delivery methods; /price and /prices answer without a
// token; a firm quote needs one (403 without), is created (201) and read back by its owner,
// never by another account (404); bad requests are 400 with {"error"}.
func TestE2ESEP38(t *testing.T) {
	dir, port := initAnchor(t)
	configureQuotes(t, dir)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	if d.toml.AnchorQuoteServer != s.URL+"/sep38" {
		t.Fatalf("ANCHOR_QUOTE_SERVER = %q", d.toml.AnchorQuoteServer)
	}
	base := d.toml.AnchorQuoteServer
	var info struct {
		Assets []map[string]any `json:"assets"`
	}
	r := do(t, "GET", base+"/info", "", nil)
	if json.Unmarshal(r.Body, &info) != nil || len(info.Assets) != 2 || !strings.HasPrefix(info.Assets[0]["asset"].(string), "stellar:USDX:G") || info.Assets[1]["asset"] != "iso4217:EUR" {
		t.Fatalf("/info: %d %s", r.Status, r.Body)
	}
	usdx := info.Assets[0]["asset"].(string)
	q := url.Values{"sell_asset": {"iso4217:EUR"}, "buy_asset": {usdx}, "sell_amount": {"100"}, "context": {"sep6"}}
	if r := do(t, "GET", base+"/price?"+q.Encode(), "", nil); r.Status != 200 || r.JSON(t)["buy_amount"] != "107.0733290" {
		t.Fatalf("/price: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/prices?"+url.Values{"sell_asset": {usdx}, "sell_amount": {"100"}}.Encode(), "", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"buy_assets":[{"asset":"iso4217:EUR","price":`) {
		t.Fatalf("/prices: %d %s", r.Status, r.Body)
	}
	for _, bad := range []url.Values{
		{"sell_asset": {"iso4217:EUR"}, "buy_asset": {usdx}, "sell_amount": {"100"}},                                           // no context
		{"sell_asset": {"iso4217:GBP"}, "buy_asset": {usdx}, "sell_amount": {"100"}, "context": {"sep6"}},                      // not offered
		{"sell_asset": {"iso4217:EUR"}, "buy_asset": {usdx}, "sell_amount": {"100"}, "buy_amount": {"1"}, "context": {"sep6"}}, // both
	} {
		if r := do(t, "GET", base+"/price?"+bad.Encode(), "", nil); r.Status != 400 || r.JSON(t)["error"] == nil {
			t.Fatalf("/price?%s: %d %s", bad.Encode(), r.Status, r.Body)
		}
	}
	body := `{"sell_asset":"` + usdx + `","buy_asset":"iso4217:EUR","buy_amount":"50","context":"sep6"}`
	if r := do(t, "POST", base+"/quote", "application/json", strings.NewReader(body)); r.Status != 403 {
		t.Fatalf("a quote without a token: %d %s", r.Status, r.Body)
	}
	w := newWallet(t, s, nil)
	r = do(t, "POST", base+"/quote", "application/json", strings.NewReader(body), "Authorization", "Bearer "+w.token)
	if r.Status != 201 {
		t.Fatalf("POST /quote: %d %s", r.Status, r.Body)
	}
	quote := r.JSON(t)
	if quote["sell_amount"] != "55.7119566" || quote["buy_delivery_method"] != "SEPA" || quote["expires_at"] == nil || quote["account"] != nil {
		t.Fatalf("quote %v", quote)
	}
	id := quote["id"].(string)
	if r := do(t, "GET", base+"/quote/"+id, "", nil, "Authorization", "Bearer "+w.token); r.Status != 200 || r.JSON(t)["sell_amount"] != "55.7119566" {
		t.Fatalf("GET /quote: %d %s", r.Status, r.Body)
	}
	other := newWallet(t, s, nil)
	if r := do(t, "GET", base+"/quote/"+id, "", nil, "Authorization", "Bearer "+other.token); r.Status != 404 {
		t.Fatalf("another account's quote: %d %s", r.Status, r.Body)
	}
}

// configureQuotes offers euros against USDX in the anchor of dir.
func configureQuotes(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "anchor.yaml")
	raw, _ := os.ReadFile(path)
	raw = bytes.Replace(raw, []byte("  assets: []\n  pairs: []\n"), []byte(`  assets:
    - asset: iso4217:EUR
      decimals: 2
      country_codes: [DE, FR]
      sell_delivery_methods: [{name: SEPA, description: "Send euros by SEPA transfer"}]
      buy_delivery_methods: [{name: SEPA, description: "Receive euros by SEPA transfer"}]
  pairs:
    - {offchain: iso4217:EUR, asset: USDX, price: "0.92", spread_percent: "0.5", fee: "1.00"}
`), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestE2ESEP38PricingDown: with the business's pricing endpoint as the source, an endpoint that
// does not answer makes GET /price a 503 with Retry-After, never a price of anchor's own.
func TestE2ESEP38PricingDown(t *testing.T) {
	dir, port := initAnchor(t)
	if err := os.WriteFile(filepath.Join(dir, "pricing.secret"), []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	configureQuotes(t, dir)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_QUOTES_SOURCE": "url",
		"ANCHOR_QUOTES_URL": fmt.Sprintf("http://127.0.0.1:%d/price", freePort(t)), "ANCHOR_QUOTES_URL_SECRET_FILE": "pricing.secret",
		"ANCHOR_AUTH_RATE_LIMIT": "0.01", "ANCHOR_AUTH_RATE_BURST": "3"})
	base := discover(t, s).toml.AnchorQuoteServer
	var info struct {
		Assets []map[string]any `json:"assets"`
	}
	json.Unmarshal(do(t, "GET", base+"/info", "", nil).Body, &info)
	q := url.Values{"sell_asset": {"iso4217:EUR"}, "buy_asset": {info.Assets[0]["asset"].(string)}, "sell_amount": {"100"}, "context": {"sep6"}}
	r := do(t, "GET", base+"/price?"+q.Encode(), "", nil)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.JSON(t)["error"] == nil || strings.Contains(string(r.Body), "price\"") {
		t.Fatalf("/price with the pricing endpoint down: %d %s", r.Status, r.Body)
	}
	// Indicative prices need no token, and each asks the business: limited per client address
	// as /auth is (a burst of 3 here: /price and /prices together); /info is not.
	statuses := []int{r.Status}
	for _, path := range []string{"/prices?" + url.Values{"sell_asset": {"iso4217:EUR"}, "sell_amount": {"100"}}.Encode(), "/price?" + q.Encode(), "/price?" + q.Encode()} {
		r = do(t, "GET", base+path, "", nil)
		statuses = append(statuses, r.Status)
	}
	if fmt.Sprint(statuses) != "[503 503 503 429]" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("prices from one address: %v, the last %v", statuses, r.Header)
	}
	if r := do(t, "GET", base+"/info", "", nil); r.Status != 200 {
		t.Fatalf("/info after the limit: %d", r.Status)
	}
}
