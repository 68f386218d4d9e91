package postgres

import (
	"context"

	"github.com/anchorkit/anchor/internal/quotes"
)

var _ quotes.Store = (*Store)(nil)

// PutQuote implements quotes.Store.
func (s *Store) PutQuote(ctx context.Context, q *quotes.Quote) error {
	raw, err := body(q)
	if err != nil {
		return err
	}
	return s.update(ctx, func(b base) error {
		return b.exec("INSERT INTO quotes (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body", q.ID, raw)
	})
}

// Quote implements quotes.Store.
func (s *Store) Quote(ctx context.Context, id string) (*quotes.Quote, error) {
	var q quotes.Quote
	err := s.one(ctx, func(b base) error {
		return b.getJSON("quotes", id, &q, quotes.ErrNotFound, "SELECT body FROM quotes WHERE id = $1", id)
	})
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// EachQuote implements quotes.Lister.
func (s *Store) EachQuote(ctx context.Context, fn func(*quotes.Quote) bool) error {
	var list []*quotes.Quote
	err := s.one(ctx, func(b base) error {
		var err error
		list, err = listJSON[quotes.Quote](b, "quotes", "SELECT body, id FROM quotes")
		return err
	})
	for _, q := range list {
		if !fn(q) {
			break
		}
	}
	return err
}
