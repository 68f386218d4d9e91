package cmd

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"
)

// browserContext starts headless Chromium (Debian's chromium package) for a test, or skips it
// naming the package.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium for the browser tests: install the Debian package chromium (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(390, 844)) // a phone-sized webview
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// Start the browser on the test's context: steps then run with deadlines of their own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// page runs browser steps with a deadline (the browser itself lives as long as the test).
func inBrowser(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		// Show what the browser shows.
		c2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
		defer cancel2()
		html, _ := chromedp.Run(c2, chromedp.Evaluate[string]("document.location.href + '\\n' + document.documentElement.outerHTML"))
		t.Fatalf("%v; the browser shows:\n%s", err, html)
	}
}

func read[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// screenshots is where the browser tests save each page: ANCHOR_SCREENSHOTS (docs/sep24 to
// refresh the documentation's), else a temp dir.
func screenshots(t *testing.T) string {
	if d := os.Getenv("ANCHOR_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := read(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSEP24Deposit: a SEP-24 deposit in a real browser (headless Chromium, phone-sized).
// The wallet starts it over the API; the browser opens the URL, fills the KYC form with an
// invalid and then a valid email, waits while compliance reviews and moves on by itself when
// `anchor kyc approve` runs, enters the amount, and is shown the bank instructions with the
// reference; the wallet sees pending_user_transfer_start. A name with markup in it is shown as
// text, never run.
func TestBrowserSEP24Deposit(t *testing.T) {
	ctx := browserContext(t)
	tf := newTreasuryFixture(t, "1000")
	dir, port := tf.dir, tf.port
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL()}
	s := startServe(t, dir, port, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", s.Logs.String())
		}
	})
	user := keypair.MustRandom()
	tf.hc.Fund(user.Address())
	submitTx(t, tf.hc, user, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "1000"})
	w := signedInWallet(t, s, user)
	m := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","lang":"en"}`)).JSON(t)
	id, link := m["id"].(string), m["url"].(string)
	shots := screenshots(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	inBrowser(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(css("#f-first_name")))
	shot(t, ctx, shots, "1-kyc-form")
	inBrowser(t, ctx,
		chromedp.SendKeys(css("#f-first_name"), `<img src=x onerror="document.title='pwned'">`),
		chromedp.SendKeys(css("#f-last_name"), "Lovelace"),
		chromedp.SendKeys(css("#f-email_address"), "ada@example"), // passes the browser's check, not SEP-12's
		chromedp.Submit(css("#f-email_address")),
		chromedp.WaitVisible(css("#error")))
	shot(t, ctx, shots, "2-kyc-error")
	if e, title := read(t, ctx, chromedp.Text(css("#error"))), read(t, ctx, chromedp.Title()); !strings.Contains(e, "email_address") || title == "pwned" {
		t.Fatalf("the refused email: error %q, title %q", e, title)
	}
	if v := read(t, ctx, chromedp.Value(css("#f-last_name"))); v != "Lovelace" {
		t.Fatalf("the typed value was not kept: %q", v)
	}
	inBrowser(t, ctx,
		chromedp.Clear(css("#f-email_address")),
		chromedp.SendKeys(css("#f-email_address"), "ada@example.com"),
		chromedp.Submit(css("#f-email_address")),
		chromedp.WaitVisible(css("#waiting")))
	shot(t, ctx, shots, "3-waiting")
	cust := w.get("type=sep6-deposit")["id"].(string)
	if _, stderr, code := kycCLI(t, dir, "kyc", "approve", cust, "--by", "compliance"); code != 0 {
		t.Fatalf("kyc approve: %s", stderr)
	}
	inBrowser(t, ctx, chromedp.WaitVisible(css("#amount"))) // the waiting page refreshed itself
	shot(t, ctx, shots, "4-amount")
	inBrowser(t, ctx,
		chromedp.SendKeys(css("#amount"), "25"),
		chromedp.Submit(css("#amount")),
		chromedp.WaitVisible(css("#instructions")))
	shot(t, ctx, shots, "5-instructions")
	instructions, title := read(t, ctx, chromedp.Text(css("#instructions"))), read(t, ctx, chromedp.Title())
	tx := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if tx["status"] != "pending_user_transfer_start" || !regexp.MustCompile(`\d{6,}`).MatchString(instructions) || title == "pwned" {
		t.Fatalf("after confirming: %v; instructions %q; title %q", tx["status"], instructions, title)
	}
	// The bank transfer arrives; the operator records it and credits the tokens.
	cli := func(args ...string) string {
		t.Helper()
		out, stderr, code := runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		return out
	}
	cli("deposit", "received", id, "--amount", "25", "--external-id", "WIRE-SEP24")
	cli("credit", id, "--by", "treasurer")
	tx = w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	if b, _ := tf.hz.Balance(user.Address(), "USDX:"+tf.issuer.Address()); tx["status"] != "completed" || b != 250_000_000 {
		t.Fatalf("after the credit: %v, balance %d", tx["status"], b)
	}
	inBrowser(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css("#status")))
	if st := read(t, ctx, chromedp.Text(css("#status"))); st != "Completed" {
		t.Fatalf("the status page says %q", st)
	}
	shot(t, ctx, shots, "6-completed")
}

