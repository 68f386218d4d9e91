// Package events turns the business-relevant changes anchor makes into events — a transaction
// created or moved, a customer submitted or decided, a payment sent, received or unmatched, a
// treasury action proposed, submitted, confirmed or failed — written in the same store
// transaction as the change, and delivers them to the business's webhooks, signed
// (pkg/webhooksig), retried, in order per subject, with dead letters.
//
// Events are derived where every change passes: the store transactions of the transfer, KYC and
// treasury services. Each backend wraps its transactions with a Recorder (Transfer, KYC,
// Treasury), which compares what a transaction writes with what it read, and emits through the
// backend's Sink. So no code path can change a transaction's status without its event, on
// either backend, from the server or the CLI.
package events

import (
	"context"
	"encoding/json"
	"path"
	"slices"
	"time"

	"github.com/anchorkit/anchor/internal/config"
)

// Event is one change, as delivered and listed.
type Event struct {
	V int `json:"v"`
	// ID is unique and increasing (assigned by the store); receivers drop duplicates by it.
	ID uint64 `json:"id"`
	// Type is subject.change: transaction.created, transaction.status_changed, ... (Types).
	Type string `json:"type"`
	// Subject is what changed: transaction:ID, customer:ID, action:ID, payment:TOKEN.
	Subject string `json:"subject"`
	// Seq numbers the subject's events from 1: deliveries of one subject are in Seq order.
	Seq            int       `json:"seq"`
	At             time.Time `json:"at"`
	PreviousStatus string    `json:"previous_status,omitempty"`
	Status         string    `json:"status,omitempty"`
	// Data is the JSON view of the subject as the change left it (docs/json.md): no secrets.
	Data json.RawMessage `json:"data"`
}

// The event types.
const (
	TransactionCreated       = "transaction.created"
	TransactionStatusChanged = "transaction.status_changed"
	CustomerSubmitted        = "customer.submitted"
	CustomerStatusChanged    = "customer.status_changed"
	PaymentSent              = "payment.sent"
	PaymentReceived          = "payment.received"
	PaymentUnmatched         = "payment.unmatched"
	ActionProposed           = "treasury.action_proposed"
	ActionSubmitted          = "treasury.action_submitted"
	ActionConfirmed          = "treasury.action_confirmed"
	ActionFailed             = "treasury.action_failed"
)

// Types lists every event type, for configuration checks and docs.
var Types = []string{TransactionCreated, TransactionStatusChanged, CustomerSubmitted, CustomerStatusChanged,
	PaymentSent, PaymentReceived, PaymentUnmatched, ActionProposed, ActionSubmitted, ActionConfirmed, ActionFailed, ReconcileDifferences}

// ValidPattern reports whether p names event types: a type, or a glob such as transaction.*
// or * matching at least one.
func ValidPattern(p string) bool {
	return slices.ContainsFunc(Types, func(t string) bool { ok, _ := path.Match(p, t); return ok })
}

// Sink is where a store transaction writes events: the backends' transactions implement it.
type Sink interface {
	// Emit stores e in the event log, assigning its ID and Seq (the webhooks' feeds read it
	// from there).
	Emit(e *Event) error
}

// Endpoint is a webhook's name and the event types it takes (globs; none: every type).
type Endpoint struct {
	Name  string
	Types []string
}

// Recorder makes the events of store transactions. A nil Recorder records nothing.
type Recorder struct {
	Endpoints []Endpoint
	// KYCTypes are the customer types whose rules give a customer's status.
	KYCTypes map[string]config.CustomerType
	Now      func() time.Time
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Names are the webhooks' names: each has a feed in the store from when it was first configured.
func (r *Recorder) Names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.Endpoints))
	for i, e := range r.Endpoints {
		out[i] = e.Name
	}
	return out
}

// TakenBy names the configured webhooks that take events of typ.
func (r *Recorder) TakenBy(typ string) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, e := range r.Endpoints {
		if Takes(e.Types, typ) {
			out = append(out, e.Name)
		}
	}
	return out
}

// Resent is a new delivery of an event sent again (Store.Redeliver): due now, and retried for
// the retry period from now.
func Resent(endpoint string, e Event, now time.Time) Delivery {
	return Delivery{Endpoint: endpoint, Subject: e.Subject, Seq: e.Seq, EventID: e.ID, Type: e.Type, Created: now, Due: now}
}

// Takes reports whether a webhook of these type patterns takes events of typ (no patterns:
// every type).
func Takes(patterns []string, typ string) bool {
	if len(patterns) == 0 {
		return true
	}
	return slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, typ); return ok })
}

func (r *Recorder) emit(s Sink, typ, subject string, view any, prev, status string) error {
	data, err := json.Marshal(view)
	if err != nil {
		return err
	}
	e := &Event{V: 1, Type: typ, Subject: subject, At: r.now().UTC(), PreviousStatus: prev, Status: status, Data: data}
	return s.Emit(e)
}

// Marshal is an event's JSON as delivered and listed, as json.Marshal writes it. Data is
// spliced in, not scanned and compacted again as json.Marshal does with a RawMessage: it is
// json.Marshal's own output (emit) or a stored event's, so already compact and escaped as
// json.Marshal escapes (<, >, & and U+2028/9 inside strings). The stores write every event
// through it, once per change, where the second scan was about 6% of the server's CPU per
// deposit (docs/benchmarks.md).
func Marshal(e *Event) ([]byte, error) {
	if len(e.Data) == 0 {
		return json.Marshal(e)
	}
	head, err := json.Marshal(struct {
		*Event
		Data json.RawMessage `json:"data,omitempty"` // shadows e.Data, left out
	}{Event: e})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+len(`,"data":`)+len(e.Data))
	out = append(append(out, head[:len(head)-1]...), `,"data":`...)
	return append(append(out, e.Data...), '}'), nil
}

// ReconcileDifferences is the event of a reconcile that found differences.
const ReconcileDifferences = "reconcile.differences_found"

// Recording is a store that records an event on its own (a change that is not a store write:
// a reconcile's finding).
type Recording interface {
	RecordEvent(ctx context.Context, typ, subject string, view any) error
}

// Record is the event of a change made outside the services' store transactions.
func (r *Recorder) Record(s Sink, typ, subject string, view any) error {
	if r == nil {
		return nil
	}
	return r.emit(s, typ, subject, view, "", "")
}
