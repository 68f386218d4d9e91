package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/style.css
var stylesheet []byte

//go:embed static/notify.js
var notifyScript []byte

var pages = map[string]*template.Template{
	"tx":           page("tx"),
	"error":        page("error"),
	"flow-kyc":     page("flow-kyc"),
	"flow-wait":    page("flow-wait"),
	"flow-confirm": page("flow-confirm"),
}

func page(name string) *template.Template {
	return template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
}

// Pages serves the pages.
type Pages struct {
	Transfers *transfer.Service
	Links     *Links
	// FrameAncestors is the CSP frame-ancestors source list (wallets' webviews and iframes).
	FrameAncestors string
	// Brand is the operator's name, logo, colours and texts; anchor's own when nil.
	Brand *Brand
}

func (p *Pages) brand() *Brand {
	if p.Brand == nil {
		return defaultBrand
	}
	return p.Brand
}

func (p *Pages) translator(lang string) func(string, ...any) string {
	return p.brand().translator(lang)
}

func (p *Pages) language(tag string) string { return p.brand().language(tag) }

// Route is one endpoint.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Routes returns the pages' endpoints.
func (p *Pages) Routes() []Route {
	return []Route{
		{"GET", "/tx/{id}", http.HandlerFunc(p.transaction)},
		{"GET", "/static/style.css", http.HandlerFunc(p.serveStylesheet)},
		{"GET", "/static/logo", http.HandlerFunc(p.serveLogo)},
		{"GET", "/static/notify.js", http.HandlerFunc(serveNotify)},
	}
}

func (p *Pages) serveStylesheet(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, "text/css; charset=utf-8", p.brand().css)
}

// serveLogo serves pages.logo; an SVG opened on its own runs nothing (CSP sandbox).
func (p *Pages) serveLogo(w http.ResponseWriter, r *http.Request) {
	b := p.brand()
	if !b.HasLogo() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	serveStatic(w, b.logoType, b.logo)
}

func serveNotify(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, "text/javascript; charset=utf-8", notifyScript)
}

func serveStatic(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(body)
}

type data struct {
	Lang, Title, Static string
	Brand               *Brand
	tr                  func(key string, args ...any) string
	// Transaction pages.
	View  *transfer.View
	Asset string
	// The assets of the amounts (an exchange's differ: EUR in, USDX out).
	InAsset, OutAsset, FeeAsset string
	StatusLabel                 string
	Instructions                []config.Instruction
	History                     []historyRow
	// Error pages, and a form's problem.
	Text string
	// The interactive flow.
	Action, CSRF, Refresh, Amount, Limits, Fees string
	// Quote is an exchange's terms; Fixed: its amount cannot change (a firm quote).
	Quote string
	Fixed bool
	// Notify is the transaction JSON posted to the wallet (SEP-24 callback=postMessage); the
	// page then loads notify.js, the only script any page runs.
	Notify string
	Fields []formField
}

type historyRow struct{ At, Status string }

// T is a text of the page's language (the templates' {{.T "key" args}}).
func (d *data) T(key string, args ...any) string { return d.tr(key, args...) }

// render writes a page with the headers every page carries: no script may run (the CSP allows
// only the stylesheet), frames only from the configured ancestors, nothing cached or referred.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, d *data) {
	d.Brand = p.brand()
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		httpx.Internal(w, r, err)
		return
	}
	h := w.Header()
	fa := p.FrameAncestors
	if fa == "" {
		fa = "*"
	}
	scripts := ""
	if d.Notify != "" {
		scripts = "; script-src 'self'"
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+fa+scripts)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, status int, lang, what string) {
	t := p.translator(lang)
	p.render(w, r, status, "error", &data{Lang: lang, tr: t, Static: "/static", Title: t(what + ".title"), Text: t(what + ".text")})
}

// transaction is the more_info_url page: what the user needs to know of one transaction, in
// their language. It shows what the wallet's GET /transaction shows (never the operators'
// names or notes).
func (p *Pages) transaction(w http.ResponseWriter, r *http.Request) {
	lang := p.language(r.URL.Query().Get("lang"))
	id := r.PathValue("id")
	if !p.Links.Valid(id, r.URL.Query().Get("token")) {
		p.fail(w, r, http.StatusForbidden, lang, "forbidden")
		return
	}
	tx, err := p.Transfers.ShowTx(r.Context(), id)
	if errors.Is(err, transfer.ErrNotFound) {
		p.fail(w, r, http.StatusNotFound, lang, "notfound")
		return
	}
	if err != nil {
		httpx.Internal(w, r, err)
		return
	}
	t := p.translator(lang)
	v := p.Transfers.View(r.Context(), tx)
	in, out, fee := tx.Assets()
	d := &data{Lang: lang, tr: t, Static: "/static", View: v, Asset: tx.AssetCode, InAsset: quotes.Code(in), OutAsset: quotes.Code(out), FeeAsset: quotes.Code(fee),
		Title: t("title."+string(tx.Kind), tx.AssetCode), StatusLabel: t("status." + string(tx.Status))}
	keys := make([]string, 0, len(v.Instructions))
	for k := range v.Instructions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Instructions = append(d.Instructions, v.Instructions[k])
	}
	if tx.Protocol == transfer.ProtocolSEP24 && tx.DoneCallback == "postMessage" && tx.Status != transfer.Incomplete {
		msg, err := json.Marshal(map[string]any{"transaction": v})
		if err != nil {
			httpx.Internal(w, r, err)
			return
		}
		d.Notify = string(msg)
	}
	for _, m := range tx.History {
		d.History = append(d.History, historyRow{At: m.At.UTC().Format(time.RFC3339), Status: t("status." + string(m.To))})
	}
	p.render(w, r, http.StatusOK, "tx", d)
}