// TestBrowserSEP24Withdrawal: a SEP-24 withdrawal in a real browser: the bank fields (accepted
// at once by auto-approval), the amount the wallet gave, the account and memo to pay shown; the
// user pays on the Horizon stand-in, the withdrawal watcher finds the payment, and the page
// and the wallet see it received.
func TestBrowserSEP24Withdrawal(t *testing.T) {
	ctx := browserContext(t)
	tf := newTreasuryFixture(t, "1000")
	env := map[string]string{"ANCHOR_HORIZON_URL": tf.hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true"}
	s := startServe(t, tf.dir, tf.port, env)
	user := keypair.MustRandom()
	tf.hc.Fund(user.Address())
	submitTx(t, tf.hc, user, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "1000"})
	submitTx(t, tf.hc, tf.dist, &txnbuild.Payment{Destination: user.Address(), Amount: "50", Asset: tf.asset})
	w := signedInWallet(t, s, user)
	m := w.sep24("POST", "/transactions/withdraw/interactive", "application/json", []byte(`{"asset_code":"USDX","amount":"12"}`)).JSON(t)
	id := m["id"].(string)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	inBrowser(t, ctx, chromedp.Navigate(m["url"].(string)), chromedp.WaitVisible(css("#f-bank_account_number")))
	inBrowser(t, ctx,
		chromedp.SendKeys(css("#f-first_name"), "Ada"),
		chromedp.SendKeys(css("#f-last_name"), "Lovelace"),
		chromedp.SendKeys(css("#f-email_address"), "ada@example.com"),
		chromedp.SendKeys(css("#f-bank_account_number"), "12345678"),
		chromedp.SendKeys(css("#f-bank_number"), "021000021"),
		chromedp.Submit(css("#f-bank_number")),
		chromedp.WaitVisible(css("#amount")))
	if v := read(t, ctx, chromedp.Value(css("#amount"))); v != "12.0000000" {
		t.Fatalf("the amount the wallet gave is not pre-filled: %q", v)
	}
	inBrowser(t, ctx, chromedp.Submit(css("#amount")), chromedp.WaitVisible(css("#withdraw")))
	shot(t, ctx, screenshots(t), "7-withdraw")
	where := read(t, ctx, chromedp.Text(css("#withdraw")))
	tx := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
	memo := tx["withdraw_memo"].(string)
	if !strings.Contains(where, tx["withdraw_anchor_account"].(string)) || !strings.Contains(where, memo) {
		t.Fatalf("the page shows %q; the transaction %v", where, tx)
	}
	payMemo(t, tf, user, "12", memo)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		tx = w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)
		if tx["status"] == "pending_anchor" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not find the payment: %v", tx["status"])
		}
	}
	inBrowser(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css("#status")))
	if st := read(t, ctx, chromedp.Text(css("#status"))); st != "Being processed" || tx["stellar_transaction_id"] == nil {
		t.Fatalf("after the payment: page %q, transaction %v", st, tx)
	}
}

// TestBrowserSEP24PostMessage: callback=postMessage in a real browser. A wallet's page (another
// origin) frames the status page of a confirmed transaction; when the user activates Close,
// the wallet's page receives {"transaction": ...} for that transaction.
func TestBrowserSEP24PostMessage(t *testing.T) {
	ctx := browserContext(t)
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	w := newWallet(t, s, nil)
	if r := w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"}); r.Status != 202 {
		t.Fatalf("KYC: %d", r.Status)
	}
	m := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","amount":"20"}`)).JSON(t)
	id := m["id"].(string)
	br := newBrowser(t)
	_, _, page := br.do("GET", m["url"].(string)+"&callback=postMessage", nil)
	if code, _, _ := br.do("POST", s.URL+"/flow/"+id+"/confirm", url.Values{"csrf": {csrfOf(t, page)}, "amount": {"20"}}); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	status := w.sep24("GET", "/transaction?id="+id, "", nil).JSON(t)["transaction"].(map[string]any)["more_info_url"].(string)
	wallet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>waiting</title>
