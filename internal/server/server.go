// Package server wires anchor's HTTP server: options → NewDeps (keys, store, clients) →
// NewHandler (pure) → Serve (with graceful shutdown).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/metrics"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/sep1"
	"github.com/anchorkit/anchor/internal/sep10"
	"github.com/anchorkit/anchor/internal/sep12"
	"github.com/anchorkit/anchor/internal/sep24"
	"github.com/anchorkit/anchor/internal/sep38"
	"github.com/anchorkit/anchor/internal/sep6"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/web"
)

// Deps are the server's dependencies, built once at start.
type Deps struct {
	Config  *config.Config
	Logger  *slog.Logger
	Store   store.Store
	TOML    []byte
	SEP10   *sep10.Deps
	Limiter *sep10.RateLimiter
	KYC     *kyc.Service
	// Transfers is SEP-6; run Transfers.Reconcile periodically beside the server.
	Transfers *transfer.Service
	// Callbacks delivers SEP-12 and SEP-6 status callbacks; run it beside the server.
	Callbacks *callback.Dispatcher
	// SEP6Info is the body of GET /sep6/info.
	SEP6Info []byte
	// Advancer moves transactions on after KYC changes; run it beside the server.
	Advancer *transfer.Advancer
	// Proxies may name the client in X-Forwarded-For / Forwarded (trusted_proxies).
	Proxies Proxies
	// WriteLimiter limits the writes of each account (write_rate_limit; isWrite).
	WriteLimiter *sep10.RateLimiter
	// PriceLimiter limits SEP-38's indicative prices (GET /price and /prices, which need no
	// token and may each ask the business's pricing endpoint) per client address, as Limiter
	// does /auth (auth_rate_limit).
	PriceLimiter *sep10.RateLimiter
	// Ready are the checks of GET /ready (serve adds the store, Horizon and the watcher).
	Ready []Check
	// Metrics, when set, counts and times every request by route pattern.
	Metrics *metrics.Metrics
	// Pages are the pages for people: a transaction's status page (more_info_url).
	Pages *web.Pages
	// SEP24, when set (sep24.enabled), serves TRANSFER_SERVER_SEP0024, and Flow its
	// interactive pages.
	SEP24 *sep24.Handlers
	// SEP38, when set (quotes.pairs), serves ANCHOR_QUOTE_SERVER.
	SEP38 *sep38.Handlers
	Flow  *web.Flow
}

// isWrite reports the requests the per-account write limit counts: every one that is not a
// GET (SEP-12 changes, SEP-24's interactive starts, SEP-38 firm quotes), and the SEP-6 GETs
// that create a transaction, exchanges included.
func isWrite(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return true
	}
	switch path.Base(r.URL.Path) {
	case "deposit", "withdraw", "deposit-exchange", "withdraw-exchange":
		return true
	}
	return false
}

