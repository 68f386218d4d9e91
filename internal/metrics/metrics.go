// Package metrics is anchor's Prometheus instrumentation: a registry of its own (no global
// default registry, so that tests make their own), served by `anchor serve` on its own listener
// (metrics_listen), never on the wallet-facing port.
//
// Labels never hold customer data, account ids or memos: routes are the server's patterns,
// statuses, kinds, assets and outcomes come from fixed sets, so every family's cardinality is
// bounded by the configuration (a test checks).
package metrics

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/httpx"
)

// Metrics holds anchor's metric families.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// SEP10 counts challenge and token requests by step and outcome (ok or a fixed reason).
	SEP10 *prometheus.CounterVec
	// WatcherPayments counts payments into the withdrawal accounts by result (matched, unmatched).
	WatcherPayments *prometheus.CounterVec
	// watcherCaughtUp is when the watcher last read every payment there was (unix seconds),
	// exported only by the replica that watches (WatcherCaughtUp, WatcherStopped).
	watcherCaughtUp *prometheus.GaugeVec
	// Callbacks counts callback deliveries by kind (kyc, tx) and result (delivered, retry, abandoned).
	Callbacks *prometheus.CounterVec
	// Horizon counts Horizon requests by outcome (ok, error) with their latency.
	Horizon        *prometheus.CounterVec
	HorizonLatency *prometheus.HistogramVec

	// Refreshed in the background (Run), never on the scrape path, and by one replica at a time
	// (the others do not have them: RefreshStopped).
	Transactions     *prometheus.GaugeVec // kind, asset, status
	OldestWaiting    *prometheus.GaugeVec // status: age in seconds of the oldest transaction in it
	Customers        *prometheus.GaugeVec // type, status
	CallbacksQueued  *prometheus.GaugeVec // no labels (absent where no refresh runs)
	CallbackOldest   *prometheus.GaugeVec // seconds the oldest queued callback has been due
	TreasuryActions  *prometheus.GaugeVec // state
	UnsettledPayment *prometheus.GaugeVec
	Distribution     *prometheus.GaugeVec // asset: the distribution account's balance
	// WebhookBehind, WebhookLag and WebhookDeliveries are each webhook's backlog: the events
	// its feed has yet to read, how old the oldest of them is, and its delivery records by
	// state (retrying, dead).
	WebhookBehind     *prometheus.GaugeVec // endpoint
	WebhookLag        *prometheus.GaugeVec // endpoint
	WebhookDeliveries *prometheus.GaugeVec // endpoint, state
	RefreshedAt       *prometheus.GaugeVec
	// ReconcileLast and ReconcileDifferences are the last treasury reconcile (anchor reconcile,
	// through a server or straight against the store), as the store records it: when, and how
	// many differences it found.
	ReconcileLast        *prometheus.GaugeVec
	ReconcileDifferences *prometheus.GaugeVec
	// TLSExpiry is when the certificate served expires (unix seconds), with tls_cert_file.
	TLSExpiry prometheus.Gauge
}

