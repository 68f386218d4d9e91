package postgres

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/pkg/sep10"
)

var _ transfer.Store = (*Store)(nil)

// TransferUpdate implements transfer.Store.
func (s *Store) TransferUpdate(ctx context.Context, fn func(transfer.Tx) error) error {
	return s.update(ctx, func(b base) error { return fn(s.events.Transfer(transferTx{b})) })
}

// TransferView implements transfer.Store.
func (s *Store) TransferView(ctx context.Context, fn func(transfer.Tx) error) error {
	return s.view(ctx, func(b base) error { return fn(transferTx{b}) })
}

func scanTransfer(rows pgx.Rows) (*transfer.Transaction, []any, error) {
	var n int64
	var id string
	var raw []byte
	if err := rows.Scan(&n, &id, &raw); err != nil {
		return nil, nil, err
	}
	var t transfer.Transaction
	return &t, []any{n, id}, decode("transfers", id, raw, &t)
}

// Owned implements transfer.Store, newest first.
func (s *Store) Owned(ctx context.Context, account, memo string, fn func(*transfer.Transaction) bool) error {
	return eachNewest(ctx, s, `SELECT started_ns, id, body FROM transfers
		WHERE account = $4 AND memo = $5 AND (started_ns, id) < ($2, $3)
		ORDER BY started_ns DESC, id DESC LIMIT $1`,
		[]any{int64(math.MaxInt64), "", account, memo}, func(rows pgx.Rows) (*transfer.Transaction, []any, error) {
			t, cursor, err := scanTransfer(rows)
			return t, append(cursor, account, memo), err
		}, fn)
}

// AllTransfers implements transfer.Store, newest first.
func (s *Store) AllTransfers(ctx context.Context, fn func(*transfer.Transaction) bool) error {
	return eachNewest(ctx, s, `SELECT started_ns, id, body FROM transfers WHERE (started_ns, id) < ($2, $3)
		ORDER BY started_ns DESC, id DESC LIMIT $1`, []any{int64(math.MaxInt64), ""}, scanTransfer, fn)
}

// TransferIDsWithPrefix implements transfer.Store.
func (s *Store) TransferIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(ctx, "transfers", prefix, limit)
}

// DueExpiries implements transfer.Store: only what is due is read (transfers_expiry).
func (s *Store) DueExpiries(ctx context.Context, now time.Time, fn func(id string) bool) error {
	rows, err := s.pool.Query(ctx, `SELECT id FROM transfers WHERE expires_ns IS NOT NULL AND expires_ns <= $1
		ORDER BY expires_ns, id`, now.UnixNano())
	if err != nil {
		return classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return classify(err)
	}
	for _, id := range ids {
		if !fn(id) {
			return nil
		}
	}
	return ctx.Err()
}

// WaitingForKYC implements transfer.Store.
func (s *Store) WaitingForKYC(ctx context.Context, account, memo string, fn func(*transfer.Transaction) bool) error {
	var trs []*transfer.Transaction
	err := s.one(ctx, func(b base) error {
		var err error
		trs, err = listJSON[transfer.Transaction](b, "transfers", `SELECT body, id FROM transfers
			WHERE kyc_wait AND account = $1 AND memo = $2 ORDER BY id`, account, memo)
		return err
	})
	if err != nil {
		return err
	}
	for _, t := range trs {
		if !fn(t) {
			return nil
		}
	}
	return nil
}

// ChangedCustomers implements transfer.Store.
func (s *Store) ChangedCustomers(ctx context.Context, limit int) ([]transfer.Changed, error) {
	rows, err := s.pool.Query(ctx, "SELECT account, memo, mark FROM kyc_changed ORDER BY account, memo LIMIT $1", limit)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (transfer.Changed, error) {
		var c transfer.Changed
		err := r.Scan(&c.Account, &c.Memo, &c.Mark)
		return c, err
	})
	return out, classify(err)
}

// DoneChanged implements transfer.Store: entries changed again meanwhile stay.
func (s *Store) DoneChanged(ctx context.Context, done []transfer.Changed) error {
	if len(done) == 0 {
		return nil
	}
	return s.update(ctx, func(b base) error {
		for _, c := range done {
			if err := b.exec("DELETE FROM kyc_changed WHERE account = $1 AND memo = $2 AND mark = $3", c.Account, c.Memo, c.Mark); err != nil {
				return err
			}
		}
		return nil
	})
}

// transferTx implements transfer.Tx.
type transferTx struct{ base }

