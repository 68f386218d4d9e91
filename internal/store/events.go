package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/events"
)

var _ events.Store = (*Bolt)(nil)

var (
	bucketEventLog      = []byte("events_log")        // id (8 bytes) → events.Event JSON
	bucketEventSubjects = []byte("events_subjects")   // subject → its last seq (8 bytes)
	bucketDeliveries    = []byte("events_deliveries") // endpoint \x00 event id (8 bytes) → events.Delivery JSON
	bucketEventFeeds    = []byte("events_feeds")      // endpoint → cursor (8 bytes) and when it moved (8 bytes, Unix ns)
)

// SetEvents implements Backend.
func (s *Bolt) SetEvents(r *events.Recorder) error {
	s.events = r
	names := r.Names()
	missing := false
	if err := s.db.View(func(tx *bolt.Tx) error {
		feeds := tx.Bucket(bucketEventFeeds)
		missing = slices.ContainsFunc(names, func(n string) bool { return feeds.Get([]byte(n)) == nil })
		return nil
	}); err != nil || !missing {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		feeds := tx.Bucket(bucketEventFeeds)
		var last uint64
		if k, _ := tx.Bucket(bucketEventLog).Cursor().Last(); k != nil {
			last = binary.BigEndian.Uint64(k)
		}
		for _, n := range names {
			if feeds.Get([]byte(n)) == nil {
				if err := feeds.Put([]byte(n), feedValue(last, time.Now())); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func feedValue(cursor uint64, at time.Time) []byte {
	return binary.BigEndian.AppendUint64(u64(cursor), uint64(at.UnixNano()))
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// deliveryKey orders an endpoint's deliveries by event id: new ones append at the B+tree's right
// edge and delivered ones leave from its left (a key by subject, a random id, would dirty a page
// of its own for each). Event ids follow each subject's seq, so a subject's deliveries keep their
// order.
func deliveryKey(d *events.Delivery) []byte {
	return append([]byte(d.Endpoint+"\x00"), u64(d.EventID)...)
}

// emit implements events.Sink for every transaction type of the bbolt store.
func emit(tx *bolt.Tx, e *events.Event) error {
	subjects := tx.Bucket(bucketEventSubjects)
	var seq uint64 = 1
	if raw := subjects.Get([]byte(e.Subject)); len(raw) == 8 {
		seq = binary.BigEndian.Uint64(raw) + 1
	}
	if err := subjects.Put([]byte(e.Subject), u64(seq)); err != nil {
		return err
	}
	log := tx.Bucket(bucketEventLog)
	id, err := log.NextSequence()
	if err != nil {
		return err
	}
	e.ID, e.Seq = id, int(seq)
	raw, err := events.Marshal(e)
	if err != nil {
		return err
	}
	return log.Put(u64(id), raw)
}

func putDelivery(tx *bolt.Tx, d *events.Delivery) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketDeliveries).Put(deliveryKey(d), raw)
}

func (t transferTx) Emit(e *events.Event) error { return emit(t.tx, e) }
func (t kycTx) Emit(e *events.Event) error      { return emit(t.tx, e) }
func (t opTx) Emit(e *events.Event) error       { return emit(t.tx, e) }

// ReadFeed implements events.Store.
func (s *Bolt) ReadFeed(ctx context.Context, endpoint string, limit int) (events.FeedPage, error) {
	var p events.FeedPage
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketEventFeeds).Get([]byte(endpoint))
		if len(raw) < 8 {
			return nil // not configured when the store was opened
		}
		p.Cursor.ID = binary.BigEndian.Uint64(raw)
		c := tx.Bucket(bucketEventLog).Cursor()
		for k, v := c.Seek(u64(p.Cursor.ID + 1)); k != nil && len(p.Events) < limit; k, v = c.Next() {
			h, err := events.ReadHeader(v)
			if err != nil {
				return fmt.Errorf("%w: %s %x: %v", ErrCorrupt, bucketEventLog, k, err)
			}
			h.ID, h.JSON = binary.BigEndian.Uint64(k), bytes.Clone(v)
			p.Events = append(p.Events, h)
		}
		if len(p.Events) == 0 {
			return nil
		}
		// The subjects with a record waiting: records are few (failed POSTs).
		return endpointRecords(tx, endpoint, func(d *events.Delivery) {
			if !d.Failed {
				if p.Held == nil {
					p.Held = map[string]bool{}
				}
				p.Held[d.Subject] = true
			}
		})
	})
	return p, err
}