<iframe src="%s" onload="document.title = 'loaded'" style="position:absolute;top:0;left:0;width:380px;height:800px;border:0"></iframe>
<script>window.addEventListener("message", function (e) { document.title = "got " + JSON.stringify(e.data); });</script>`, html.EscapeString(status))
	}))
	defer wallet.Close()
	inBrowser(t, ctx, chromedp.Navigate(wallet.URL))
	// The framed page loads on its own time (a loaded machine takes seconds, once more than 20):
	// wait for it to have loaded (its script included), then activate Close until the wallet's
	// page has the message.
	var title string
	for deadline := time.Now().Add(60 * time.Second); title != "loaded" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		title = read(t, ctx, chromedp.Title())
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		inBrowser(t, ctx,
			chromedp.MouseClickXY(20, 20), // into the framed page
			chromedp.KeyEvent("\t"),       // its only control: Close
			chromedp.KeyEvent("\r"))
		if title = read(t, ctx, chromedp.Title()); strings.HasPrefix(title, "got ") {
			break
		}
	}
	if !strings.Contains(title, `"id":"`+id+`"`) || !strings.Contains(title, "pending_user_transfer_start") {
		t.Fatalf("the wallet's page received %q", title)
	}
}

// TestBrowserBrandedPages: the operator's brand in a real browser. Name and colours from the
// environment, the logo and texts from anchor.yaml: the logo loads under the pages' CSP, the
// colours are the ones computed for the page and its button, the replaced intro and the
// Spanish field labels are shown.
func TestBrowserBrandedPages(t *testing.T) {
	ctx := browserContext(t)
	dir, port := initAnchor(t)
	logo := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := 0; y < 96; y++ {
		for x := 0; x < 96; x++ {
			if dx, dy := x-48, y-48; dx*dx+dy*dy < 44*44 {
				logo.Set(x, y, color.RGBA{0xff, 0xd2, 0x3f, 0xff})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, logo); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "brand"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "brand", "logo.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "anchor.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Replace(raw, []byte("  logo: \"\"\n"), []byte("  logo: brand/logo.png\n"), 1)
	raw = bytes.Replace(raw, []byte("  texts: {}\n"), []byte("  texts:\n    es:\n      flow.kyc.intro: \"¡Bienvenido a ACME! Antes de su primer depósito necesitamos unos datos.\"\n      footer: \"¿Preguntas? soporte@acme.example\"\n"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none",
		"ANCHOR_PAGES_NAME": "ACME Money", "ANCHOR_PAGES_ACCENT_COLOR": "#ffd23f", "ANCHOR_PAGES_BACKGROUND_COLOR": "#0b1020",
		"ANCHOR_PAGES_SURFACE_COLOR": "#161d33", "ANCHOR_PAGES_TEXT_COLOR": "#f1f3f8"})
	w := newWallet(t, s, nil)
	m := w.sep24("POST", "/transactions/deposit/interactive", "application/json", []byte(`{"asset_code":"USDX","lang":"es"}`)).JSON(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	inBrowser(t, ctx, chromedp.Navigate(m["url"].(string)), chromedp.WaitVisible(css("#f-first_name")))
	shot(t, ctx, screenshots(t), "8-branded")
	got := read(t, ctx, chromedp.Evaluate[string](`[getComputedStyle(document.body).backgroundColor,
		getComputedStyle(document.querySelector('form.card')).backgroundColor,
		getComputedStyle(document.querySelector('button')).backgroundColor,
		getComputedStyle(document.querySelector('button')).color,
		String(document.querySelector('header img').naturalWidth),
		document.querySelector('header').textContent,
		document.querySelector('label[for=f-first_name]').textContent,
		document.querySelector('main > p').textContent,
		document.querySelector('footer').textContent].join('|')`))
	want := "rgb(11, 16, 32)|rgb(22, 29, 51)|rgb(255, 210, 63)|rgb(29, 36, 48)|96|ACME Money|Nombre|¡Bienvenido a ACME! Antes de su primer depósito necesitamos unos datos.|¿Preguntas? soporte@acme.example"
	if got != want {
		t.Fatalf("the branded page:\n got %s\nwant %s", got, want)
	}
}

// TestE2EBrandRefused: a brand the pages cannot show is refused by anchor config show and by
// anchor serve at start, in one line naming the key; nothing is served.
func TestE2EBrandRefused(t *testing.T) {
	dir, port := initAnchor(t)
	path := filepath.Join(dir, "anchor.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Replace(raw, []byte("  texts: {}\n"), []byte("  texts:\n    en:\n      flow.kyc.intro: \"Welcome, %s\"\n"), 1)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, context.Background(), nil, "config", "show", "--config", path)
	if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "config: pages.texts.en.flow.kyc.intro: has placeholders \"%s\" where the English text has none") || strings.Contains(stderr, "ANCHOR_PAGES_TEXTS") {
		t.Fatalf("config show: exit %d, %q", code, stderr)
	}
	if err := os.WriteFile(path, bytes.Replace(raw, []byte("Welcome, %s"), []byte("Welcome!"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_PAGES_TEXT_COLOR": "#e0e4ea"} // pale text on a pale page
	_, stderr, code = runCLI(t, ctx, env, "serve", "--config", path, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	if code == 0 || !strings.Contains(stderr, "config: pages.text_color: the text (#e0e4ea) on background_color (#f6f8fb) has a contrast of 1.2:1; it needs at least 4.5:1") || ctx.Err() != nil {
		t.Fatalf("serve: exit %d, %q", code, stderr)
	}
}