// NewDeps parses keys, renders the toml and builds clients. The caller owns st.
func NewDeps(cfg *config.Config, st store.Store, logger *slog.Logger) (*Deps, error) {
	kp, err := keypair.ParseFull(cfg.SigningSecret.Reveal())
	if err != nil {
		return nil, fmt.Errorf("config: signing_secret: not a valid secret seed")
	}
	toml, err := sep1.Render(cfg)
	if err != nil {
		return nil, err
	}
	var hz horizon.Client
	if cfg.HorizonURL != "" {
		hz = horizon.New(cfg.HorizonURL, cfg.HorizonTimeout)
	}
	svc := &kyc.Service{Store: st, Config: cfg.KYC, AllowHTTPCallbacks: cfg.Development()}
	callbacks := callback.NewDispatcher(st, kp, sep10.NewOutboundClient(cfg.OutboundTimeout, cfg.Development()), logger)
	callbacks.Renderers[kyc.CallbackKind] = svc.RenderCallback
	svc.Wake = callbacks.Wake
	links := web.NewLinks(cfg.BaseURL(), []byte(cfg.JWTSecret.Reveal()))
	transfers := &transfer.Service{Store: st, Config: cfg, KYC: svc, AllowHTTPCallbacks: cfg.Development(), Wake: callbacks.Wake,
		MoreInfoURL: links.MoreInfo}
	callbacks.Renderers[transfer.CallbackKind] = transfers.RenderCallback
	callbacks.Renderers[transfer.DoneCallbackKind] = transfers.RenderDoneCallback
	svc.Transactions = transfers
	// Transactions waiting for a customer's KYC move on when it changes, on the server's
	// Advancer worker; the periodic reconciler catches anything this misses (a crash, a decision
	// made while no server ran, a full queue).
	advancer := transfer.NewAdvancer(transfers, logger, 10_000)
	svc.OnChange = advancer.Enqueue
	info, err := sep6.BuildInfo(cfg)
	if err != nil {
		return nil, err
	}
	brand, err := web.NewBrand(cfg)
	if err != nil {
		return nil, err
	}
	pages := &web.Pages{Transfers: transfers, Links: links, FrameAncestors: strings.Join(cfg.SEP24.FrameAncestors, " "), Brand: brand}
	var sep24Handlers *sep24.Handlers
	var flow *web.Flow
	if cfg.SEP24.Enabled {
		flow = &web.Flow{Pages: pages, KYC: svc, Marks: st, Secure: strings.HasPrefix(cfg.BaseURL(), "https://")}
		info24, err := sep24.BuildInfo(cfg)
		if err != nil {
			return nil, err
		}
		sep24Handlers = &sep24.Handlers{Service: transfers, Config: cfg, Links: links, Info: info24}
	}
	var sep38Handlers *sep38.Handlers
	if qs := quotes.ForConfig(cfg, st); qs.Enabled() {
		transfers.Quotes = qs
		sep38Handlers = &sep38.Handlers{Service: qs}
	}
	var proxies Proxies
	for _, s := range cfg.TrustedProxies {
		p, err := config.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %q: %w", s, err)
		}
		proxies = append(proxies, p)
	}
	return &Deps{
		Config: cfg, Logger: logger, Store: st, TOML: toml, KYC: svc, Callbacks: callbacks, Transfers: transfers, SEP6Info: info, Advancer: advancer, Proxies: proxies,
		Pages: pages, SEP24: sep24Handlers, Flow: flow, SEP38: sep38Handlers,
		Limiter:      sep10.NewRateLimiter(cfg.AuthRateLimit, cfg.AuthRateBurst),
		WriteLimiter: sep10.NewRateLimiter(cfg.WriteRateLimit, cfg.WriteRateBurst),
		PriceLimiter: sep10.NewRateLimiter(cfg.AuthRateLimit, cfg.AuthRateBurst),
		SEP10: &sep10.Deps{
			Server: kp, Signer: sep10.NewMemoSigner(kp, 1<<12), PreviousKeys: cfg.PreviousSigningKeys, Network: cfg.NetworkPassphrase,
			HomeDomain: cfg.HomeDomain, WebAuthDomain: cfg.EffectiveWebAuthDomain(), WebAuthEndpoint: cfg.WebAuthEndpoint(),
			ChallengeLifetime: cfg.ChallengeLifetime,
			Tokens:            sep10.NewTokens([]byte(cfg.JWTSecret.Reveal()), cfg.WebAuthEndpoint(), cfg.JWTLifetime),
			Challenges:        st, Horizon: hz,
			TolerateUnreachableHorizon: cfg.Development(),
			Domains:                    sep10.NewDomainResolver(cfg.OutboundTimeout, cfg.Development()),
		},
	}, nil
}