// FeedStats implements events.Store.
func (s *Bolt) FeedStats(ctx context.Context, endpoint string) (events.FeedStats, error) {
	var st events.FeedStats
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketEventFeeds).Get([]byte(endpoint))
		if len(raw) < 8 {
			return events.ErrNoWebhook
		}
		c := tx.Bucket(bucketEventLog).Cursor()
		k, v := c.Seek(u64(binary.BigEndian.Uint64(raw) + 1))
		if k != nil {
			h, err := events.ReadHeader(v)
			if err != nil {
				return fmt.Errorf("%w: %s %x: %v", ErrCorrupt, bucketEventLog, k, err)
			}
			st.Oldest = h.At
		}
		for ; k != nil; k, _ = c.Next() {
			st.Behind++
		}
		return endpointRecords(tx, endpoint, func(d *events.Delivery) {
			if d.Failed {
				st.Dead++
			} else {
				st.Retrying++
			}
		})
	})
	return st, err
}

// endpointRecords calls fn with each delivery record of an endpoint (its keys are together).
func endpointRecords(tx *bolt.Tx, endpoint string, fn func(d *events.Delivery)) error {
	prefix := []byte(endpoint + "\x00")
	c := tx.Bucket(bucketDeliveries).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var d events.Delivery
		if err := decode(bucketDeliveries, k, v, &d); err != nil {
			return err
		}
		fn(&d)
	}
	return nil
}

// AdvanceFeed implements events.Store; it shares the commits of concurrent writes.
func (s *Bolt) AdvanceFeed(ctx context.Context, endpoint string, from, to events.Cursor, queued []events.Delivery) (bool, error) {
	ok := false
	err := s.commits.update(func(tx *bolt.Tx) error {
		ok = false
		feeds := tx.Bucket(bucketEventFeeds)
		raw := feeds.Get([]byte(endpoint))
		if len(raw) < 8 || binary.BigEndian.Uint64(raw) != from.ID {
			return nil
		}
		for i := range queued {
			if err := putDelivery(tx, &queued[i]); err != nil {
				return err
			}
		}
		ok = true
		return feeds.Put([]byte(endpoint), feedValue(to.ID, time.Now()))
	})
	return ok, err
}

// RecordEvent implements events.Recording.
func (s *Bolt) RecordEvent(ctx context.Context, typ, subject string, view any) error {
	return s.db.Update(func(tx *bolt.Tx) error { return s.events.Record(opTx{tx}, typ, subject, view) })
}

// DueDeliveries implements events.Store.
func (s *Bolt) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]events.Delivery, error) {
	var out []events.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		held := map[string]bool{} // endpoint \x00 subject with an earlier delivery waiting
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var d events.Delivery
			if err := decode(bucketDeliveries, k, v, &d); err != nil {
				return err
			}
			if d.Failed {
				continue // a dead letter holds nothing back
			}
			g := d.Endpoint + "\x00" + d.Subject
			if held[g] {
				continue // behind its subject's head
			}
			held[g] = true
			if !d.Due.After(now) && !d.Claim.After(now) {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// deliveryUnchanged reports whether d is still stored as it was read.
func deliveryUnchanged(tx *bolt.Tx, d events.Delivery) (bool, error) {
	k := deliveryKey(&d)
	raw := tx.Bucket(bucketDeliveries).Get(k)
	if raw == nil {
		return false, nil
	}
	var cur events.Delivery
	if err := decode(bucketDeliveries, k, raw, &cur); err != nil {
		return false, err
	}
	return cur.Attempt == d.Attempt && cur.Due.Equal(d.Due) && cur.Failed == d.Failed, nil
}

// ClaimDelivery implements events.Store. One process holds a bbolt file, and its dispatcher
// hands each delivery it read to one worker: there is nobody to claim against (FinishDelivery
// still checks that the delivery is as it was read).
func (s *Bolt) ClaimDelivery(ctx context.Context, d events.Delivery, now, until time.Time) (bool, error) {
	return true, nil
}

// FinishDelivery implements events.Store; concurrent deliveries' records share a commit.
func (s *Bolt) FinishDelivery(ctx context.Context, d events.Delivery, next *events.Delivery) error {
	return s.commits.update(func(tx *bolt.Tx) error {
		same, err := deliveryUnchanged(tx, d)
		if err != nil || !same {
			return err // redelivered or changed meanwhile: kept as it is now
		}
		if next == nil {
			return tx.Bucket(bucketDeliveries).Delete(deliveryKey(&d))
		}
		return putDelivery(tx, next)
	})
}

// EventJSON implements events.Store: the record is the event as delivered.
func (s *Bolt) EventJSON(ctx context.Context, id uint64) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketEventLog).Get(u64(id))
		if raw == nil {
			return events.ErrNotFound
		}
		out = bytes.Clone(raw)
		return nil
	})
	return out, err
}

