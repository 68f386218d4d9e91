package events

import (
	"context"
	"time"

	"github.com/anchorkit/anchor/internal/fault"
)

// Delivery is an event on its way to one webhook.
type Delivery struct {
	Endpoint string `json:"endpoint"`
	Subject  string `json:"subject"`
	Seq      int    `json:"seq"`
	EventID  uint64 `json:"event_id"`
	Type     string `json:"type"`
	// Created is when the event was, from which the retry period counts.
	Created time.Time `json:"created"`
	// Attempt counts the failed tries; Due is when the next is.
	Attempt int       `json:"attempt"`
	Due     time.Time `json:"due"`
	// Failed marks a dead letter: retried for the whole retry period in vain. It is kept until
	// redelivered (anchor events redeliver) and holds back no later event of its subject.
	Failed    bool      `json:"failed,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Claim     time.Time `json:"claim,omitzero"`
}

// ErrNotFound: no such event.
var ErrNotFound = fault.NotFound("no such event")

// ErrNoWebhook: no webhook of that name has a feed (none was configured by that name).
var ErrNoWebhook = fault.NotFound("no such webhook (events.webhooks names them)")

// Cursor is where a webhook's feed stands in the event log: the last event it passed. Pos is
// that event's place in the backend's commit order (PostgreSQL: its transaction's id; bbolt:
// empty, ids are in commit order).
type Cursor struct {
	ID  uint64
	Pos string
}

// FeedEvent is an event as a feed reads it: what routes it, its cursor, and its JSON as
// delivered (Marshal's).
type FeedEvent struct {
	Cursor
	Seq     int
	Type    string
	Subject string
	At      time.Time
	JSON    []byte
}

// FeedPage is what a feed reads at once.
type FeedPage struct {
	// Cursor is where the feed stood; Events come after it, in commit order.
	Cursor Cursor
	Events []FeedEvent
	// Held are the Events' subjects with a delivery record of the endpoint waiting (not a dead
	// letter): their next events queue behind it.
	Held map[string]bool
}

// FeedStats is a webhook's backlog (metrics, anchor events webhooks).
type FeedStats struct {
	// Behind counts the events after its feed's cursor; Oldest is the first one's time (zero:
	// none).
	Behind int
	Oldest time.Time
	// Retrying counts its delivery records waiting (retried, or queued behind one); Dead its
	// dead letters.
	Retrying, Dead int
}

// Store keeps events and their deliveries (both backends). A webhook's events reach it by its
// feed — a cursor in the event log, moved past what was sent — and a failed one by a delivery
// record, retried on its own (DueDeliveries, ClaimDelivery, FinishDelivery).
type Store interface {
	// ReadFeed reads up to limit events after the endpoint's cursor. An endpoint has a cursor
	// from when a store with it configured was opened (SetEvents); without one, nothing.
	ReadFeed(ctx context.Context, endpoint string, limit int) (FeedPage, error)
	// FeedStats reads an endpoint's backlog; ErrNoWebhook when it has no feed.
	FeedStats(ctx context.Context, endpoint string) (FeedStats, error)
	// AdvanceFeed moves the endpoint's cursor from from (where ReadFeed found it) to to, and
	// writes queued as delivery records, at once; false (and nothing written) when the cursor
	// was no longer at from.
	AdvanceFeed(ctx context.Context, endpoint string, from, to Cursor, queued []Delivery) (bool, error)
	// DueDeliveries returns up to limit deliveries due at now: of each endpoint and subject,
	// the first not failed, unless another process claims it.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// ClaimDelivery takes d until until for this process: false when it changed or another
	// holds it.
	ClaimDelivery(ctx context.Context, d Delivery, now, until time.Time) (bool, error)
	// FinishDelivery removes d (delivered) or replaces it by next (a retry, or a dead letter).
	FinishDelivery(ctx context.Context, d Delivery, next *Delivery) error
	// EventJSON returns an event as delivered (Marshal's JSON), by id.
	EventJSON(ctx context.Context, id uint64) ([]byte, error)
	// EventsAfter returns up to limit events after the event id after (0: from the first), in
	// the order they were committed.
	EventsAfter(ctx context.Context, after uint64, limit int) ([]Event, error)
	// FailedDeliveries lists the dead letters.
	FailedDeliveries(ctx context.Context) ([]Delivery, error)
	// Redeliver queues an event again at now: its dead letters, and a delivery to each
	// configured webhook that takes its type and whose feed has passed it with no delivery of
	// it waiting (a receiver drops the second copy by id); or, for eventID 0, every dead
	// letter. It says how many deliveries it queued; an event not in the log is ErrNotFound.
	Redeliver(ctx context.Context, eventID uint64, now time.Time) (int, error)
	// PruneEvents forgets events older than before that no delivery record waits for and that
	// every feed moved since before has passed.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}