// New registers every family, the Go and process collectors and build info.
func New(version string) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anchor_http_requests_total",
			Help: "Wallet-facing HTTP requests by route pattern, method and status code."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "anchor_http_request_duration_seconds",
			Help: "Wallet-facing HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		SEP10: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anchor_sep10_requests_total",
			Help: "SEP-10 challenges and tokens by step (challenge, token) and outcome (ok, or why refused: signatures, replayed, invalid_challenge, ...)."}, []string{"step", "outcome"}),
		WatcherPayments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anchor_watcher_payments_total",
			Help: "Payments into the withdrawal accounts the watcher handled, by result."}, []string{"result"}),
		watcherCaughtUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_watcher_caught_up_timestamp_seconds",
			Help: "When the withdrawal watcher last read every payment there was (unix time); lag = time() - this. Only the replica that watches has it."}, nil),
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anchor_callback_deliveries_total",
			Help: "Wallet callback deliveries by kind and result (delivered, retry, abandoned)."}, []string{"kind", "result"}),
		Horizon: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "anchor_horizon_requests_total",
			Help: "Horizon requests by caller (watcher, refresh, sep10) and outcome (ok, not_found, error)."}, []string{"caller", "outcome"}),
		HorizonLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "anchor_horizon_request_duration_seconds",
			Help: "Latency of those Horizon requests, by caller.", Buckets: prometheus.DefBuckets}, []string{"caller"}),
		Transactions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_transactions",
			Help: "SEP-6 transactions by kind, asset and status."}, []string{"kind", "asset", "status"}),
		OldestWaiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_transaction_oldest_waiting_seconds",
			Help: "Age since its last change of the oldest transaction in each non-final status."}, []string{"status"}),
		Customers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_customers",
			Help: "SEP-12 customers by customer type and status."}, []string{"type", "status"}),
		CallbacksQueued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_callbacks_queued",
			Help: "Callbacks waiting for delivery."}, nil),
		CallbackOldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_callback_oldest_due_seconds",
			Help: "How long the oldest queued callback has been due (0 when none is)."}, nil),
		TreasuryActions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_treasury_actions",
			Help: "On-chain actions by state (built, confirmed, failed, expired), and proposals waiting (proposed)."}, []string{"state"}),
		UnsettledPayment: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_unsettled_payments",
			Help: "Payments into the withdrawal accounts that matched nothing and are not settled (reconcile is red while > 0)."}, nil),
		Distribution: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_distribution_balance",
			Help: "The distribution account's balance of each asset (refreshed in the background)."}, []string{"asset"}),
		WebhookBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_webhook_events_behind",
			Help: "Events a webhook's feed has yet to read."}, []string{"endpoint"}),
		WebhookLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_webhook_lag_seconds",
			Help: "Age of the oldest event a webhook's feed has yet to read (0 when it has read them all)."}, []string{"endpoint"}),
		WebhookDeliveries: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_webhook_deliveries",
			Help: "A webhook's events whose POST failed, by state: retrying (or queued behind one), dead (dead letters)."}, []string{"endpoint", "state"}),
		RefreshedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_metrics_refreshed_timestamp_seconds",
			Help: "When the store-derived gauges were last refreshed (unix time)."}, nil),
		ReconcileLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_reconcile_last_timestamp_seconds",
			Help: "When anchor reconcile last ran (unix time, as the store records it; 0: never)."}, nil),
		ReconcileDifferences: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_reconcile_differences",
			Help: "What the last reconcile found: assets out of balance, untied movements and unsettled payments."}, nil),
		TLSExpiry: prometheus.NewGauge(prometheus.GaugeOpts{Name: "anchor_tls_certificate_expiry_timestamp_seconds",
			Help: "When the TLS certificate anchor serves expires (unix time); absent without tls_cert_file."}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "anchor_build_info",
		Help: "The running anchor: version and Go version (always 1)."}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	r.MustRegister(m.requests, m.latency, m.SEP10, m.WatcherPayments, m.watcherCaughtUp, m.Callbacks, m.Horizon, m.HorizonLatency, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The refresh's families, from the one list RefreshStopped resets too.
	for _, f := range m.storeFamilies() {
		r.MustRegister(f)
	}
	return m
}

// WatchTLS registers the certificate-expiry gauge (only when anchor serves TLS: a zero would
// read as an expired certificate).
func (m *Metrics) WatchTLS(notAfter time.Time) {
	m.Registry.MustRegister(m.TLSExpiry)
	m.TLSExpiry.Set(float64(notAfter.Unix()))
}

// Handler serves the registry (/metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Middleware counts and times each request by the pattern ServeMux matched ("/" for what
// matched nothing), never by its path.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &httpx.StatusWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if cw.Status == 0 {
			cw.Status = http.StatusOK
		}
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "other"
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(cw.Status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// ObserveHorizon records one Horizon request of caller. Horizon's answer that the resource does
// not exist (SEP-10's look-up of an account not yet funded) is not an error.
func (m *Metrics) ObserveHorizon(caller string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, horizon.ErrNotFound):
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	m.Horizon.WithLabelValues(caller, outcome).Inc()
	m.HorizonLatency.WithLabelValues(caller).Observe(time.Since(start).Seconds())
}

// Snapshot is what a refresh pass read from the store and the ledger.
type Snapshot struct {
	Transactions    map[[3]string]int // kind, asset, status
	OldestWaiting   map[string]time.Duration
	Customers       map[[2]string]int // type, status
	CallbacksQueued int
	CallbackOldest  time.Duration
	TreasuryActions map[string]int
	Unsettled       int
	Distribution    map[string]float64 // asset → balance; nil when Horizon could not be read
	Webhooks        map[string]events.FeedStats
	// Reconciled is when the last reconcile ran (zero: never), and ReconcileDifferences what it
	// found (the store's treasury.ReconcileRun).
	Reconciled           time.Time
	ReconcileDifferences int
}

