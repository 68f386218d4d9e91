package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var _ treasury.Store = (*Bolt)(nil)

var (
	bucketTreasuryOps       = []byte("treasury_ops")       // action id → treasury.Op JSON
	bucketTreasuryCursors   = []byte("treasury_cursors")   // account → payments cursor
	bucketTreasuryUnmatched = []byte("treasury_unmatched") // paging token → treasury.Unmatched JSON
	bucketTreasuryProposals = []byte("treasury_proposals") // action id → treasury.Proposal JSON (two-person rule)
	// The unmatched payments newest first (payment list reads only its page): recorded-at (8
	// bytes, unix ns, big-endian) ‖ account/token → "".
	bucketTreasuryUnmatchedByTime = []byte("treasury_unmatched_by_time")
	// The last reconcile (schema 20): "last" → treasury.ReconcileRun JSON.
	bucketTreasuryReconcile = []byte("treasury_reconcile")
)

var keyLastReconcile = []byte("last")

// Ops implements treasury.Store.
func (s *Bolt) Ops(ctx context.Context) ([]treasury.Op, error) {
	var out []treasury.Op
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTreasuryOps).ForEach(func(k, v []byte) error {
			var op treasury.Op
			if err := decode(bucketTreasuryOps, k, v, &op); err != nil {
				return err
			}
			out = append(out, op)
			return nil
		})
	})
	return out, err
}

// UnmatchedPayments implements treasury.Store.
func (s *Bolt) UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error) {
	out := []treasury.Unmatched{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTreasuryUnmatched).ForEach(func(k, v []byte) error {
			var u treasury.Unmatched
			if err := decode(bucketTreasuryUnmatched, k, v, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b treasury.Unmatched) int { return b.At.Compare(a.At) })
	return out, err
}

// TreasuryUpdate implements treasury.Store: one write transaction over actions and SEP-6
// transactions (not batched: each action's record is committed before it is submitted).
func (s *Bolt) TreasuryUpdate(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(s.events.Treasury(opTx{tx}, transferTx{tx, s.keys})) })
}

// TreasuryView implements treasury.Store.
func (s *Bolt) TreasuryView(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(opTx{tx}, transferTx{tx, s.keys}) })
}

type opTx struct{ tx *bolt.Tx }

func (o opTx) Op(id string) (*treasury.Op, error) {
	var op treasury.Op
	if err := getJSON(o.tx, bucketTreasuryOps, []byte(id), &op, treasury.ErrNotFound); err != nil {
		return nil, err
	}
	return &op, nil
}

func (o opTx) PutOp(op *treasury.Op) error {
	return putJSON(o.tx.Bucket(bucketTreasuryOps), []byte(op.ID), op)
}

func (o opTx) Cursor(account string) (string, error) {
	return string(o.tx.Bucket(bucketTreasuryCursors).Get([]byte(account))), nil
}

func (o opTx) PutCursor(account, cursor string) error {
	return o.tx.Bucket(bucketTreasuryCursors).Put([]byte(account), []byte(cursor))
}

func (o opTx) PutUnmatched(u *treasury.Unmatched) error {
	key := []byte(u.Account + "/" + u.PagingToken)
	if err := putJSON(o.tx.Bucket(bucketTreasuryUnmatched), key, u); err != nil {
		return err
	}
	// Its time never changes (a settlement keeps it): the same index key.
	return o.tx.Bucket(bucketTreasuryUnmatchedByTime).Put(unmatchedTimeKey(u.At, key), nil)
}

func unmatchedTimeKey(at time.Time, key []byte) []byte {
	n := at.UnixNano()
	if at.IsZero() || n < 0 {
		n = 0
	}
	return append(binary.BigEndian.AppendUint64(nil, uint64(n)), key...)
}

// indexUnmatched fills the time index from the recorded payments (schema 14).
func indexUnmatched(tx *bolt.Tx) error {
	idx := tx.Bucket(bucketTreasuryUnmatchedByTime)
	return tx.Bucket(bucketTreasuryUnmatched).ForEach(func(k, v []byte) error {
		var u treasury.Unmatched
		if err := decode(bucketTreasuryUnmatched, k, v, &u); err != nil {
			return err
		}
		return idx.Put(unmatchedTimeKey(u.At, k), nil)
	})
}

// EachUnmatched implements treasury.Store: recorded payments newest first, read a chunk at a
// time (eachNewest).
func (s *Bolt) EachUnmatched(ctx context.Context, fn func(*treasury.Unmatched) bool) error {
	return eachNewest(ctx, s.db, bucketTreasuryUnmatchedByTime, func(tx *bolt.Tx, k []byte) (*treasury.Unmatched, error) {
		var u treasury.Unmatched
		v := tx.Bucket(bucketTreasuryUnmatched).Get(k[8:])
		if v == nil {
			return nil, fmt.Errorf("%w: %s entry %q names no payment", ErrCorrupt, bucketTreasuryUnmatchedByTime, k[8:])
		}
		err := decode(bucketTreasuryUnmatched, k[8:], v, &u)
		return &u, err
	}, fn)
}

// UnmatchedAt implements treasury.OpTx: the payment account received with this token.
func (o opTx) UnmatchedAt(account, token string) (*treasury.Unmatched, error) {
	key := []byte(account + "/" + token)
	v := o.tx.Bucket(bucketTreasuryUnmatched).Get(key)
	if v == nil {
		return nil, treasury.ErrPaymentNotFound
	}
	var u treasury.Unmatched
	if err := decode(bucketTreasuryUnmatched, key, v, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Unmatched finds a payment by its paging token, unique across accounts; the bucket is keyed
// account/token, and unmatched payments are few, so it is a scan of keys only.
func (o opTx) Unmatched(token string) (*treasury.Unmatched, error) {
	c := o.tx.Bucket(bucketTreasuryUnmatched).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if _, t, ok := bytes.Cut(k, []byte("/")); ok && string(t) == token {
			var u treasury.Unmatched
			if err := decode(bucketTreasuryUnmatched, k, v, &u); err != nil {
				return nil, err
			}
			return &u, nil
		}
	}
	return nil, treasury.ErrPaymentNotFound
}

func (o opTx) Proposal(id string) (*treasury.Proposal, error) {
	var p treasury.Proposal
	if err := getJSON(o.tx, bucketTreasuryProposals, []byte(id), &p, treasury.ErrNoProposal); err != nil {
		return nil, err
	}
	return &p, nil
}

func (o opTx) PutProposal(p *treasury.Proposal) error {
	return putJSON(o.tx.Bucket(bucketTreasuryProposals), []byte(p.ID), p)
}

func (o opTx) LastReconcile() (*treasury.ReconcileRun, error) {
	raw := o.tx.Bucket(bucketTreasuryReconcile).Get(keyLastReconcile)
	if raw == nil {
		return nil, nil
	}
	var r treasury.ReconcileRun
	if err := decode(bucketTreasuryReconcile, keyLastReconcile, raw, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (o opTx) PutLastReconcile(r *treasury.ReconcileRun) error {
	return putJSON(o.tx.Bucket(bucketTreasuryReconcile), keyLastReconcile, r)
}

// Proposals implements treasury.Store: every proposal, oldest first.
func (s *Bolt) Proposals(ctx context.Context) ([]treasury.Proposal, error) {
	out := []treasury.Proposal{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTreasuryProposals).ForEach(func(k, v []byte) error {
			var p treasury.Proposal
			if err := decode(bucketTreasuryProposals, k, v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b treasury.Proposal) int { return a.ProposedAt.Compare(b.ProposedAt) })
	return out, err
}