func (t transferTx) Get(id string) (*transfer.Transaction, error) {
	var tr transfer.Transaction
	if err := t.getJSON("transfers", id, &tr, transfer.ErrNotFound, "SELECT body FROM transfers WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &tr, nil
}

// Put writes tr and what it is looked up by.
func (t transferTx) Put(tr *transfer.Transaction) error {
	tr.V = 1
	raw, err := body(tr)
	if err != nil {
		return err
	}
	var expires *int64
	if at, ok := store.ExpiresAt(tr); ok {
		n := at.UnixNano()
		expires = &n
	}
	if err := t.exec(`INSERT INTO transfers (id, account, memo, base_account, started_ns, open, expires_ns, kyc_wait, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET account = excluded.account, memo = excluded.memo, base_account = excluded.base_account,
			started_ns = excluded.started_ns, open = excluded.open, expires_ns = excluded.expires_ns,
			kyc_wait = excluded.kyc_wait, body = excluded.body`,
		tr.ID, tr.Account, tr.Memo, sep10.BaseAccount(tr.Account), ns(tr.StartedAt), !transfer.Terminal(tr.Status),
		expires, store.WaitsForKYC(tr), raw); err != nil {
		return err
	}
	if tr.StellarTransactionID != "" {
		if err := t.exec(`INSERT INTO transfer_stellar_ids (hash, id) VALUES ($1, $2)
			ON CONFLICT (hash) DO UPDATE SET id = excluded.id`, tr.StellarTransactionID, tr.ID); err != nil {
			return err
		}
	}
	if tr.ExternalTransactionID != "" {
		return t.exec(`INSERT INTO transfer_external_ids (ref, id) VALUES ($1, $2)
			ON CONFLICT (ref) DO UPDATE SET id = excluded.id`, tr.ExternalTransactionID, tr.ID)
	}
	return nil
}

// owned is the owner's transactions, in this transaction.
func (t transferTx) owned(account, memo string) ([]*transfer.Transaction, error) {
	return listJSON[transfer.Transaction](t.base, "transfers",
		"SELECT body, id FROM transfers WHERE account = $1 AND memo = $2 ORDER BY started_ns, id", account, memo)
}

func (t transferTx) ByStellarID(hash string) (string, error) {
	return t.text(transfer.ErrNotFound, "SELECT id FROM transfer_stellar_ids WHERE hash = $1", hash)
}

func (t transferTx) ByExternalID(ref string) (string, error) {
	return t.text(transfer.ErrNotFound, "SELECT id FROM transfer_external_ids WHERE ref = $1", ref)
}

// ReserveMemo implements transfer.Tx: the primary key, not a prior look-up, makes it unique
// across replicas.
// ClaimFreshMemo implements transfer.Tx: queued with the transaction's other writes; a memo
// already taken is a unique violation at the commit, and the transaction runs again (update)
// with a new draw.
func (t transferTx) ClaimFreshMemo(namespace, memo, txID string) error {
	return t.exec("INSERT INTO transfer_memos (namespace, memo, id) VALUES ($1, $2, $3)", namespace, memo, txID)
}

func (t transferTx) ReserveMemo(namespace, memo, txID string) (bool, error) {
	tag, err := t.execNow(`INSERT INTO transfer_memos (namespace, memo, id) VALUES ($1, $2, $3)
		ON CONFLICT (namespace, memo) DO NOTHING`, namespace, memo, txID)
	return tag.RowsAffected() == 1, err
}

func (t transferTx) MemoOwner(namespace, memo string) (string, error) {
	return t.text(transfer.ErrNotFound, "SELECT id FROM transfer_memos WHERE namespace = $1 AND memo = $2", namespace, memo)
}

// Customer implements transfer.Tx, in the same database transaction (nil when there is none).
func (t transferTx) Customer(account, memo string) (*kyc.Customer, error) {
	return store.CustomerOf(kycTx(t), account, memo)
}

func (t transferTx) OpenTransactions(account string) (int, error) {
	var n int
	err := t.queryRow("SELECT count(*) FROM transfers WHERE base_account = $1 AND open", sep10.BaseAccount(account)).Scan(&n)
	return n, err
}

func (t transferTx) EnqueueDoneCallback(id string, at time.Time) error {
	return enqueueCallback(t.base, transfer.DoneCallbackKind, id, at)
}

func (t transferTx) EnqueueCallback(id string, at time.Time) error {
	return enqueueCallback(t.base, transfer.CallbackKind, id, at)
}
