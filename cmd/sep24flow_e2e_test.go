package cmd

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/transfer"
)

// browser is a cookie-keeping HTTP client, as the wallet's webview is.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t, &http.Client{Jar: jar}}
}

func (b *browser) do(method, u string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(raw)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in:\n%s", page)
	}
	return m[1]
}

// TestE2ESEP24InteractiveFlow: a wallet starts a SEP-24 deposit; the browser opens its URL
// (once: a second opening is refused), fills the KYC form (a refused value shows the form again
// with what was typed, escaped), waits while compliance reviews, and moves on when `anchor kyc
// approve` runs; then confirms the amount and lands on the status page with the bank reference;
// the wallet sees pending_user_transfer_start. Posts without the CSRF token, or with another
// transaction's session, are refused.
func TestE2ESEP24InteractiveFlow(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	start := func() (string, string) {
		r := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX"}`))
		if r.Status != 200 {
			t.Fatalf("interactive deposit: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		return m["id"].(string), m["url"].(string)
	}
	id, link := start()
	br := newBrowser(t)
	code, path, page := br.do("GET", link, nil)
	if code != 200 || path != "/flow/"+id || !strings.Contains(page, `name="first_name"`) || !strings.Contains(page, `name="email_address"`) {
		t.Fatalf("first opening: %d %s\n%s", code, path, page)
	}
	if code, _, page := newBrowser(t).do("GET", link, nil); code != 403 || !strings.Contains(page, "already opened") {
		t.Fatalf("the link opened twice: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	kycURL := s.URL + "/flow/" + id + "/kyc"
	if code, _, _ := br.do("POST", kycURL, url.Values{"first_name": {"Ada"}}); code != 403 {
		t.Fatalf("a post without the CSRF token: %d", code)
	}
	code, _, page = br.do("POST", kycURL, url.Values{"csrf": {csrf}, "first_name": {`<script>alert(1)</script>`}, "last_name": {"Lovelace"}, "email_address": {"not-an-email"}})
	if code != 400 || !strings.Contains(page, "email_address") || strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("a refused value: %d\n%s", code, page)
	}
	code, _, page = br.do("POST", kycURL, url.Values{"csrf": {csrf}, "first_name": {"Ada"}, "last_name": {"Lovelace"}, "email_address": {"ada@example.com"}})
	if code != 200 || !strings.Contains(page, `http-equiv="refresh"`) || !strings.Contains(page, `id="waiting"`) {
		t.Fatalf("while compliance reviews: %d\n%s", code, page)
	}
	cust := w.get("type=sep6-deposit")["id"].(string)
	if _, stderr, code := kycCLI(t, dir, "kyc", "approve", cust, "--by", "compliance"); code != 0 {
		t.Fatalf("kyc approve: %s", stderr)
	}
	code, _, page = br.do("GET", s.URL+"/flow/"+id, nil)
	if code != 200 || !strings.Contains(page, `name="amount"`) {
		t.Fatalf("after the approval: %d\n%s", code, page)
	}
	confirmURL := s.URL + "/flow/" + id + "/confirm"
	if code, _, page := br.do("POST", confirmURL, url.Values{"csrf": {csrfOf(t, page)}, "amount": {"ten"}}); code != 400 || !strings.Contains(page, `value="ten"`) {
		t.Fatalf("a bad amount: %d\n%s", code, page)
	}
	// Another transaction's session does not reach this one.
	other, otherLink := start()
	br2 := newBrowser(t)
	br2.do("GET", otherLink, nil)
	if code, _, _ := br2.do("GET", s.URL+"/flow/"+id, nil); code != 403 {
		t.Fatalf("another transaction's session: %d", code)
	}
	_ = other
	code, path, page = br.do("POST", confirmURL, url.Values{"csrf": {csrf}, "amount": {"25"}})
	tx := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if code != 200 || path != "/tx/"+id || tx["status"] != "pending_user_transfer_start" || tx["amount_in"] != "25.0000000" {
		t.Fatalf("confirmed: %d %s %v\n%s", code, path, tx, page)
	}
	if !strings.Contains(page, "Waiting for your payment") || !regexp.MustCompile(`<code>\d{6,}</code>`).MatchString(page) {
		t.Fatalf("the status page lacks the reference:\n%s", page)
	}
}

// TestE2ESEP24InteractiveWithdrawal: a withdrawal through the flow with the wallet's
// on_change_callback added to the URL (a bad one is refused and leaves the link usable): the
// bank fields, accepted at once (auto-approval), the amount the wallet gave pre-filled; the
// status page then shows where to send the tokens, and the callback receives the change.
func TestE2ESEP24InteractiveWithdrawal(t *testing.T) {
	got := make(chan string, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer rcv.Close()
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	w := newWallet(t, s, nil)
	r := w.sep24("POST", "/transactions/withdraw/interactive", "application/json", []byte(`{"asset_code":"USDX","amount":"5"}`))
	m := r.JSON(t)
	id, link := m["id"].(string), m["url"].(string)
	br := newBrowser(t)
	if code, _, page := br.do("GET", link+"&on_change_callback=ftp://nope", nil); code != 400 || !strings.Contains(page, "on_change_callback") {
		t.Fatalf("a bad on_change_callback: %d\n%s", code, page)
	}
	code, _, page := br.do("GET", link+"&on_change_callback="+url.QueryEscape(rcv.URL+"/cb"), nil)
	if code != 200 || !strings.Contains(page, `name="bank_account_number"`) {
		t.Fatalf("the KYC form of a withdrawal: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	code, _, page = br.do("POST", s.URL+"/flow/"+id+"/kyc", url.Values{"csrf": {csrf}, "first_name": {"Ada"}, "last_name": {"L"},
		"email_address": {"ada@example.com"}, "bank_account_number": {"12345678"}, "bank_number": {"021000021"}})
	if code != 200 || !strings.Contains(page, `value="5.0000000"`) {
		t.Fatalf("the amount page, pre-filled: %d\n%s", code, page)
	}
	code, path, page := br.do("POST", s.URL+"/flow/"+id+"/confirm", url.Values{"csrf": {csrf}, "amount": {"5.0000000"}})
	tx := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if code != 200 || path != "/tx/"+id || tx["status"] != "pending_user_transfer_start" || tx["withdraw_memo"] == nil {
		t.Fatalf("confirmed: %d %s %v", code, path, tx)
	}
	if !strings.Contains(page, tx["withdraw_anchor_account"].(string)) || !strings.Contains(page, tx["withdraw_memo"].(string)) {
		t.Fatalf("the status page lacks where to pay:\n%s", page)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"pending_user_transfer_start"`) || !strings.Contains(body, id) {
			t.Fatalf("callback body %s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no on_change_callback")
	}
}

// TestE2ESEP24DoneCallback: the wallet's callback added to the interactive URL. A URL receives
// {"transaction": ...} once, signed, when the user confirms; postMessage puts the transaction
// and the one script any page runs (a static file the CSP allows) on the status page, posted
// to the opener when the user closes it; a bad callback is refused.
func TestE2ESEP24DoneCallback(t *testing.T) {
	got := make(chan *http.Request, 4)
	bodies := make(chan string, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- string(b)
	}))
	defer rcv.Close()
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	w := newWallet(t, s, nil)
	if r := w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"}); r.Status != 202 {
		t.Fatalf("KYC: %d", r.Status)
	}
	run := func(callback string) (string, int, http.Header, string) {
		t.Helper()
		m := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","amount":"20"}`)).JSON(t)
		id := m["id"].(string)
		br := newBrowser(t)
		code, _, page := br.do("GET", m["url"].(string)+"&callback="+url.QueryEscape(callback), nil)
		if code != 200 {
			return id, code, nil, page
		}
		req, _ := http.NewRequest("POST", s.URL+"/flow/"+id+"/confirm", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)}, "amount": {"20"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := br.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return id, resp.StatusCode, resp.Header, string(b)
	}
	if _, code, _, page := run("ftp://nope"); code != 400 || !strings.Contains(page, "callback") {
		t.Fatalf("a bad callback: %d\n%s", code, page)
	}
	id, code, h, page := run(rcv.URL + "/done")
	if code != 200 || strings.Contains(page, "<script") || strings.Contains(h.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("status page without postMessage: %d %v\n%s", code, h, page)
	}
	select {
	case r := <-got:
		body := <-bodies
		if r.URL.Path != "/done" || r.Header.Get("Signature") == "" || !strings.Contains(body, `"id":"`+id+`"`) || !strings.Contains(body, "pending_user_transfer_start") {
			t.Fatalf("the done callback: %s %v %s", r.URL.Path, r.Header, body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no done callback")
	}
	select {
	case r := <-got:
		t.Fatalf("a second done callback: %s", r.URL.Path)
	case <-time.After(300 * time.Millisecond):
	}
	id, code, h, page = run("postMessage")
	if code != 200 || !strings.Contains(page, `<script src="/static/notify.js"></script>`) || !strings.Contains(page, `id="sep24-done"`) ||
		!strings.Contains(page, id) || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("status page with postMessage: %d %v\n%s", code, h, page)
	}
	if r := do(t, "GET", s.URL+"/static/notify.js", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "postMessage") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("notify.js: %d %v", r.Status, r.Header)
	}
}

// TestE2ESEP24PhotoUpload: a customer type that needs a photo of an ID: the flow's form asks for
// the file, refuses one over kyc.max_file_size (the typed values kept), and stores a good one
// as SEP-12 would (the customer then waits for review).
func TestE2ESEP24PhotoUpload(t *testing.T) {
	dir, port := initAnchor(t)
	cfg := filepath.Join(dir, "anchor.yaml")
	raw, _ := os.ReadFile(cfg)
	raw = bytes.Replace(raw, []byte("fields: [first_name, last_name, email_address]"), []byte("fields: [first_name, last_name, email_address, photo_id_front]"), 1)
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_MAX_FILE_SIZE": "1024"})
	w := newWallet(t, s, nil)
	m := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX"}`)).JSON(t)
	id := m["id"].(string)
	br := newBrowser(t)
	code, _, page := br.do("GET", m["url"].(string), nil)
	if code != 200 || !strings.Contains(page, `type="file"`) || !strings.Contains(page, `enctype="multipart/form-data"`) {
		t.Fatalf("the form lacks the upload: %d\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	post := func(photo []byte) (int, string) {
		t.Helper()
		ct, body := multipartBody(t, map[string]string{"csrf": csrf, "first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"}, photo)
		req, _ := http.NewRequest("POST", s.URL+"/flow/"+id+"/kyc", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := br.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	big := append(append([]byte{}, pngBytes...), make([]byte, 2048)...)
	if code, page := post(big); code != 400 || !strings.Contains(page, "photo_id_front") || !strings.Contains(page, `value="Lovelace"`) {
		t.Fatalf("an oversized photo: %d\n%s", code, page)
	}
	if code, page := post(pngBytes); code != 200 || !strings.Contains(page, `id="waiting"`) {
		t.Fatalf("with the photo: %d\n%s", code, page)
	}
	fields := w.get("type=sep6-deposit")["provided_fields"].(map[string]any)
	if _, ok := fields["photo_id_front"]; !ok {
		t.Fatalf("the photo is not on the customer: %v", fields)
	}
}

// TestE2ESEP24Prefill: SEP-9 fields passed with the interactive request pre-fill the flow's
// form (each checked as SEP-12 checks it: a bad one is a 400), and are forgotten when the
// customer is erased.
func TestE2ESEP24Prefill(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	if r := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","birth_date":"yesterday"}`)); r.Status != 400 || !strings.Contains(string(r.Body), "birth_date") {
		t.Fatalf("a bad SEP-9 field: %d %s", r.Status, r.Body)
	}
	m := w.sep24("POST", "/transactions/deposit/interactive", "application/x-www-form-urlencoded",
		[]byte(url.Values{"asset_code": {"USDX"}, "first_name": {"Ada"}, "email_address": {"ada@example.com"}}.Encode())).JSON(t)
	id := m["id"].(string)
	code, _, page := newBrowser(t).do("GET", m["url"].(string), nil)
	if code != 200 || !strings.Contains(page, `name="first_name" type="text" value="Ada"`) || !strings.Contains(page, `value="ada@example.com"`) {
		t.Fatalf("the form is not pre-filled: %d\n%s", code, page)
	}
	// The customer is erased: what the wallet passed goes with it.
	if r := w.putJSON(map[string]string{"first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"}); r.Status != 202 {
		t.Fatalf("PUT /customer: %d", r.Status)
	}
	if r := w.do("DELETE", "/customer/"+w.kp.Address(), "", nil); r.Status != 200 {
		t.Fatalf("DELETE /customer: %d %s", r.Status, r.Body)
	}
	s.Stop(t)
	st := openTestStore(t, dir)
	st.TransferView(context.Background(), func(tx transfer.Tx) error {
		if tr, err := tx.Get(id); err != nil || len(tr.Prefill) != 0 {
			t.Errorf("after the erasure: %v %v", err, tr.Prefill)
		}
		return nil
	})
}
