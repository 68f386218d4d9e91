package postgres

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/events"
)

// TestDeliveredJSON: the stored body of an event with its columns' id and seq is the event as
// events.Marshal writes it, whether the body was written by emit (id and seq 0, put in place) or
// otherwise (a copied event with its own: decoded and encoded again).
func TestDeliveredJSON(t *testing.T) {
	e := events.Event{V: 1, Type: "transaction.created", Subject: `transaction:a,"seq":0,`, At: time.Date(2026, 12, 1, 0, 0, 0, 5, time.UTC),
		Status: "pending_anchor", Data: json.RawMessage(`{"seq":0,"id":0}`)}
	stored, _ := json.Marshal(&e) // as emit stores it
	want := e
	want.ID, want.Seq = 1042, 7
	wantJSON, _ := events.Marshal(&want)
	copied, _ := json.Marshal(&events.Event{V: 1, ID: 9, Seq: 2, Type: e.Type, Subject: e.Subject, At: e.At, Status: e.Status, Data: e.Data})
	for _, raw := range [][]byte{stored, copied} {
		got, err := deliveredJSON(raw, 1042, 7)
		if err != nil || string(got) != string(wantJSON) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", raw, got, err, wantJSON)
		}
	}
}
