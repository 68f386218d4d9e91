package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/events"
)

// TestFeedReadsInTransactionOrder: a feed, and a reader of the pull API, read the events in
// the order of their transactions' ids as numbers, whatever their decimal digits (in the order
// of their text, 10 would come before 9, and a cursor moved to it would pass 9 unread: events
// lost for a webhook once the cluster's transaction ids reach another power of ten).
func TestFeedReadsInTransactionOrder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}}); err != nil {
		t.Fatal(err)
	}
	// Events of long-committed transactions, written in an order that is neither numeric nor
	// textual: 100, 9, 11, 8, 10.
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, xid := range []string{"100", "9", "11", "8", "10"} {
		raw, _ := json.Marshal(&events.Event{V: 1, Type: events.ReconcileDifferences, Subject: "reconcile:" + xid, At: at, Data: json.RawMessage(`{}`)})
		if _, err := s.pool.Exec(ctx, "INSERT INTO events (xid, subject, seq, at_ns, body) VALUES ($1::text::xid8, $2, 1, $3, $4)",
			xid, "reconcile:"+xid, at.UnixNano()+int64(i), string(raw)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for range 5 {
		page, err := s.ReadFeed(ctx, "bank", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			break
		}
		for _, e := range page.Events {
			got = append(got, e.Pos)
		}
		to := page.Events[len(page.Events)-1].Cursor
		if ok, err := s.AdvanceFeed(ctx, "bank", page.Cursor, to, nil); !ok || err != nil {
			t.Fatalf("advance the feed: %v %v", ok, err)
		}
	}
	if want := []string{"8", "9", "10", "11", "100"}; !slices.Equal(got, want) {
		t.Fatalf("the feed read the positions %v, want %v", got, want)
	}
	// The pull API (GET /v1/events?after=ID), by the events' ids: 100, 9, 11, 8, 10 were
	// written as ids 1 to 5.
	var ids []uint64
	for after := uint64(0); len(ids) < 10; {
		es, err := s.EventsAfter(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		after = es[len(es)-1].ID
	}
	if want := []uint64{4, 2, 5, 3, 1}; !slices.Equal(ids, want) {
		t.Fatalf("the pull API read the events %v, want %v", ids, want)
	}
}

// BenchmarkFeedBacklog reads the first page of a webhook's feed 100,000 events behind (a
// receiver that was down for a while): one index range, not a sort of the whole backlog.
func BenchmarkFeedBacklog(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	if err := s.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}}); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(&events.Event{V: 1, Type: events.ReconcileDifferences, Subject: "reconcile", At: time.Now().UTC(), Data: json.RawMessage(`{}`)})
	// 100 transactions of 1,000 events each.
	for range 100 {
		if _, err := s.pool.Exec(ctx, `INSERT INTO events (subject, seq, at_ns, body)
			SELECT 'reconcile:' || (i % 500), i, $1, $2 FROM generate_series(1, 1000) AS i`, time.Now().UnixNano(), string(raw)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE events"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		page, err := s.ReadFeed(ctx, "bank", 1024)
		if err != nil || len(page.Events) != 1024 {
			b.Fatalf("%d events (%v)", len(page.Events), err)
		}
	}
}
