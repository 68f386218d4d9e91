package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stellar/go-stellar-sdk/keypair"
	"golang.org/x/sync/errgroup"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/metrics"
	"github.com/anchorkit/anchor/internal/operator"
	"github.com/anchorkit/anchor/internal/server"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// ServeOptions are the flags of anchor serve.
type ServeOptions struct {
	IO     *iostreams.IOStreams
	Config func(flags map[string]*pflag.Flag) (*config.Config, error)
	Flags  map[string]*pflag.Flag
	// Grace is how long shutdown waits for requests in flight.
	Grace time.Duration
	// CPUProfile, when set, receives a CPU profile of the whole run (hidden flag, for tuning).
	CPUProfile string
}

func newServeCmd(f *Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IO, Config: f.Config, Grace: 10 * time.Second}
	cmd := &cobra.Command{
		Use:   "serve [--config FILE] [--listen ADDR]",
		Short: "Serve wallets (SEP-1, 10, 12, 6, 24, 38) and run the anchor's background work",
		Long: `Serve the wallet-facing API: /.well-known/stellar.toml (SEP-1), /auth (SEP-10), /kyc (SEP-12),
/sep6 (SEP-6), /sep24 (SEP-24, with its pages), /sep38 (SEP-38), /health and /ready; the
operator API (operator_listen) and metrics (metrics_listen) when configured; the admin socket
the CLI uses while the server runs; and the background work: status callbacks and webhooks, the
withdrawal watcher, resuming credits, expiring transactions.
Logs go to stderr. SIGINT or SIGTERM shut down gracefully; a second signal exits at once.`,
		Example: `  anchor serve --config ./anchor/anchor.yaml
  ANCHOR_LISTEN=0.0.0.0:8000 anchor serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags = configFlags(cmd, map[string]string{"listen": "listen", "log_level": "log-level"})
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().String("listen", "", "address to listen on (env: ANCHOR_LISTEN; default 127.0.0.1:8000)")
	cmd.Flags().String("log-level", "", "debug, info, warn or error (env: ANCHOR_LOG_LEVEL)")
	cmd.Flags().StringVar(&opts.CPUProfile, "cpu-profile", "", "write a CPU profile of the run to FILE")
	_ = cmd.Flags().MarkHidden("cpu-profile")
	return cmd
}

// NewLogger returns the slog logger the config asks for, writing to w.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	ho := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	cfg, err := opts.Config(opts.Flags)
	if err != nil {
		return err
	}
	if err := cfg.Require("anchor serve", "signing_secret", "jwt_secret"); err != nil {
		return err
	}
	if err := cfg.WebhookSecrets(); err != nil {
		return err
	}
	if err := cfg.PricingSecret(); err != nil {
		return err
	}
	// The live heap of the server is a few MB, so at the runtime's default GOGC=100 it collects
	// very often; 200 cut CPU per SEP-10 round by about 12% for about 4 MB more RSS (see
	// docs/benchmarks.md). An operator's GOGC wins.
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(200)
	}
	logw := server.NewLogWriter(opts.IO.ErrOut, 100*time.Millisecond)
	defer logw.Close()
	logger := NewLogger(cfg, logw)
	for _, name := range config.UnknownEnv(os.Environ()) {
		logger.Warn("unknown environment variable: no configuration key reads it", "name", name)
	}
	// HTTPS: the pair must load, match and be valid now, or serve does not start.
	var certs *server.CertReloader
	if cfg.TLSCertFile != "" {
		var err error
		if certs, err = server.NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, logger); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	deps, err := server.NewDeps(cfg, st, logger)
	if err != nil {
		return err
	}
	if opts.CPUProfile != "" {
		fh, err := os.Create(opts.CPUProfile)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Credits started by an operator finish by themselves: pending_trust deposits once the
	// trustline appears, pending_stellar ones a crash or an outage left.
	var resumer *treasury.Treasury
	if cfg.HorizonURL != "" && cfg.DistributionSecret.IsSet() {
		if resumer, err = NewTreasury(cfg, st, "anchor"); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	roles, err := admin.ResolveRoles(cfg.Admin)
	if err != nil {
		ln.Close()
		return err
	}
	adminLn, err := admin.Listen(admin.SocketPath(cfg.DataDir), roles.Enabled())
	if err != nil {
		ln.Close()
		return err
	}
	keys := &apikey.Service{Store: st}
	var operatorLn net.Listener
	var operatorOpts []func(*http.Server)
	if cfg.OperatorListen != "" {
		if operatorLn, err = net.Listen("tcp", cfg.OperatorListen); err != nil {
			ln.Close()
			adminLn.Close()
			return fmt.Errorf("operator_listen %s: %w", cfg.OperatorListen, err)
		}
		if certs != nil {
			operatorOpts = append(operatorOpts, func(s *http.Server) { s.TLSConfig = certs.TLSConfig() })
		}
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			adminLn.Close()
			if operatorLn != nil {
				operatorLn.Close()
			}
			return fmt.Errorf("metrics_listen %s: %w", cfg.MetricsListen, err)
		}
		deps.Metrics = metrics.New(Version)
		deps.Callbacks.Observe = func(kind, result string) { deps.Metrics.Callbacks.WithLabelValues(kind, result).Inc() }
		deps.SEP10.Observe = func(step, outcome string) { deps.Metrics.SEP10.WithLabelValues(step, outcome).Inc() }
		if deps.SEP10.Horizon != nil {
			deps.SEP10.Horizon = observedClient{deps.SEP10.Horizon, deps.Metrics, "sep10"}
		}
		if pg, ok := st.(*postgres.Store); ok {
			deps.Metrics.WatchDB(func() metrics.DBStats { return metrics.DBStats(pg.Stats()) })
		}
	}
	// Every worker runs under one errgroup on the server's context, and serveRun waits for all
	// of them before the store closes (its deferred Close runs after g.Wait).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	api := admin.API{KYC: deps.KYC, Transfers: deps.Transfers, Maintenance: st, Keys: keys, Events: st, Quotes: admin.LocalQuotes{Store: st, Transfers: deps.Transfers},
		Treasury: func(by string) (*treasury.Treasury, *keypair.Full, error) {
			t, err := NewTreasury(cfg, st, by)
			if err != nil {
				return nil, nil, err
			}
			issuer, err := issuerKey(cfg)
			return t, issuer, err
		}}
	g.Go(func() error {
		return server.Serve(ctx, adminLn, admin.NewHandler(ctx, api, roles), logger, opts.Grace, func(s *http.Server) { s.ConnContext = admin.ConnContext })
	})
	if operatorLn != nil {
		// The operator API: the admin API's endpoints (without key management) behind API keys.
		opAPI := api
		opAPI.Keys = nil
		g.Go(func() error {
			return server.Serve(ctx, operatorLn, operator.Handler(ctx, operator.Options{API: opAPI, Keys: keys, Logger: logger}), logger, opts.Grace, operatorOpts...)
		})
	}
	if m := deps.Metrics; m != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		g.Go(func() error { return server.Serve(ctx, metricsLn, mux, logger, opts.Grace) })
		var ledger horizon.Client
		if cfg.HorizonURL != "" {
			ledger = observedClient{horizon.New(cfg.HorizonURL, cfg.HorizonTimeout), m, "refresh"}
		}
		refresh := metrics.StoreRefresher(cfg, st, ledger)
		// The store-derived gauges are the whole anchor's: one replica reads them (every record,
		// each period) and exports them; the others do not have them.
		g.Go(func() error {
			exclusive(ctx, st, "metrics", logger, nil, func(ctx context.Context) {
				m.Run(ctx, cfg.MetricsRefresh, refresh, func(err error) { logger.Warn("metrics refresh", "err", err) })
				m.RefreshStopped()
			})
			return nil
		})
	}
	g.Go(func() error { pruneChallenges(ctx, st, keys, cfg.Events.Retention, logger); return nil })
	// Events to the business's webhooks: the feeds on one replica at a time, the retries from
	// every replica (each is claimed).
	if len(cfg.Events.Webhooks) > 0 {
		targets := map[string]events.Target{}
		for _, w := range cfg.Events.Webhooks {
			targets[w.Name] = events.Target{URL: w.URL, Secret: w.Secret(), Batch: w.Batch, Types: w.Types}
		}
		disp := &events.Dispatcher{Store: st, Targets: targets, Client: events.NewClient(), Logger: logger, RetryFor: cfg.Events.RetryFor,
			Exclusive: func(ctx context.Context, run func(ctx context.Context)) {
				exclusive(ctx, st, "event-feeds", logger, nil, run)
			}}
		if m := deps.Metrics; m != nil {
			disp.Observe = func(endpoint, result string) { m.Callbacks.WithLabelValues("event:"+endpoint, result).Inc() }
		}
		g.Go(func() error { disp.Run(ctx); return nil })
	}
	g.Go(func() error { deps.Callbacks.Run(ctx); return nil })
	g.Go(func() error { return deps.Advancer.Run(ctx) })
	g.Go(func() error {
		exclusive(ctx, st, "reconcile", logger, nil, func(ctx context.Context) { reconcileTransfers(ctx, deps.Transfers, logger) })
		return nil
	})
	deps.Ready = append(deps.Ready, server.Check{Name: "store", Fn: func(ctx context.Context) error {
		// GET /ready is public: the database's own error (its host, user and name) goes to the
		// log only.
		if err := st.Ping(ctx); err != nil {
			logger.Warn("ready: the store does not answer", "err", err)
			return errors.New("the store does not answer (anchor serve's log says why)")
		}
		return nil
	}})
	if cfg.HorizonURL != "" {
		hz := horizon.NewSubmitter(cfg.HorizonURL, cfg.HorizonTimeout)
		deps.Ready = append(deps.Ready, server.Check{Name: "horizon", Fn: func(ctx context.Context) error {
			if _, err := hz.LedgerTime(ctx); err != nil {
				// GET /ready is public: Horizon by its address only (the horizon package's errors
				// quote no URL), as a provider's token may be in its URL's path or query.
				return fmt.Errorf("horizon at %s: %v", fault.URLHost(cfg.HorizonURL, "horizon_url"), err)
			}
			return nil
		}})
		var payments horizon.PaymentSource = horizon.NewPaymentSource(cfg.HorizonURL, cfg.HorizonTimeout)
		if deps.Metrics != nil {
			payments = observedPayments{payments, deps.Metrics}
		}
		w := &treasury.Watcher{Store: st, Config: cfg, Payments: payments, Transfers: deps.Transfers, OnChange: deps.Callbacks.Wake}
		var watching atomic.Bool      // this replica holds the watcher's lease (always on bbolt)
		var watchedSince atomic.Int64 // when it took it (unix ns)
		deps.Ready = append(deps.Ready, server.Check{Name: "watcher", Fn: func(context.Context) error {
			if !watching.Load() || watchedSince.Load() == 0 {
				return nil // another replica watches; its own /ready answers for it
			}
			since := w.CaughtUpAt()
			if took := time.Unix(0, watchedSince.Load()); since.Before(took) {
				since = took // caught up, if at all, before this replica last took the lease
			}
			if lag := time.Since(since); len(w.Accounts()) > 0 && lag > cfg.ReadyMaxWatcherLag {
				return fmt.Errorf("the withdrawal watcher has not caught up with the ledger for %s (ready_max_watcher_lag %s)", lag.Round(time.Second), cfg.ReadyMaxWatcherLag)
			}
			return nil
		}})
		g.Go(func() error {
			exclusive(ctx, st, "watcher", logger, &watching, func(ctx context.Context) {
				watchedSince.Store(time.Now().UnixNano())
				every(ctx, 5*time.Second, logger, "withdrawal payments", func(ctx context.Context) ([]any, error) {
					matched, unmatched, err := w.Poll(ctx)
					if m := deps.Metrics; m != nil {
						m.WatcherPayments.WithLabelValues("matched").Add(float64(matched))
						m.WatcherPayments.WithLabelValues("unmatched").Add(float64(unmatched))
						if at := w.CaughtUpAt(); !at.IsZero() {
							m.WatcherCaughtUp(at)
						}
					}
					if matched+unmatched == 0 {
						return nil, err
					}
					return []any{"matched", matched, "unmatched", unmatched}, err
				})
				if m := deps.Metrics; m != nil {
					m.WatcherStopped()
				}
			})
			return nil
		})
	}
	if resumer != nil {
		g.Go(func() error {
			exclusive(ctx, st, "resume", logger, nil, func(ctx context.Context) {
				every(ctx, 5*time.Second, logger, "resume credits", func(ctx context.Context) ([]any, error) {
					n, err := resumer.ResumeCredits(ctx, deps.Transfers)
					if n == 0 {
						return nil, err
					}
					return []any{"completed", n}, err
				})
			})
			return nil
		})
	}
	if metricsLn != nil {
		logger.Info("metrics", "url", "http://"+metricsLn.Addr().String()+"/metrics")
	}
	if operatorLn != nil {
		scheme := "http"
		if certs != nil {
			scheme = "https"
		}
		logger.Info("operator API", "url", scheme+"://"+operatorLn.Addr().String()+"/v1/", "openapi", scheme+"://"+operatorLn.Addr().String()+"/openapi.json")
	}
	logger.Info("anchor serving",
		"listen", ln.Addr().String(), "home_domain", cfg.HomeDomain, "network", cfg.NetworkPassphrase,
		"mode", cfg.Mode, "signing_key", deps.SEP10.Server.Address(),
		"stellar_toml", cfg.BaseURL()+"/.well-known/stellar.toml", "horizon", cfg.HorizonURL,
		"data_dir", cfg.DataDir, "database_url", cfg.DatabaseURL, "admin_socket", admin.SocketPath(cfg.DataDir), "version", Version)
	var serveOpts []func(*http.Server)
	if certs != nil {
		if m := deps.Metrics; m != nil {
			m.WatchTLS(certs.NotAfter())
			certs.OnLoad = func(notAfter time.Time) { m.TLSExpiry.Set(float64(notAfter.Unix())) }
		}
		serveOpts = append(serveOpts, func(s *http.Server) { s.TLSConfig = certs.TLSConfig() })
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-hup:
					if err := certs.Reload(); err == nil {
						logger.Info("TLS certificate reloaded on SIGHUP", "not_after", certs.NotAfter().UTC().Format(time.RFC3339))
					}
				}
			}
		})
		logger.Info("serving HTTPS", "cert", cfg.TLSCertFile, "not_after", certs.NotAfter().UTC().Format(time.RFC3339))
	}
	err = server.Serve(ctx, ln, server.NewHandler(deps), logger, opts.Grace, serveOpts...)
	// Whatever ended the wallet-facing server ends the admin API and every worker too.
	cancel()
	if werr := g.Wait(); err == nil {
		err = werr
	}
	os.Remove(admin.SocketPath(cfg.DataDir))
	return err
}

// reconcileTransfers moves SEP-6 transactions on by themselves: waiting ones whose customer's
// KYC was accepted, and ones the user left past user_action_required_by (expired).
// leaser is a store whose workers run on one replica at a time (PostgreSQL).
type leaser interface {
	TryLease(ctx context.Context, name string) (held context.Context, release func(), ok bool, err error)
}

// leaseRetry is how often a replica tries to take a lease another holds: the takeover after
// a holder dies (whose lease PostgreSQL frees when its connection closes) is within it.
var leaseRetry = 3 * time.Second

// exclusive runs run while this replica holds the named lease: at once on bbolt (one process
// holds the store), and on PostgreSQL whenever no other replica holds it, again after a loss
// (the database went away, or this replica was cut off from it). holding, when set, says
// whether it holds it now.
func exclusive(ctx context.Context, st store.Backend, name string, logger *slog.Logger, holding *atomic.Bool, run func(ctx context.Context)) {
	set := func(v bool) {
		if holding != nil {
			holding.Store(v)
		}
	}
	l, ok := st.(leaser)
	if !ok {
		set(true)
		run(ctx)
		return
	}
	lastErr := ""
	for {
		held, release, ok, err := l.TryLease(ctx, name)
		switch {
		case ok:
			lastErr = ""
			logger.Info("took over work that runs on one replica", "worker", name)
			set(true)
			run(held)
			set(false)
			release()
			if ctx.Err() != nil {
				return
			}
			logger.Warn("lost the lease of work that runs on one replica; another replica takes it over", "worker", name)
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			lastErr = err.Error()
			logger.Warn("cannot take the lease of work that runs on one replica", "worker", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(leaseRetry):
		}
	}
}

func reconcileTransfers(ctx context.Context, svc *transfer.Service, logger *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if advanced, expired, err := svc.Reconcile(ctx); err != nil {
			if ctx.Err() == nil {
				logger.Warn("reconcile transactions", "err", err)
			}
		} else if advanced+expired > 0 {
			logger.Info("reconciled transactions", "advanced", advanced, "expired", expired)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// every runs pass now and every period until ctx ends. A pass that did something returns log
// attributes (logged at info); errors are logged when they start or change, not every period
// (an offline dev machine), and their end is logged too.
func every(ctx context.Context, period time.Duration, logger *slog.Logger, what string, pass func(context.Context) ([]any, error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	lastErr := ""
	for {
		if attrs, err := pass(ctx); err != nil {
			if ctx.Err() == nil && err.Error() != lastErr {
				logger.Warn(what, "err", err)
			}
			lastErr = err.Error()
		} else {
			if lastErr != "" {
				logger.Info(what + ": working again")
				lastErr = ""
			}
			if len(attrs) > 0 {
				logger.Info(what, attrs...)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneChallenges forgets used challenges once they have expired and can no longer be replayed,
// and the operator API's answers kept for retries once a day old.
func pruneChallenges(ctx context.Context, st store.Backend, keys *apikey.Service, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := st.PruneChallenges(ctx, now); err != nil {
				logger.Warn("prune used challenges", "err", err)
			} else if n > 0 {
				logger.Debug("pruned used challenges", "count", n)
			}
			if n, err := st.PruneEvents(ctx, now.Add(-retention)); err != nil {
				logger.Warn("prune events", "err", err)
			} else if n > 0 {
				logger.Debug("pruned events", "count", n)
			}
			if n, err := keys.Prune(ctx); err != nil {
				logger.Warn("prune idempotency records", "err", err)
			} else if n > 0 {
				logger.Debug("pruned idempotency records", "count", n)
			}
		}
	}
}

// observedPayments counts and times the watcher's Horizon requests.
type observedPayments struct {
	horizon.PaymentSource
	m *metrics.Metrics
}

func (o observedPayments) Payments(ctx context.Context, account, cursor string, limit int) ([]horizon.PaymentRecord, error) {
	start := time.Now()
	recs, err := o.PaymentSource.Payments(ctx, account, cursor, limit)
	o.m.ObserveHorizon("watcher", start, err)
	return recs, err
}

// observedClient counts and times the account reads of caller (the metrics refresher's, SEP-10's).
type observedClient struct {
	horizon.Client
	m      *metrics.Metrics
	caller string
}

func (o observedClient) Account(ctx context.Context, id string) (*horizon.Account, error) {
	start := time.Now()
	a, err := o.Client.Account(ctx, id)
	o.m.ObserveHorizon(o.caller, start, err)
	return a, err
}

func (o observedClient) Signers(ctx context.Context, id string) (*horizon.Signers, error) {
	start := time.Now()
	a, err := o.Client.Signers(ctx, id)
	o.m.ObserveHorizon(o.caller, start, err)
	return a, err
}
