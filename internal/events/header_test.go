package events

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEventHeader: the fast reading of an event's header agrees with a decode of the event, and
// events it cannot read take the general way.
func TestEventHeader(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 6, 0, 123456789, time.UTC)
	for _, e := range []Event{
		{V: 1, ID: 7, Type: "transaction.created", Subject: "transaction:abc", Seq: 1, At: at, Data: json.RawMessage(`{"type":"x","subject":"y","seq":9}`)},
		{V: 1, ID: 8, Type: "transaction.status_changed", Subject: "transaction:abc", Seq: 12, At: at.Truncate(time.Second), PreviousStatus: "a", Status: "b", Data: json.RawMessage(`{}`)},
		{V: 1, ID: 9, Type: "payment.unmatched", Subject: `payment:"quoted"`, Seq: 3, At: at, Data: json.RawMessage(`null`)},
	} {
		raw, err := Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ReadHeader(raw)
		if err != nil || h.Type != e.Type || h.Subject != e.Subject || h.Seq != e.Seq || !h.At.Equal(e.At) {
			t.Errorf("%s: %+v %v", raw, h, err)
		}
		if _, fast := marshalledHeader(raw); fast == (e.ID == 9) {
			t.Errorf("%s: fast %v", raw, fast)
		}
	}
	for _, bad := range []string{`[]`, `{"v":1}`, `{"type":"a","subject":"b","seq":0,"at":"2026-12-01T00:00:00Z"}`, `{"v":1,"type":"a","subject":"b","seq":1,"at":"yesterday"}`} {
		if h, err := ReadHeader([]byte(bad)); err == nil {
			t.Errorf("%s read as %+v", bad, h)
		}
	}
}

func BenchmarkEventHeader(b *testing.B) {
	data, _ := json.Marshal(map[string]any{"id": "x", "amount_in": "100.0000000", "text": string(make([]byte, 900))})
	raw, _ := Marshal(&Event{V: 1, ID: 7, Type: "transaction.created", Subject: "transaction:abc", Seq: 1, At: time.Now(), Data: data})
	for b.Loop() {
		if _, err := ReadHeader(raw); err != nil {
			b.Fatal(err)
		}
	}
}
