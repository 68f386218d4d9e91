package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/web"
)

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pngLogo(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func texts(lang string, kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return map[string]any{lang: m}
}

// TestBrandRefused: a brand the pages could not show as meant is refused at start, naming the
// key: a logo that is missing, not an image or too big; a text the catalogue does not have, or
// with other placeholders than the English one; colours that cannot be read on each other.
func TestBrandRefused(t *testing.T) {
	big := append(pngLogo(t), make([]byte, web.MaxLogoSize)...)
	cases := []struct {
		name  string
		pages config.Pages
		key   string
		msg   string
	}{
		{"missing logo", config.Pages{Logo: "/nonexistent/logo.png"}, "pages.logo", "no such file"},
		{"logo not an image", config.Pages{Logo: writeFile(t, "logo.png", []byte("<html>hi</html>"))}, "pages.logo", "not a PNG, JPEG, GIF, WebP or SVG"},
		{"svg markup not named .svg", config.Pages{Logo: writeFile(t, "logo.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))}, "pages.logo", "not a PNG"},
		{"logo too big", config.Pages{Logo: writeFile(t, "logo.png", big)}, "pages.logo", "at most 256 KiB"},
		{"unknown text", config.Pages{Texts: texts("en", "flow.kyc.intr", "Hi")}, "pages.texts.en.flow.kyc.intr", "no such text"},
		{"placeholders lost", config.Pages{Texts: texts("es", "flow.limits", "Entre poco y mucho")}, "pages.texts.es.flow.limits", `the English text has "%s %s"`},
		{"placeholder added", config.Pages{Texts: texts("en", "flow.continue", "Go %s")}, "pages.texts.en.flow.continue", "placeholders"},
		{"a lone percent sign", config.Pages{Texts: texts("en", "flow.fees", "Fee: %s plus %s%")}, "pages.texts.en.flow.fees", "placeholders"},
		{"label of a field SEP-9 lacks", config.Pages{Texts: texts("es", "field.favourite_colour", "Color")}, "pages.texts.es.field.favourite_colour", "no such text"},
		{"not a language", config.Pages{Texts: texts("english", "close", "Close")}, "pages.texts.english", "not a language"},
		{"grey on grey", config.Pages{TextColor: "#777777", BackgroundColor: "#888888"}, "pages.text_color", "contrast"},
		{"dark background, dark text", config.Pages{BackgroundColor: "#101010"}, "pages.background_color", "contrast"},
		{"light accent on white", config.Pages{AccentColor: "#eeeeee"}, "pages.accent_color", "contrast"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := web.NewBrand(&config.Config{Pages: c.pages})
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "config: "+c.key+": ") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line on %s saying %q", msg, c.key, c.msg)
			}
		})
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBrandedPages: the operator's name and logo head every page, the stylesheet carries the
// colours (a button's label dark on a light accent), replaced texts and an added language are
// shown (English where the language lacks a text), and the operator's texts are text, not
// markup. The logo is served as the image it is, and an SVG opened on its own runs nothing.
func TestBrandedPages(t *testing.T) {
	logo := pngLogo(t)
	brand, err := web.NewBrand(&config.Config{
		Documentation: config.Documentation{OrgName: "Org name, not shown"},
		Pages: config.Pages{Name: "ACME <b>Money</b>", Logo: writeFile(t, "logo.png", logo),
			AccentColor: "#ffd23f", BackgroundColor: "#0b1020", SurfaceColor: "#161d33", TextColor: "#f1f3f8",
			Texts: map[string]any{
				"en": map[string]any{"history": "What happened", "footer": "Help: <a href=x>support@acme.example</a>", "field.tax_id": "RFC"},
				"fr": map[string]any{"history": "Historique", "title": map[string]any{"deposit": "Dépôt de %s"}},
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, ts, _, p := brandedServer(t, brand)
	ctx := context.Background()
	dep, err := ts.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", Lang: "fr-CA"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, fr := open(t, srv, ts.View(ctx, dep).MoreInfoURL)
	for _, want := range []string{`<html lang="fr">`, "<title>Dépôt de USDX · ACME &lt;b&gt;Money&lt;/b&gt;</title>", "Historique", "Started" /* English: fr lacks it */, `<img src="/static/logo?v=` + brand.Version + `" alt="">`,
		`<span>ACME &lt;b&gt;Money&lt;/b&gt;</span>`, `/static/style.css?v=` + brand.Version, `<footer class="muted">Help: &lt;a href=x&gt;support@acme.example&lt;/a&gt;</footer>`} {
		if !strings.Contains(fr, want) {
			t.Errorf("the page lacks %q:\n%s", want, fr)
		}
	}
	if strings.Contains(fr, "Org name") {
		t.Error("pages.name does not replace documentation.org_name")
	}
	dep.Lang = "en"
	_, _, en := open(t, srv, strings.Replace(ts.View(ctx, dep).MoreInfoURL, "lang=fr-CA", "lang=en", 1))
	if !strings.Contains(en, "What happened") || !strings.Contains(en, "Deposit of USDX") {
		t.Errorf("the English page does not carry the replaced text:\n%s", en)
	}

	resp, css := get(t, srv.URL+"/static/style.css?v="+brand.Version)
	if resp.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css, "--accent: #ffd23f; --on-accent: #1d2430; --bg: #0b1020; --surface: #161d33; --fg: #f1f3f8;") || !strings.Contains(css, "--error: #ff8a80;") {
		t.Errorf("stylesheet %s:\n%s", resp.Header.Get("Content-Type"), css)
	}
	resp, body := get(t, srv.URL+"/static/logo?v="+brand.Version)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || body != string(logo) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo: %d %s %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"), len(body))
	}

	svg, err := web.NewBrand(&config.Config{Pages: config.Pages{Logo: writeFile(t, "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))}})
	if err != nil {
		t.Fatal(err)
	}
	srv2, _, _, _ := brandedServer(t, svg)
	resp, _ = get(t, srv2.URL+"/static/logo")
	if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("svg logo headers: %v", resp.Header)
	}
}

// TestUnbrandedPages: without pages.*, no header, no footer, no logo, and anchor's stylesheet.
func TestUnbrandedPages(t *testing.T) {
	srv, ts, _, p := server(t)
	ctx := context.Background()
	dep, err := ts.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, page := open(t, srv, ts.View(ctx, dep).MoreInfoURL)
	if strings.Contains(page, "<header") || strings.Contains(page, "<footer") || strings.Contains(page, "<img") || !strings.Contains(page, "<title>Deposit of USDX</title>") {
		t.Errorf("unbranded page:\n%s", page)
	}
	if resp, _ := get(t, srv.URL+"/static/logo"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /static/logo without a logo: %d", resp.StatusCode)
	}
	if _, css := get(t, srv.URL+"/static/style.css"); strings.Contains(css, "pages.*") || !strings.Contains(css, "--accent: #2457c5") {
		t.Errorf("default stylesheet:\n%s", css)
	}
}
