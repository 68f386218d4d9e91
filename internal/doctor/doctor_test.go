package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

// TestCheckWebhooks: each state of a webhook's backlog and the level it gets: dead letters fail,
// deliveries retrying and a feed behind for long warn, an unreadable backlog warns, and a
// backlog being sent passes.
func TestCheckWebhooks(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		stats events.FeedStats
		err   error
		level string
		want  string
	}{
		{"idle", events.FeedStats{}, nil, OK, "0 event(s) not sent yet"},
		{"sending", events.FeedStats{Behind: 40, Oldest: now.Add(-3 * time.Second)}, nil, OK, "40 event(s) not sent yet"},
		{"behind for long", events.FeedStats{Behind: 40, Oldest: now.Add(-time.Hour)}, nil, Warn, "no anchor serve sends them"},
		{"retrying", events.FeedStats{Retrying: 2}, nil, Warn, "2 delivery(ies) retrying"},
		{"dead letters", events.FeedStats{Retrying: 2, Dead: 3}, nil, Fail, "anchor events redeliver --failed"},
		{"unreadable", events.FeedStats{}, errors.New("store locked"), Warn, "store locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Events: config.Events{Webhooks: []config.Webhook{{Name: "bank", URL: "https://bank.example/events?token=s3cret"}}}}
			d := &Doctor{Config: cfg, Now: func() time.Time { return now }, Webhooks: func(_ context.Context, name string) (events.FeedStats, error) {
				if name != "bank" {
					t.Fatalf("asked for %q", name)
				}
				return tc.stats, tc.err
			}}
			d.checkWebhooks(context.Background())
			if len(d.out) != 1 || d.out[0].Check != "webhook bank" || d.out[0].Level != tc.level || !strings.Contains(d.out[0].Message, tc.want) ||
				strings.Contains(d.out[0].Message, "s3cret") {
				t.Fatalf("%+v, want %s with %q", d.out, tc.level, tc.want)
			}
		})
	}
}

// TestConnectionRoom: the database check warns when fewer connections are left than one more
// replica (or this one restarting while its old connections linger) may open, and passes at
// exactly enough.
func TestConnectionRoom(t *testing.T) {
	for _, tc := range []struct {
		name        string
		p           postgres.ProbeResult
		perReplica  int
		level, text string
	}{
		{"plenty", postgres.ProbeResult{Connections: 30, Anchor: 24, MaxClients: 97}, 24, OK, "30 of its 97 connections open, 24 of them anchor's; a replica opens up to 24"},
		{"exactly enough", postgres.ProbeResult{Connections: 73, Anchor: 72, MaxClients: 97}, 24, OK, "73 of its 97"},
		{"one short", postgres.ProbeResult{Connections: 74, Anchor: 72, MaxClients: 97}, 24, Warn, "too few left for another"},
		{"full", postgres.ProbeResult{Connections: 97, Anchor: 10, MaxClients: 97}, 20, Warn, "raise max_connections, or lower pool_max_conns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, msg := connectionRoom(tc.p, tc.perReplica)
			if level != tc.level || !strings.Contains(msg, tc.text) {
				t.Errorf("connectionRoom = %s %q; want %s with %q", level, msg, tc.level, tc.text)
			}
		})
	}
}
