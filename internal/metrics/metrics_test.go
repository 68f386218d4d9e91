package metrics

import (
	"strings"
	"testing"
	"time"
)

// TestRefreshStoppedDropsTheStoreGauges: a replica that stops refreshing (its lease moved, or it
// shuts down) exports none of the store's gauges, not its last values, while its own families
// (requests, build info) stay.
func TestRefreshStoppedDropsTheStoreGauges(t *testing.T) {
	m := New("test")
	m.Apply(&Snapshot{
		Transactions: map[[3]string]int{{"deposit", "USDX", "completed"}: 2},
		Customers:    map[[2]string]int{{"sep6-deposit", "ACCEPTED"}: 1},
		Reconciled:   time.Now(), ReconcileDifferences: 1,
	}, time.Now())
	names := func() map[string]bool {
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, f := range families {
			if len(f.GetMetric()) > 0 {
				out[f.GetName()] = true
			}
		}
		return out
	}
	before := names()
	for _, want := range []string{"anchor_transactions", "anchor_customers", "anchor_callbacks_queued", "anchor_unsettled_payments",
		"anchor_metrics_refreshed_timestamp_seconds", "anchor_reconcile_last_timestamp_seconds", "anchor_reconcile_differences"} {
		if !before[want] {
			t.Errorf("after a refresh, no %s", want)
		}
	}
	m.RefreshStopped()
	after := names()
	for name := range after {
		if before[name] && strings.HasPrefix(name, "anchor_") && name != "anchor_build_info" {
			t.Errorf("%s is still exported after the refresh stopped", name)
		}
	}
	if !after["anchor_build_info"] || !after["go_goroutines"] {
		t.Errorf("the replica's own families went too: %v", after)
	}
}
