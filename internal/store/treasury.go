package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var _ treasury.Store = (*Bolt)(nil)

var bucketTreasuryOps = []byte("treasury_ops") // action id → treasury.Op JSON

// TreasuryUpdate implements treasury.Store: one write transaction over actions and SEP-6
// transactions (not batched: each action's record is committed before it is submitted).
func (s *Bolt) TreasuryUpdate(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(opTx{tx}, transferTx{tx}) })
}

// TreasuryView implements treasury.Store.
func (s *Bolt) TreasuryView(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(opTx{tx}, transferTx{tx}) })
}

type opTx struct{ tx *bolt.Tx }

func (o opTx) Op(id string) (*treasury.Op, error) {
	var op treasury.Op
	if err := getJSON(o.tx.Bucket(bucketTreasuryOps), []byte(id), &op); err != nil {
		return nil, treasury.ErrNotFound
	}
	return &op, nil
}

func (o opTx) PutOp(op *treasury.Op) error {
	return putJSON(o.tx.Bucket(bucketTreasuryOps), []byte(op.ID), op)
}
