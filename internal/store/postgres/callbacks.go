package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/callback"
)

var _ callback.Queue = (*Store)(nil)

// Callbacks. Every replica's dispatcher reads the one queue; a delivery starts only after its
// dispatcher claimed the item (ClaimCallback: a conditional update, so two replicas never both
// win it), and the claim lapses when the replica dies mid-delivery, so another retries it.

// enqueueCallback queues (or re-queues, from attempt 0, unclaimed) the callback of a resource.
func enqueueCallback(b base, kind, id string, at time.Time) error {
	raw, err := body(callback.Item{Kind: kind, ID: id, Due: at})
	if err != nil {
		return err
	}
	return b.exec(`INSERT INTO callbacks (kind, id, due_ns, claimed_until, body) VALUES ($1, $2, $3, 0, $4)
		ON CONFLICT (kind, id) DO UPDATE SET due_ns = excluded.due_ns, claimed_until = 0, body = excluded.body`,
		kind, id, ns(at), raw)
}

// DueCallbacks implements callback.Queue: the due items no live claim holds, oldest due first.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, limit int) ([]callback.Item, error) {
	var out []callback.Item
	err := s.one(ctx, func(b base) error {
		items, err := listJSON[callback.Item](b, "callbacks", `SELECT body, kind || '/' || id FROM callbacks
			WHERE due_ns <= $1 AND claimed_until <= $1 ORDER BY due_ns LIMIT $2`, now.UnixNano(), limit)
		for _, it := range items {
			out = append(out, *it)
		}
		return err
	})
	slices.SortStableFunc(out, func(a, b callback.Item) int { return a.Due.Compare(b.Due) })
	return out, err
}

// ClaimCallback implements callback.Queue: it takes the item for this replica until until,
// provided it is still queued as it was and no other claim holds it.
func (s *Store) ClaimCallback(ctx context.Context, it callback.Item, now, until time.Time) (bool, error) {
	var won bool
	err := s.update(ctx, func(b base) error {
		cur, err := currentCallback(b, it)
		if err != nil || cur == nil || cur.Attempt != it.Attempt || !cur.Due.Equal(it.Due) {
			won = false
			return err
		}
		tag, err := b.execNow("UPDATE callbacks SET claimed_until = $3 WHERE kind = $1 AND id = $2 AND claimed_until <= $4",
			it.Kind, it.ID, until.UnixNano(), now.UnixNano())
		won = tag.RowsAffected() == 1
		return err
	})
	return won, err
}

func currentCallback(b base, it callback.Item) (*callback.Item, error) {
	var cur callback.Item
	err := b.getJSON("callbacks", it.Kind+"/"+it.ID, &cur, pgx.ErrNoRows,
		"SELECT body FROM callbacks WHERE kind = $1 AND id = $2 FOR UPDATE", it.Kind, it.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &cur, err
}

// FinishCallback implements callback.Queue: prev is replaced by next (removed when nil) only if
// it is still queued as it was; an item queued again meanwhile is kept.
func (s *Store) FinishCallback(ctx context.Context, prev callback.Item, next *callback.Item) error {
	return s.update(ctx, func(b base) error {
		cur, err := currentCallback(b, prev)
		if err != nil || cur == nil || cur.Attempt != prev.Attempt || !cur.Due.Equal(prev.Due) {
			return err
		}
		if next == nil {
			return b.exec("DELETE FROM callbacks WHERE kind = $1 AND id = $2", prev.Kind, prev.ID)
		}
		raw, err := body(next)
		if err != nil {
			return err
		}
		return b.exec("UPDATE callbacks SET due_ns = $3, claimed_until = 0, body = $4 WHERE kind = $1 AND id = $2",
			prev.Kind, prev.ID, ns(next.Due), raw)
	})
}
