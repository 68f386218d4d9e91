package postgres

import (
	"context"
	"errors"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var _ treasury.Store = (*Store)(nil)

// TreasuryUpdate implements treasury.Store: one transaction over actions and transactions, so
// an action and the status of the transaction it serves change together.
func (s *Store) TreasuryUpdate(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	return s.update(ctx, func(b base) error { return fn(s.events.Treasury(opTx{b}, transferTx{b})) })
}

// TreasuryView implements treasury.Store.
func (s *Store) TreasuryView(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error {
	return s.view(ctx, func(b base) error { return fn(opTx{b}, transferTx{b}) })
}

// values runs a listing query in a snapshot and returns its records (never nil).
func values[T any](ctx context.Context, s *Store, table, sql string) ([]T, error) {
	out := []T{}
	err := s.one(ctx, func(b base) error {
		vs, err := listJSON[T](b, table, sql)
		for _, v := range vs {
			out = append(out, *v)
		}
		return err
	})
	return out, err
}

// Ops implements treasury.Store.
func (s *Store) Ops(ctx context.Context) ([]treasury.Op, error) {
	return values[treasury.Op](ctx, s, "treasury_ops", "SELECT body, id FROM treasury_ops ORDER BY id")
}

// Proposals implements treasury.Store, oldest first.
func (s *Store) Proposals(ctx context.Context) ([]treasury.Proposal, error) {
	return values[treasury.Proposal](ctx, s, "treasury_proposals", "SELECT body, id FROM treasury_proposals ORDER BY proposed_ns, id")
}

// UnmatchedPayments implements treasury.Store, newest first.
func (s *Store) UnmatchedPayments(ctx context.Context) ([]treasury.Unmatched, error) {
	return values[treasury.Unmatched](ctx, s, "treasury_unmatched",
		"SELECT body, account || '/' || token FROM treasury_unmatched ORDER BY at_ns DESC, account DESC, token DESC")
}

// EachUnmatched implements treasury.Store: newest first, a page at a time.
func (s *Store) EachUnmatched(ctx context.Context, fn func(*treasury.Unmatched) bool) error {
	return eachNewest(ctx, s, `SELECT at_ns, account, token, body FROM treasury_unmatched
		WHERE (at_ns, account, token) < ($2, $3, $4) ORDER BY at_ns DESC, account DESC, token DESC LIMIT $1`,
		[]any{int64(math.MaxInt64), "", ""}, func(rows pgx.Rows) (*treasury.Unmatched, []any, error) {
			var n int64
			var account, token string
			var raw []byte
			if err := rows.Scan(&n, &account, &token, &raw); err != nil {
				return nil, nil, err
			}
			var u treasury.Unmatched
			return &u, []any{n, account, token}, decode("treasury_unmatched", account+"/"+token, raw, &u)
		}, fn)
}

// opTx implements treasury.OpTx.
type opTx struct{ base }

func (o opTx) Op(id string) (*treasury.Op, error) {
	var op treasury.Op
	if err := o.getJSON("treasury_ops", id, &op, treasury.ErrNotFound, "SELECT body FROM treasury_ops WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &op, nil
}

func (o opTx) PutOp(op *treasury.Op) error {
	raw, err := body(op)
	if err != nil {
		return err
	}
	return o.exec("INSERT INTO treasury_ops (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body", op.ID, raw)
}

func (o opTx) Cursor(account string) (string, error) {
	c, err := o.text(nil, "SELECT cursor FROM treasury_cursors WHERE account = $1", account)
	return c, err
}

func (o opTx) PutCursor(account, cursor string) error {
	return o.exec(`INSERT INTO treasury_cursors (account, cursor) VALUES ($1, $2)
		ON CONFLICT (account) DO UPDATE SET cursor = excluded.cursor`, account, cursor)
}

func (o opTx) LastReconcile() (*treasury.ReconcileRun, error) {
	var r treasury.ReconcileRun
	if err := o.getJSON("treasury_reconcile", "last", &r, errNoRun, "SELECT body FROM treasury_reconcile WHERE name = 'last'"); errors.Is(err, errNoRun) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &r, nil
}

// errNoRun is LastReconcile's not-found, which it answers with nil.
var errNoRun = errors.New("no reconcile has run")

func (o opTx) PutLastReconcile(r *treasury.ReconcileRun) error {
	raw, err := body(r)
	if err != nil {
		return err
	}
	return o.exec(`INSERT INTO treasury_reconcile (name, body) VALUES ('last', $1)
		ON CONFLICT (name) DO UPDATE SET body = excluded.body`, raw)
}

func (o opTx) PutUnmatched(u *treasury.Unmatched) error {
	raw, err := body(u)
	if err != nil {
		return err
	}
	// Its time never changes (a settlement keeps it).
	return o.exec(`INSERT INTO treasury_unmatched (account, token, at_ns, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, token) DO UPDATE SET body = excluded.body`, u.Account, u.PagingToken, ns(u.At), raw)
}

func (o opTx) Unmatched(token string) (*treasury.Unmatched, error) {
	var u treasury.Unmatched
	if err := o.getJSON("treasury_unmatched", token, &u, treasury.ErrPaymentNotFound,
		"SELECT body FROM treasury_unmatched WHERE token = $1 ORDER BY account LIMIT 1", token); err != nil {
		return nil, err
	}
	return &u, nil
}

func (o opTx) UnmatchedAt(account, token string) (*treasury.Unmatched, error) {
	var u treasury.Unmatched
	if err := o.getJSON("treasury_unmatched", account+"/"+token, &u, treasury.ErrPaymentNotFound,
		"SELECT body FROM treasury_unmatched WHERE account = $1 AND token = $2", account, token); err != nil {
		return nil, err
	}
	return &u, nil
}

func (o opTx) Proposal(id string) (*treasury.Proposal, error) {
	var p treasury.Proposal
	if err := o.getJSON("treasury_proposals", id, &p, treasury.ErrNoProposal, "SELECT body FROM treasury_proposals WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &p, nil
}

func (o opTx) PutProposal(p *treasury.Proposal) error {
	raw, err := body(p)
	if err != nil {
		return err
	}
	return o.exec(`INSERT INTO treasury_proposals (id, proposed_ns, body) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body`, p.ID, ns(p.ProposedAt), raw)
}
