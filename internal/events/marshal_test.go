package events_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/events"
)

// TestMarshal: events.Marshal writes the bytes json.Marshal would, for every shape of event the
// stores hold (it splices Data in instead of scanning it again).
func TestMarshal(t *testing.T) {
	at := time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.UTC)
	view, err := json.Marshal(map[string]any{"id": "tx1", "amount_in": "10.0000000", "note": "a \"quoted\" <tag> & \u2028"})
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*events.Event{
		"new":        {V: 1, Type: events.TransactionCreated, Subject: "transaction:tx1", At: at, Status: "incomplete", Data: view},
		"numbered":   {V: 1, ID: 1 << 40, Type: events.TransactionStatusChanged, Subject: "transaction:tx1", Seq: 7, At: at, PreviousStatus: "incomplete", Status: "completed", Data: view},
		"no data":    {V: 1, Type: events.ReconcileDifferences, Subject: "reconcile:x", At: at},
		"null data":  {V: 1, Type: events.PaymentUnmatched, Subject: "payment:p", At: at, Data: json.RawMessage("null")},
		"array data": {V: 1, Type: events.ActionFailed, Subject: "action:a", At: at, Data: json.RawMessage(`[1,"two",{"three":3}]`)},
		"zero":       {},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// BenchmarkMarshal is the encoding of a new event as the stores write it, once per write.
func BenchmarkMarshal(b *testing.B) {
	view := make(map[string]string, 24)
	for _, k := range []string{"id", "kind", "status", "amount_in", "amount_out", "amount_fee", "started_at", "stellar_account", "memo", "memo_type", "asset", "how", "more_info_url", "customer_id", "external_transaction_id", "refunded"} {
		view[k] = "value of " + k + " 0123456789abcdef"
	}
	data, _ := json.Marshal(view)
	e := &events.Event{V: 1, Type: events.TransactionCreated, Subject: "transaction:tx1", At: time.Now().UTC(), Status: "incomplete", Data: data}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}
