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

// Store keeps events and their deliveries (both backends).
type Store interface {
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
	// Redeliver queues the dead letters of an event (0: every dead letter) again at now, and
	// says how many.
	Redeliver(ctx context.Context, eventID uint64, now time.Time) (int, error)
	// PruneEvents forgets events older than before that no delivery waits for.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}
