package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/events"
)

var _ events.Store = (*Store)(nil)

// SetEvents makes the store record the events of its transfer, KYC and treasury transactions
// (nil: none).
func (s *Store) SetEvents(r *events.Recorder) { s.events = r }

// emit implements events.Sink: one statement (queued with the transaction's other writes) that
// numbers the event in its subject, stores it and queues its deliveries.
func (b base) emit(e *events.Event, endpoints []string) error {
	raw, err := body(e)
	if err != nil {
		return err
	}
	if endpoints == nil {
		endpoints = []string{}
	}
	return b.exec(`WITH s AS (
			INSERT INTO event_subjects (subject, seq) VALUES ($1, 1)
			ON CONFLICT (subject) DO UPDATE SET seq = event_subjects.seq + 1 RETURNING seq),
		e AS (INSERT INTO events (subject, seq, at_ns, body) SELECT $1, s.seq, $2, $3 FROM s RETURNING id, seq)
		INSERT INTO event_deliveries (endpoint, subject, seq, event_id, due_ns, body)
		SELECT ep, $1, e.seq, e.id, $2, json_build_object('endpoint', ep, 'subject', $1::text, 'seq', e.seq, 'event_id', e.id, 'type', $6::text, 'created', $4::text, 'attempt', 0, 'due', $4::text)
		FROM e, unnest($5::text[]) AS ep`,
		e.Subject, ns(e.At), raw, e.At.UTC().Format(time.RFC3339Nano), endpoints, e.Type)
}

func (t transferTx) Emit(e *events.Event, endpoints []string) error { return t.base.emit(e, endpoints) }
func (t kycTx) Emit(e *events.Event, endpoints []string) error      { return t.base.emit(e, endpoints) }
func (t opTx) Emit(e *events.Event, endpoints []string) error       { return t.base.emit(e, endpoints) }

// withID puts the columns' id and seq into an event's body.
func withID(raw []byte, id uint64, seq int) (events.Event, error) {
	var e events.Event
	if err := decode("events", strconv.FormatUint(id, 10), raw, &e); err != nil {
		return e, err
	}
	e.ID, e.Seq = id, seq
	return e, nil
}

// RecordEvent implements events.Recording.
func (s *Store) RecordEvent(ctx context.Context, typ, subject string, view any) error {
	return s.update(ctx, func(b base) error { return s.events.Record(opTx{b}, typ, subject, view) })
}

// withEventID puts an exported event's id (its key) and seq into its body.
func withEventID(raw []byte, key, seqText string) ([]byte, error) {
	id, err := strconv.ParseUint(key, 10, 64)
	if err != nil {
		return nil, err
	}
	seq, err := strconv.Atoi(seqText)
	if err != nil {
		return nil, err
	}
	var e events.Event
	if err := decode("events", key, raw, &e); err != nil {
		return nil, err
	}
	e.ID, e.Seq = id, seq
	return events.Marshal(&e)
}

// DueDeliveries implements events.Store.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]events.Delivery, error) {
	var out []events.Delivery
	err := s.view(ctx, func(b base) error {
		ds, err := listJSON[events.Delivery](b, "event_deliveries", `SELECT body, endpoint || '/' || subject FROM (
				SELECT DISTINCT ON (endpoint, subject) body, endpoint, subject, due_ns, claim_ns FROM event_deliveries
				WHERE NOT failed ORDER BY endpoint, subject, seq) AS heads
			WHERE due_ns <= $1 AND claim_ns <= $1 ORDER BY due_ns LIMIT $2`, now.UnixNano(), limit)
		for _, d := range ds {
			out = append(out, *d)
		}
		return err
	})
	return out, err
}

func putDelivery(b base, d *events.Delivery) error {
	raw, err := body(d)
	if err != nil {
		return err
	}
	return b.exec(`UPDATE event_deliveries SET due_ns = $4, failed = $5, claim_ns = $6, body = $7
		WHERE endpoint = $1 AND subject = $2 AND seq = $3`, d.Endpoint, d.Subject, d.Seq, ns(d.Due), d.Failed, ns(d.Claim), raw)
}