// EventsAfter implements events.Store: one writer commits at a time, so ids are in commit order.
func (s *Bolt) EventsAfter(ctx context.Context, after uint64, limit int) ([]events.Event, error) {
	out := []events.Event{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEventLog).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var e events.Event
			if err := decode(bucketEventLog, k, v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// FailedDeliveries implements events.Store.
func (s *Bolt) FailedDeliveries(ctx context.Context) ([]events.Delivery, error) {
	out := []events.Delivery{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDeliveries).ForEach(func(k, v []byte) error {
			var d events.Delivery
			if err := decode(bucketDeliveries, k, v, &d); err != nil {
				return err
			}
			if d.Failed {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// Redeliver implements events.Store.
func (s *Bolt) Redeliver(ctx context.Context, eventID uint64, now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		var again []events.Delivery
		err := tx.Bucket(bucketDeliveries).ForEach(func(k, v []byte) error {
			var d events.Delivery
			if err := decode(bucketDeliveries, k, v, &d); err != nil {
				return err
			}
			if d.Failed && (eventID == 0 || d.EventID == eventID) {
				d.Failed, d.Attempt, d.Due, d.Claim, d.LastError = false, 0, now, time.Time{}, ""
				again = append(again, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if eventID != 0 {
			raw := tx.Bucket(bucketEventLog).Get(u64(eventID))
			if raw == nil {
				return events.ErrNotFound
			}
			var e events.Event
			if err := decode(bucketEventLog, u64(eventID), raw, &e); err != nil {
				return err
			}
			// The webhooks whose feeds have passed it, with no delivery of it (a dead letter
			// is in again).
			feeds, deliveries := tx.Bucket(bucketEventFeeds), tx.Bucket(bucketDeliveries)
			for _, endpoint := range s.events.TakenBy(e.Type) {
				d := events.Resent(endpoint, e, now)
				if cursor := feeds.Get([]byte(endpoint)); len(cursor) < 8 || binary.BigEndian.Uint64(cursor) < eventID || deliveries.Get(deliveryKey(&d)) != nil {
					continue
				}
				again = append(again, d)
			}
		}
		for i := range again {
			if err := putDelivery(tx, &again[i]); err != nil {
				return err
			}
		}
		n = len(again)
		return nil
	})
	return n, err
}

// PruneEvents implements events.Store.
func (s *Bolt) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		waiting := map[uint64]bool{}
		if err := tx.Bucket(bucketDeliveries).ForEach(func(k, v []byte) error {
			var d events.Delivery
			if err := decode(bucketDeliveries, k, v, &d); err != nil {
				return err
			}
			waiting[d.EventID] = true
			return nil
		}); err != nil {
			return err
		}
		// Nor what a feed moved since before has yet to pass (a feed left still longer, of a
		// webhook no longer configured, holds nothing back).
		keep := uint64(math.MaxUint64)
		if err := tx.Bucket(bucketEventFeeds).ForEach(func(k, v []byte) error {
			if len(v) == 16 && int64(binary.BigEndian.Uint64(v[8:])) >= before.UnixNano() {
				keep = min(keep, binary.BigEndian.Uint64(v))
			}
			return nil
		}); err != nil {
			return err
		}
		log := tx.Bucket(bucketEventLog)
		var old [][]byte
		c := log.Cursor()
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= keep; k, v = c.Next() {
			var e events.Event
			if err := decode(bucketEventLog, k, v, &e); err != nil {
				return err
			}
			if !e.At.Before(before) {
				break // ids follow time
			}
			if !waiting[e.ID] {
				old = append(old, bytes.Clone(k))
			}
		}
		for _, k := range old {
			if err := log.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}

// rekeyDeliveries moves the deliveries of a store of schema 17 (keyed by endpoint, subject and
// seq) to their keys by event id.
func rekeyDeliveries(tx *bolt.Tx) error {
	b := tx.Bucket(bucketDeliveries)
	var old [][]byte
	var all []events.Delivery
	if err := b.ForEach(func(k, v []byte) error {
		var d events.Delivery
		if err := decode(bucketDeliveries, k, v, &d); err != nil {
			return err
		}
		old, all = append(old, bytes.Clone(k)), append(all, d)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for i := range all {
		if err := putDelivery(tx, &all[i]); err != nil {
			return err
		}
	}
	return nil
}