// Refresher reads a Snapshot; anchor serve's reads the store and Horizon.
type Refresher func(ctx context.Context) (*Snapshot, error)

var refreshMu sync.Mutex

// Apply sets the background gauges from a snapshot: families are reset first, so a status that
// emptied reports nothing rather than its last count.
func (m *Metrics) Apply(s *Snapshot, now time.Time) {
	refreshMu.Lock()
	defer refreshMu.Unlock()
	m.Transactions.Reset()
	for k, n := range s.Transactions {
		m.Transactions.WithLabelValues(k[0], k[1], k[2]).Set(float64(n))
	}
	m.OldestWaiting.Reset()
	for st, d := range s.OldestWaiting {
		m.OldestWaiting.WithLabelValues(st).Set(d.Seconds())
	}
	m.Customers.Reset()
	for k, n := range s.Customers {
		m.Customers.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	m.CallbacksQueued.WithLabelValues().Set(float64(s.CallbacksQueued))
	m.CallbackOldest.WithLabelValues().Set(s.CallbackOldest.Seconds())
	m.TreasuryActions.Reset()
	for st, n := range s.TreasuryActions {
		m.TreasuryActions.WithLabelValues(st).Set(float64(n))
	}
	m.UnsettledPayment.WithLabelValues().Set(float64(s.Unsettled))
	if s.Distribution != nil {
		m.Distribution.Reset()
		for a, v := range s.Distribution {
			m.Distribution.WithLabelValues(a).Set(v)
		}
	}
	m.WebhookBehind.Reset()
	m.WebhookLag.Reset()
	m.WebhookDeliveries.Reset()
	for ep, st := range s.Webhooks {
		m.WebhookBehind.WithLabelValues(ep).Set(float64(st.Behind))
		lag := 0.0
		if !st.Oldest.IsZero() {
			lag = max(now.Sub(st.Oldest).Seconds(), 0)
		}
		m.WebhookLag.WithLabelValues(ep).Set(lag)
		m.WebhookDeliveries.WithLabelValues(ep, "retrying").Set(float64(st.Retrying))
		m.WebhookDeliveries.WithLabelValues(ep, "dead").Set(float64(st.Dead))
	}
	last := 0.0 // never
	if !s.Reconciled.IsZero() {
		last = float64(s.Reconciled.Unix())
	}
	m.ReconcileLast.WithLabelValues().Set(last)
	m.ReconcileDifferences.WithLabelValues().Set(float64(s.ReconcileDifferences))
	m.RefreshedAt.WithLabelValues().Set(float64(now.Unix()))
}

// storeFamilies are the gauges a refresh sets: read from the store (and the distribution
// balances from Horizon), the same for the whole anchor.
func (m *Metrics) storeFamilies() []*prometheus.GaugeVec {
	return []*prometheus.GaugeVec{m.Transactions, m.OldestWaiting, m.Customers, m.CallbacksQueued, m.CallbackOldest, m.TreasuryActions,
		m.UnsettledPayment, m.Distribution, m.WebhookBehind, m.WebhookLag, m.WebhookDeliveries, m.RefreshedAt, m.ReconcileLast, m.ReconcileDifferences}
}

// RefreshStopped removes the store-derived gauges when this replica stops refreshing them
// (another took the lease over, or it shuts down): with replicas, one refreshes them for the
// anchor, so they are read once, not once per replica, and a replica that refreshed before
// does not report its last values as the anchor's.
func (m *Metrics) RefreshStopped() {
	refreshMu.Lock()
	defer refreshMu.Unlock()
	for _, f := range m.storeFamilies() {
		f.Reset()
	}
}

// Run refreshes the background gauges now and every period until ctx ends.
func (m *Metrics) Run(ctx context.Context, period time.Duration, refresh Refresher, onErr func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if s, err := refresh(ctx); err != nil {
			if ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
		} else {
			m.Apply(s, time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WatcherCaughtUp records when this replica's watcher last read every payment there was.
func (m *Metrics) WatcherCaughtUp(at time.Time) {
	m.watcherCaughtUp.WithLabelValues().Set(float64(at.Unix()))
}

// WatcherStopped removes the watcher's gauge when this replica stops watching (another took
// the lease over, or it shuts down): on replicas, only the one that watches reports its lag, and
// a replica that watched before does not report its last time as the anchor's.
func (m *Metrics) WatcherStopped() { m.watcherCaughtUp.Reset() }
