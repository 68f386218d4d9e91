package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/store"
)

var _ events.Store = (*Store)(nil)

// SetEvents implements store.Backend: a webhook without a feed gets one at the last event every
// reader sees (every event committed after it comes after that position).
func (s *Store) SetEvents(r *events.Recorder) error {
	s.events = r
	names := r.Names()
	if len(names) == 0 {
		return nil
	}
	_, err := s.pool.Exec(context.Background(), `INSERT INTO event_feeds (endpoint, xid, id, at_ns)
		SELECT ep, coalesce(last.xid, '0'::xid8), coalesce(last.id, 0), $2
		FROM unnest($1::text[]) AS ep
		LEFT JOIN (SELECT xid, id FROM events WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1) AS last ON true
		WHERE NOT EXISTS (SELECT 1 FROM event_feeds f WHERE f.endpoint = ep)
		ON CONFLICT (endpoint) DO NOTHING`, names, time.Now().UnixNano())
	return classify(err)
}

// emit implements events.Sink: one statement (queued with the transaction's other writes) that
// numbers the event in its subject and stores it.
func (b base) emit(e *events.Event) error {
	raw, err := events.Marshal(e)
	if err != nil {
		return err
	}
	return b.exec(`WITH s AS (
			INSERT INTO event_subjects (subject, seq) VALUES ($1, 1)
			ON CONFLICT (subject) DO UPDATE SET seq = event_subjects.seq + 1 RETURNING seq)
		INSERT INTO events (subject, seq, at_ns, body) SELECT $1, s.seq, $2, $3 FROM s`,
		e.Subject, ns(e.At), raw)
}

func (t transferTx) Emit(e *events.Event) error { return t.base.emit(e) }
func (t kycTx) Emit(e *events.Event) error      { return t.base.emit(e) }
func (t opTx) Emit(e *events.Event) error       { return t.base.emit(e) }

// ReadFeed implements events.Store, in commit order as EventsAfter.
func (s *Store) ReadFeed(ctx context.Context, endpoint string, limit int) (events.FeedPage, error) {
	var p events.FeedPage
	err := s.view(ctx, func(b base) error {
		p = events.FeedPage{}
		if err := b.queryRow("SELECT xid::text, id FROM event_feeds WHERE endpoint = $1", endpoint).Scan(&p.Cursor.Pos, &p.Cursor.ID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // not configured when the store was opened
			}
			return err
		}
		// The position goes out as text (pos), and the order is the column's, as numbers:
		// ordered by its text, 1000 would come before 958 and the cursor would pass events
		// never read.
		rows, err := b.query(`SELECT id, seq, xid::text AS pos, body::text FROM events
			WHERE (xid, id) > ($1::text::xid8, $2) AND xid < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY events.xid, events.id LIMIT $3`, p.Cursor.Pos, p.Cursor.ID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		var subjects []string
		for rows.Next() {
			var id uint64
			var seq int
			var xid, raw string
			if err := rows.Scan(&id, &seq, &xid, &raw); err != nil {
				return err
			}
			out, err := deliveredJSON([]byte(raw), id, seq)
			if err != nil {
				return err
			}
			h, err := events.ReadHeader(out)
			if err != nil {
				return fmt.Errorf("%w: events %d: %v", store.ErrCorrupt, id, err)
			}
			h.Cursor, h.JSON = events.Cursor{ID: id, Pos: xid}, out
			p.Events = append(p.Events, h)
			subjects = append(subjects, h.Subject)
		}
		if err := rows.Err(); err != nil || len(subjects) == 0 {
			return err
		}
		rows.Close()
		held, err := b.query("SELECT DISTINCT subject FROM event_deliveries WHERE endpoint = $1 AND NOT failed AND subject = ANY($2)", endpoint, subjects)
		if err != nil {
			return err
		}
		defer held.Close()
		for held.Next() {
			var subject string
			if err := held.Scan(&subject); err != nil {
				return err
			}
			if p.Held == nil {
				p.Held = map[string]bool{}
			}
			p.Held[subject] = true
		}
		return held.Err()
	})
	return p, err
}

// deliveredJSON is an event as delivered: its stored body with the columns' id and seq. A body
// as emit writes it (id and seq 0, where events.Marshal puts them) takes them in place; any
// other is decoded and encoded again.
func deliveredJSON(raw []byte, id uint64, seq int) ([]byte, error) {
	const head, seqZero = `{"v":1,"id":0,`, `,"seq":0,`
	if bytes.HasPrefix(raw, []byte(head)) {
		if i := bytes.Index(raw, []byte(seqZero)); i > 0 {
			out := make([]byte, 0, len(raw)+40)
			out = strconv.AppendUint(append(out, `{"v":1,"id":`...), id, 10)
			out = append(out, raw[len(head)-1:i]...)
			out = strconv.AppendInt(append(out, `,"seq":`...), int64(seq), 10)
			return append(out, raw[i+len(seqZero)-1:]...), nil
		}
	}
	e, err := withID(raw, id, seq)
	if err != nil {
		return nil, err
	}
	return events.Marshal(&e)
}

