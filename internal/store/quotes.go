package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/quotes"
)

var _ quotes.Store = (*Bolt)(nil)

var bucketQuotes = []byte("quotes") // id → quotes.Quote JSON

// PutQuote implements quotes.Store (concurrent quotes share a commit).
func (s *Bolt) PutQuote(ctx context.Context, q *quotes.Quote) error {
	raw, err := json.Marshal(q)
	if err != nil {
		return err
	}
	return s.commits.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketQuotes).Put([]byte(q.ID), raw) })
}

// Quote implements quotes.Store.
func (s *Bolt) Quote(ctx context.Context, id string) (*quotes.Quote, error) {
	var q quotes.Quote
	if err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx, bucketQuotes, []byte(id), &q, quotes.ErrNotFound) }); err != nil {
		return nil, err
	}
	return &q, nil
}

// EachQuote implements quotes.Lister.
func (s *Bolt) EachQuote(ctx context.Context, fn func(*quotes.Quote) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQuotes).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var q quotes.Quote
			if err := json.Unmarshal(v, &q); err != nil {
				return fmt.Errorf("quote %s: %w", k, err)
			}
			if !fn(&q) {
				return nil
			}
		}
		return nil
	})
}
