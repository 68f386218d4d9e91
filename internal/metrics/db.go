package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DBStats is what a PostgreSQL store reports about its request connections and its group
// commit (store/postgres.Stats); the counts are since it opened.
type DBStats struct {
	InUse, Idle, Max      int32
	Acquires              int64
	AcquireWait           time.Duration
	Alone, Grouped, Rerun int64
}

var (
	dbConnections = prometheus.NewDesc("anchor_db_connections",
		"This replica's request connections to PostgreSQL, by state (in_use, idle).", []string{"state"}, nil)
	dbConnectionsMax = prometheus.NewDesc("anchor_db_connections_max",
		"The most request connections this replica opens (pool_max_conns).", nil, nil)
	dbAcquires = prometheus.NewDesc("anchor_db_acquires_total",
		"Request connections taken from the pool.", nil, nil)
	dbAcquireWait = prometheus.NewDesc("anchor_db_acquire_wait_seconds_total",
		"Time spent waiting for a request connection; its rate over the acquires' is the mean wait.", nil, nil)
	dbUpdates = prometheus.NewDesc("anchor_db_updates_total",
		"Write transactions by how they ran: alone (a connection was free), grouped (committed in a group commit), rerun (alone again after their group did not commit).", []string{"run"}, nil)
)

// dbCollector reads the stats at each scrape: counters in memory, nothing asked of PostgreSQL.
type dbCollector struct{ stats func() DBStats }

func (dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbConnections, dbConnectionsMax, dbAcquires, dbAcquireWait, dbUpdates} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(dbConnections, prometheus.GaugeValue, float64(s.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(dbConnections, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(dbConnectionsMax, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(dbAcquires, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(dbAcquireWait, prometheus.CounterValue, s.AcquireWait.Seconds())
	ch <- prometheus.MustNewConstMetric(dbUpdates, prometheus.CounterValue, float64(s.Alone), "alone")
	ch <- prometheus.MustNewConstMetric(dbUpdates, prometheus.CounterValue, float64(s.Grouped), "grouped")
	ch <- prometheus.MustNewConstMetric(dbUpdates, prometheus.CounterValue, float64(s.Rerun), "rerun")
}

// WatchDB registers the PostgreSQL families, read from stats at each scrape (only on
// PostgreSQL: bbolt has no connections).
func (m *Metrics) WatchDB(stats func() DBStats) { m.Registry.MustRegister(dbCollector{stats}) }