// ClaimDelivery implements events.Store: one statement, which takes the delivery only as it
// was read and while no other replica's claim holds it (the row's lock orders racing claims).
func (s *Store) ClaimDelivery(ctx context.Context, d events.Delivery, now, until time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE event_deliveries SET claim_ns = $4
		WHERE endpoint = $1 AND subject = $2 AND seq = $3 AND claim_ns <= $5 AND NOT failed AND due_ns = $6 AND (body->>'attempt')::int = $7`,
		d.Endpoint, d.Subject, d.Seq, until.UnixNano(), now.UnixNano(), ns(d.Due), d.Attempt)
	if err != nil {
		return false, classify(err)
	}
	return tag.RowsAffected() == 1, nil
}

// FinishDelivery implements events.Store, in one statement: the delivery is removed (or
// replaced) only as it was read, so a redelivery queued meanwhile is kept.
func (s *Store) FinishDelivery(ctx context.Context, d events.Delivery, next *events.Delivery) error {
	var err error
	if next == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM event_deliveries WHERE endpoint = $1 AND subject = $2 AND seq = $3
			AND NOT failed AND (body->>'attempt')::int = $4`, d.Endpoint, d.Subject, d.Seq, d.Attempt)
	} else {
		var raw string
		if raw, err = body(next); err == nil {
			_, err = s.pool.Exec(ctx, `UPDATE event_deliveries SET due_ns = $4, failed = $5, claim_ns = 0, body = $6
				WHERE endpoint = $1 AND subject = $2 AND seq = $3 AND NOT failed AND (body->>'attempt')::int = $7`,
				d.Endpoint, d.Subject, d.Seq, ns(next.Due), next.Failed, raw, d.Attempt)
		}
	}
	return classify(err)
}

// EventJSON implements events.Store.
func (s *Store) EventJSON(ctx context.Context, id uint64) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(b base) error {
		var raw string
		var seq int
		if err := b.queryRow("SELECT body::text, seq FROM events WHERE id = $1", id).Scan(&raw, &seq); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return events.ErrNotFound
			}
			return err
		}
		e, err := withID([]byte(raw), id, seq)
		if err != nil {
			return err
		}
		out, err = events.Marshal(&e)
		return err
	})
	return out, err
}

// EventsAfter implements events.Store, in commit order: events are ordered by the id of the
// transaction that wrote them (then their own), and only transactions older than every one still
// running are read — a transaction that commits later has a later position, so a reader that
// follows the ids it got never skips one.
func (s *Store) EventsAfter(ctx context.Context, after uint64, limit int) ([]events.Event, error) {
	out := []events.Event{}
	err := s.view(ctx, func(b base) error {
		rows, err := b.query(`SELECT id, seq, body::text FROM events
			WHERE (xid, id) > coalesce((SELECT (xid, id) FROM events WHERE id = $1), ('0'::xid8, 0::bigint))
			  AND xid < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY xid, id LIMIT $2`, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uint64
			var seq int
			var raw string
			if err := rows.Scan(&id, &seq, &raw); err != nil {
				return err
			}
			e, err := withID([]byte(raw), id, seq)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// FailedDeliveries implements events.Store.
func (s *Store) FailedDeliveries(ctx context.Context) ([]events.Delivery, error) {
	return values[events.Delivery](ctx, s, "event_deliveries", "SELECT body, endpoint || '/' || subject FROM event_deliveries WHERE failed ORDER BY event_id")
}

// Redeliver implements events.Store.
func (s *Store) Redeliver(ctx context.Context, eventID uint64, now time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func(b base) error {
		failed, err := listJSON[events.Delivery](b, "event_deliveries",
			"SELECT body, endpoint || '/' || subject FROM event_deliveries WHERE failed AND ($1 = 0 OR event_id = $1)", eventID)
		if err != nil {
			return err
		}
		for _, d := range failed {
			d.Failed, d.Attempt, d.Due, d.Claim, d.LastError = false, 0, now, time.Time{}, ""
			if err := putDelivery(b, d); err != nil {
				return err
			}
		}
		n = len(failed)
		return nil
	})
	return n, err
}

// PruneEvents implements events.Store.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func(b base) error {
		tag, err := b.execNow(`DELETE FROM events WHERE at_ns < $1
			AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = events.id)`, ns(before))
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}