// FeedStats implements events.Store.
func (s *Store) FeedStats(ctx context.Context, endpoint string) (events.FeedStats, error) {
	var st events.FeedStats
	err := s.view(ctx, func(b base) error {
		var oldest *int64
		var feeds int
		if err := b.queryRow(`SELECT (SELECT count(*) FROM event_feeds WHERE endpoint = $1), count(e.id), min(e.at_ns)
			FROM events e JOIN event_feeds f ON f.endpoint = $1 AND (e.xid, e.id) > (f.xid, f.id)`, endpoint).Scan(&feeds, &st.Behind, &oldest); err != nil {
			return err
		}
		if feeds == 0 {
			return events.ErrNoWebhook
		}
		if oldest != nil {
			st.Oldest = time.Unix(0, *oldest)
		}
		return b.queryRow(`SELECT count(*) FILTER (WHERE NOT failed), count(*) FILTER (WHERE failed)
			FROM event_deliveries WHERE endpoint = $1`, endpoint).Scan(&st.Retrying, &st.Dead)
	})
	return st, err
}

// AdvanceFeed implements events.Store.
func (s *Store) AdvanceFeed(ctx context.Context, endpoint string, from, to events.Cursor, queued []events.Delivery) (bool, error) {
	ok := false
	err := s.update(ctx, func(b base) error {
		tag, err := b.execNow("UPDATE event_feeds SET xid = $3::text::xid8, id = $4, at_ns = $5 WHERE endpoint = $1 AND id = $2",
			endpoint, from.ID, to.Pos, to.ID, time.Now().UnixNano())
		if ok = err == nil && tag.RowsAffected() == 1; !ok {
			return err
		}
		for i := range queued {
			if err := insertDelivery(b, &queued[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return ok, err
}

// insertDelivery writes a delivery record, or replaces the one of its event.
func insertDelivery(b base, d *events.Delivery) error {
	raw, err := body(d)
	if err != nil {
		return err
	}
	return b.exec(`INSERT INTO event_deliveries (endpoint, subject, seq, event_id, due_ns, failed, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (endpoint, subject, seq) DO UPDATE SET due_ns = excluded.due_ns, failed = excluded.failed, body = excluded.body`,
		d.Endpoint, d.Subject, d.Seq, d.EventID, ns(d.Due), d.Failed, raw)
}

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
	return deliveredJSON(raw, id, seq)
}

// DueDeliveries implements events.Store.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]events.Delivery, error) {
	var out []events.Delivery
	err := s.one(ctx, func(b base) error {
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
	err := s.one(ctx, func(b base) error {
		var raw string
		var seq int
		if err := b.queryRow("SELECT body::text, seq FROM events WHERE id = $1", id).Scan(&raw, &seq); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return events.ErrNotFound
			}
			return err
		}
		var err error
		out, err = deliveredJSON([]byte(raw), id, seq)
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
	err := s.one(ctx, func(b base) error {
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
			"SELECT body, endpoint || '/' || subject FROM event_deliveries WHERE failed AND ($1::bigint = 0 OR event_id = $1)", eventID)
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
		if eventID == 0 {
			return nil
		}
		var e events.Event
		if err := b.queryRow("SELECT subject, seq, body->>'type' FROM events WHERE id = $1", eventID).Scan(&e.Subject, &e.Seq, &e.Type); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return events.ErrNotFound
			}
			return err
		}
		e.ID = eventID
		// The webhooks whose feeds have passed it, with no delivery of it (a dead letter was
		// queued above).
		rows, err := b.query(`SELECT f.endpoint FROM event_feeds f JOIN events e ON e.id = $1
			WHERE f.endpoint = ANY($2) AND (e.xid, e.id) <= (f.xid, f.id)
			  AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.endpoint = f.endpoint AND d.subject = e.subject AND d.seq = e.seq)
			ORDER BY f.endpoint`, eventID, s.events.TakenBy(e.Type))
		if err != nil {
			return err
		}
		endpoints, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, endpoint := range endpoints {
			d := events.Resent(endpoint, e, now)
			if err := insertDelivery(b, &d); err != nil {
				return err
			}
		}
		n += len(endpoints)
		return nil
	})
	return n, err
}

// PruneEvents implements events.Store.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func(b base) error {
		tag, err := b.execNow(`DELETE FROM events WHERE at_ns < $1
			AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = events.id)
			AND NOT EXISTS (SELECT 1 FROM event_feeds f WHERE f.at_ns >= $1 AND (events.xid, events.id) > (f.xid, f.id))`, ns(before))
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}
