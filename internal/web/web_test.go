package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/web"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// server runs the pages over a real store, with one accepted customer.
func server(t *testing.T) (*httptest.Server, *transfer.Service, *web.Links, kyc.Principal) {
	return brandedServer(t, nil)
}

// brandedServer is server with the operator's brand.
func brandedServer(t *testing.T, brand *web.Brand) (*httptest.Server, *transfer.Service, *web.Links, kyc.Principal) {
	st := storetest.Open(t)
	cfg := &config.Config{
		KYC:  config.KYC{MaxFileSize: 1 << 20, CustomerQuota: 1 << 22, DefaultType: "sep6-deposit", Types: config.DefaultCustomerTypes(), AutoApprove: true},
		SEP6: config.SEP6{TransferExpiry: time.Hour, DepositKYCType: "sep6-deposit", WithdrawKYCType: "sep6-withdraw"},
		Assets: []config.Asset{{Code: "USDX", Issuer: keypair.MustRandom().Address(), DistributionAccount: keypair.MustRandom().Address(),
			Deposit: config.Direction{Enabled: true, FundingMethods: []string{"WIRE"},
				Instructions: map[string]config.Instruction{"organization.bank_name": {Value: "First Bank", Description: "Bank"}}},
			Withdraw: config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}}},
	}
	ks := &kyc.Service{Store: st, Config: cfg.KYC}
	links := web.NewLinks("http://anchor.test", []byte("0123456789abcdef0123456789abcdef"))
	ts := &transfer.Service{Store: st, Config: cfg, KYC: ks, MoreInfoURL: links.MoreInfo}
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	if _, err := ks.Put(context.Background(), p, &kyc.PutRequest{Type: "sep6-withdraw", Values: map[string]string{
		"first_name": "J", "last_name": "D", "email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range (&web.Pages{Transfers: ts, Links: links, Brand: brand}).Routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, ts, links, p
}

// open fetches a status page the way a browser follows more_info_url (on the test server).
func open(t *testing.T, srv *httptest.Server, moreInfo string) (int, http.Header, string) {
	t.Helper()
	u, err := url.Parse(moreInfo)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestStatusPage: a deposit's more_info_url opens its page without a session: the status,
// the bank instructions with the reference, the history (never the operators' names), in the
// wallet's language; nothing the page shows is taken as markup, and no script may run.
func TestStatusPage(t *testing.T) {
	srv, ts, links, p := server(t)
	ctx := context.Background()
	dep, err := ts.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", Lang: "es-AR"})
	if err != nil {
		t.Fatal(err)
	}
	v := ts.View(ctx, dep)
	if !strings.HasPrefix(v.MoreInfoURL, "http://anchor.test/tx/"+dep.ID+"?") || !strings.Contains(v.MoreInfoURL, "lang=es-AR") {
		t.Fatalf("more_info_url %q", v.MoreInfoURL)
	}
	code, h, body := open(t, srv, v.MoreInfoURL)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{`lang="es"`, "Depósito de USDX", "Esperando su pago", "First Bank", dep.Reference} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(body, "<script") {
		t.Errorf("scripts are not shut out: %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", h)
	}

	// An operator holds it with a hostile reason: shown as text, the operator never named.
	if _, err := ts.Act(ctx, dep.ID, transfer.Action{Name: transfer.ActHold, By: "ops-mallory", Reason: `<script>alert(1)</script><img src=x onerror=alert(2)>`}); err != nil {
		t.Fatal(err)
	}
	held, _ := ts.ShowTx(ctx, dep.ID)
	held.Message = `<script>alert(1)</script>`
	if err := ts.Store.TransferUpdate(ctx, func(tx transfer.Tx) error { return tx.Put(held) }); err != nil {
		t.Fatal(err)
	}
	_, _, body = open(t, srv, links.MoreInfo(dep.ID, ""))
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the message is not escaped:\n%s", body)
	}
	if strings.Contains(body, "ops-mallory") || strings.Contains(body, "onerror") {
		t.Errorf("the page shows operators' names or reasons:\n%s", body)
	}
	if !strings.Contains(body, "On hold") || !strings.Contains(body, `lang="en"`) {
		t.Errorf("English by default, status on hold:\n%s", body)
	}
}

// TestStatusPageRefusals: a link without its token, with another transaction's token, or
// altered opens nothing (403); a well-made link to an unknown transaction says so (404).
func TestStatusPageRefusals(t *testing.T) {
	srv, ts, links, p := server(t)
	ctx := context.Background()
	a, _ := ts.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	b, _ := ts.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX"})
	tokenOf := func(u string) string { x, _ := url.Parse(u); return x.Query().Get("token") }
	for name, u := range map[string]string{
		"no token":            "http://x/tx/" + a.ID,
		"another's token":     "http://x/tx/" + a.ID + "?token=" + tokenOf(links.MoreInfo(b.ID, "")),
		"altered token":       "http://x/tx/" + a.ID + "?token=" + strings.ToUpper(tokenOf(links.MoreInfo(a.ID, ""))),
		"other server's link": web.NewLinks("http://x", []byte("another secret, another server!!")).MoreInfo(a.ID, ""),
	} {
		if code, _, body := open(t, srv, u); code != 403 || !strings.Contains(body, "does not open a transaction") || strings.Contains(body, a.ID) {
			t.Errorf("%s: %d\n%s", name, code, body)
		}
	}
	if code, _, _ := open(t, srv, links.MoreInfo("no-such-id", "")); code != 404 {
		t.Errorf("unknown transaction: %d", code)
	}
	// The withdrawal's page: where to send the tokens, with the memo.
	_, _, body := open(t, srv, links.MoreInfo(b.ID, ""))
	if !strings.Contains(body, b.WithdrawAnchorAccount) || !strings.Contains(body, b.WithdrawMemo) {
		t.Errorf("withdrawal page:\n%s", body)
	}
}

// TestInteractiveTokens: an interactive URL's token opens its own transaction, for the account
// and memo that started it, until it expires; anything else is refused.
func TestInteractiveTokens(t *testing.T) {
	links := web.NewLinks("https://anchor.test", []byte("0123456789abcdef0123456789abcdef"))
	now := time.Now()
	u, err := links.Interactive("tx1", "GA", "7", "es", now.Add(web.InteractiveLifetime))
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	tok := parsed.Query().Get("token")
	if parsed.Path != "/flow/tx1" || parsed.Query().Get("lang") != "es" {
		t.Fatalf("url %s", u)
	}
	if _, err := links.CheckInteractive("tx1", "GA", "7", tok, now); err != nil {
		t.Fatalf("its own: %v", err)
	}
	for name, c := range map[string]struct{ id, account, memo, token string }{
		"another transaction": {"tx2", "GA", "7", tok},
		"another account":     {"tx1", "GB", "7", tok},
		"another memo":        {"tx1", "GA", "", tok},
		"altered":             {"tx1", "GA", "7", tok[:len(tok)-2] + "AA"},
		"garbage":             {"tx1", "GA", "7", "%%%"},
	} {
		if _, err := links.CheckInteractive(c.id, c.account, c.memo, c.token, now); !errors.Is(err, web.ErrBadToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := links.CheckInteractive("tx1", "GA", "7", tok, now.Add(web.InteractiveLifetime)); !errors.Is(err, web.ErrExpiredToken) {
		t.Errorf("expired: %v", err)
	}
	if u2, _ := links.Interactive("tx1", "GA", "7", "", now.Add(time.Minute)); u2 == u {
		t.Error("two interactive URLs alike: no nonce")
	}
}

// TestFrameAncestors: the pages may be framed by any site by default (wallets' iframes), or
// only by the configured origins.
func TestFrameAncestors(t *testing.T) {
	for fa, want := range map[string]string{"": "frame-ancestors *", "https://wallet.example 'self'": "frame-ancestors https://wallet.example 'self'"} {
		mux := http.NewServeMux()
		for _, r := range (&web.Pages{Links: web.NewLinks("http://x", []byte("k")), FrameAncestors: fa}).Routes() {
			mux.Handle(r.Method+" "+r.Path, r.Handler)
		}
		srv := httptest.NewServer(mux)
		resp, err := http.Get(srv.URL + "/tx/nope")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, want) {
			t.Errorf("%q: %s", fa, csp)
		}
	}
}