// NewHandler returns the whole HTTP API.
func NewHandler(d *Deps) http.Handler {
	rt := newRouter()
	rt.handle("GET", "/.well-known/stellar.toml", sep1.NewHandler(d.TOML))
	rt.handle("GET", "/health", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	rt.handle("GET", "/ready", readyHandler(d.Ready, d.Config.HorizonTimeout+time.Second))
	rt.handle("GET", "/auth", d.Limiter.Middleware(sep10.NewChallengeHandler(d.SEP10)))
	rt.handle("POST", "/auth", d.Limiter.Middleware(sep10.NewTokenHandler(d.SEP10)))
	kycHandlers := &sep12.Handlers{Service: d.KYC,
		Limits:  sep12.Limits{MaxFileSize: d.Config.KYC.MaxFileSize, MaxParts: 100},
		MaxBody: d.Config.KYC.CustomerQuota + 1<<20, Uploads: make(chan struct{}, max(1, d.Config.KYC.MaxConcurrentUploads))}
	// Writes (SEP-12 changes, SEP-6 requests that create transactions) are limited per account,
	// behind the JWT check, as /auth is per client address.
	limited := func(auth func(http.Handler) http.Handler) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler { return auth(d.WriteLimiter.AccountMiddleware(isWrite, h)) }
	}
	for _, route := range kycHandlers.Routes("/kyc", limited(d.SEP10.Tokens.Middleware(sep10.Reject401))) {
		rt.handle(route.Method, route.Path, route.Handler)
	}
	if d.Pages != nil {
		for _, route := range d.Pages.Routes() {
			rt.handle(route.Method, route.Path, route.Handler)
		}
	}
	if d.Flow != nil {
		for _, route := range d.Flow.Routes() {
			rt.handle(route.Method, route.Path, route.Handler)
		}
	}
	if d.SEP24 != nil {
		for _, route := range d.SEP24.Routes("/sep24", limited(d.SEP10.Tokens.Middleware(sep24.RejectAuth))) {
			rt.handle(route.Method, route.Path, route.Handler)
		}
	}
	if d.SEP38 != nil {
		for _, route := range d.SEP38.Routes("/sep38", limited(d.SEP10.Tokens.Middleware(sep38.RejectAuth)), d.PriceLimiter.Middleware) {
			rt.handle(route.Method, route.Path, route.Handler)
		}
	}
	sep6Handlers := &sep6.Handlers{Service: d.Transfers, Config: d.Config, Info: d.SEP6Info}
	for _, route := range sep6Handlers.Routes("/sep6", limited(d.SEP10.Tokens.Middleware(sep6.RejectAuth))) {
		rt.handle(route.Method, route.Path, route.Handler)
	}
	var h http.Handler = rt.finish()
	if d.Metrics != nil {
		h = d.Metrics.Middleware(h) // inside: ServeMux sets the route pattern on this request
	}
	h = jsonErrors(h)
	h = cors(h)
	h = accessLog(h)
	h = recoverer(h)
	h = clientAddr(d.Proxies, h)
	h = requestID(d.Logger, h)
	return h
}

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully within grace.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, grace time.Duration, opts ...func(*http.Server)) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	for _, o := range opts {
		o(srv)
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // HTTP/2 and HTTP/1.1 over TLS (GetCertificate)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// router is an http.ServeMux with method patterns whose fallback answers JSON: 405 with an
// Allow header for a known path, 404 otherwise.
type router struct {
	mux     *http.ServeMux
	methods map[string][]string
}

func newRouter() *router { return &router{mux: http.NewServeMux(), methods: map[string][]string{}} }

func (rt *router) handle(method, path string, h http.Handler) {
	rt.mux.Handle(method+" "+path, h)
	rt.methods[path] = append(rt.methods[path], method)
}

func (rt *router) finish() http.Handler {
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := rt.methods[r.URL.Path]; ok {
			allow := append([]string{"OPTIONS"}, m...)
			if slices.Contains(m, "GET") {
				allow = append(allow, "HEAD")
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpx.Error(w, http.StatusMethodNotAllowed, httpx.MsgMethodNotAllowed)
			return
		}
		httpx.Error(w, http.StatusNotFound, httpx.MsgNotFound)
	})
	return rt.mux
}
