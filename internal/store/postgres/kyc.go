package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/pkg/sep10"
)

var _ kyc.Store = (*Store)(nil)

// Personal data on PostgreSQL is plain rows: an erased customer's rows are deleted in the
// transaction that erases it, and PostgreSQL reclaims their space (VACUUM). Encryption at rest is
// the database's (disk or tablespace encryption); docs/scale-out.md says so. The bbolt store's
// per-record keys exist because bbolt keeps freed pages as they were.

// KYCUpdate implements kyc.Store.
func (s *Store) KYCUpdate(ctx context.Context, fn func(kyc.Tx) error) error {
	return s.update(ctx, func(b base) error { return fn(s.events.KYC(kycTx{b})) })
}

// KYCView implements kyc.Store.
func (s *Store) KYCView(ctx context.Context, fn func(kyc.Tx) error) error {
	return s.view(ctx, func(b base) error { return fn(kycTx{b}) })
}

// Customers implements kyc.Store: the most recently updated first.
func (s *Store) Customers(ctx context.Context, fn func(*kyc.Customer) bool) error {
	return s.customersBy(ctx, "", fn)
}

// CustomersInReview implements kyc.Store: the review queue, most recently updated first.
func (s *Store) CustomersInReview(ctx context.Context, fn func(*kyc.Customer) bool) error {
	return s.customersBy(ctx, "o.in_review AND ", fn)
}

func (s *Store) customersBy(ctx context.Context, where string, fn func(*kyc.Customer) bool) error {
	sql := `SELECT o.updated_ns, o.id, c.body FROM kyc_customer_order o JOIN kyc_customers c ON c.id = o.id
		WHERE ` + where + `(o.updated_ns, o.id) < ($2, $3) ORDER BY o.updated_ns DESC, o.id DESC LIMIT $1`
	return eachNewest(ctx, s, sql, []any{int64(math.MaxInt64), ""}, func(rows pgx.Rows) (*kyc.Customer, []any, error) {
		var n int64
		var id string
		var raw []byte
		if err := rows.Scan(&n, &id, &raw); err != nil {
			return nil, nil, err
		}
		var c kyc.Customer
		return &c, []any{n, id}, decode("kyc_customers", id, raw, &c)
	}, fn)
}

// Events implements kyc.Store.
func (s *Store) Events(ctx context.Context, customerID string) ([]kyc.Event, error) {
	var out []kyc.Event
	err := s.view(ctx, func(b base) error {
		var err error
		out, err = kycTx{b}.Events(customerID)
		return err
	})
	return out, err
}

// CustomerIDsWithPrefix implements kyc.Store.
func (s *Store) CustomerIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(ctx, "kyc_customers", prefix, limit)
}

// WipeErasedKeys implements kyc.Store: nothing is sealed here, so there is nothing to wipe (an
// erasure deletes the rows themselves).
func (s *Store) WipeErasedKeys(context.Context) error { return nil }

// kycTx implements kyc.Tx.
type kycTx struct{ base }

func (t kycTx) Customer(id string) (*kyc.Customer, error) {
	var c kyc.Customer
	if raw, ok := t.st.prefetched[id]; ok {
		// Read with its key by CustomerID just before, in this transaction (one round trip).
		delete(t.st.prefetched, id)
		return &c, decode("kyc_customers", id, raw, &c)
	}
	if err := t.getJSON("kyc_customers", id, &c, kyc.ErrNotFound, "SELECT body FROM kyc_customers WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &c, nil
}

// CustomerID implements kyc.Tx. The customer's record comes with its id, for the Customer call
// that nearly always follows.
func (t kycTx) CustomerID(account, memo string) (string, error) {
	var id string
	var raw []byte
	err := t.queryRow(`SELECT k.id, c.body FROM kyc_customer_keys k LEFT JOIN kyc_customers c ON c.id = k.id
		WHERE k.account = $1 AND k.memo = $2`, account, memo).Scan(&id, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", kyc.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if raw != nil {
		if t.st.prefetched == nil {
			t.st.prefetched = map[string][]byte{}
		}
		t.st.prefetched[id] = raw
	}
	return id, nil
}

func (t kycTx) PutCustomer(c *kyc.Customer) error {
	delete(t.st.prefetched, c.ID)
	raw, err := body(c)
	if err != nil {
		return err
	}
	if err := t.exec(`INSERT INTO kyc_customers (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
		c.ID, raw); err != nil {
		return err
	}
	// Rows rewritten only when they change (an unchanged rewrite is a write other
	// transactions' reads conflict with).
	if err := t.exec(`INSERT INTO kyc_customer_order (id, updated_ns, in_review) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET updated_ns = excluded.updated_ns, in_review = excluded.in_review
		WHERE (kyc_customer_order.updated_ns, kyc_customer_order.in_review) IS DISTINCT FROM (excluded.updated_ns, excluded.in_review)`,
		c.ID, ns(c.UpdatedAt), store.InReview(c)); err != nil {
		return err
	}
	return t.exec(`INSERT INTO kyc_customer_keys (account, memo, id) VALUES ($1, $2, $3)
		ON CONFLICT (account, memo) DO UPDATE SET id = excluded.id WHERE kyc_customer_keys.id <> excluded.id`, c.Account, c.Memo, c.ID)
}

func (t kycTx) DeleteCustomer(c *kyc.Customer) error {
	delete(t.st.prefetched, c.ID)
	if err := store.DeleteFilesOf(t, c); err != nil {
		return err
	}
	// Nothing waits for an erased customer's change any more.
	if err := t.exec("DELETE FROM kyc_changed WHERE account = $1 AND memo = $2", c.Account, c.Memo); err != nil {
		return err
	}
	if err := t.exec("DELETE FROM kyc_customers WHERE id = $1", c.ID); err != nil {
		return err
	}
	if err := t.exec("DELETE FROM kyc_customer_order WHERE id = $1", c.ID); err != nil {
		return err
	}
	if err := t.exec("DELETE FROM callbacks WHERE kind = $1 AND id = $2", kyc.CallbackKind, c.ID); err != nil {
		return err
	}
	return t.exec("DELETE FROM kyc_customer_keys WHERE account = $1 AND memo = $2", c.Account, c.Memo)
}

// addBytes changes the file bytes stored by account's G... account, and in all ('*').
func (t kycTx) addBytes(account string, delta int64) error {
	for _, k := range []string{sep10.BaseAccount(account), "*"} {
		if err := t.exec(`INSERT INTO kyc_bytes (account, bytes) VALUES ($1, $2)
			ON CONFLICT (account) DO UPDATE SET bytes = kyc_bytes.bytes + excluded.bytes`, k, delta); err != nil {
			return err
		}
	}
	return nil
}

// PutFile stores f, and its contents unless data is nil (a metadata update).
func (t kycTx) PutFile(f *kyc.File, data []byte) error {
	raw, err := body(f)
	if err != nil {
		return err
	}
	if data != nil {
		var had bool
		err := t.queryRow("SELECT data IS NOT NULL FROM kyc_files WHERE id = $1", f.ID).Scan(&had)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if !had {
			if err := t.addBytes(f.Account, int64(len(data))); err != nil {
				return err
			}
		}
	}
	return t.exec(`INSERT INTO kyc_files (id, customer_id, account, memo, body, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, account = excluded.account, memo = excluded.memo,
			body = excluded.body, data = coalesce(excluded.data, kyc_files.data)`,
		f.ID, f.CustomerID, f.Account, f.Memo, raw, data)
}

func (t kycTx) PendingFiles(account, memo string) ([]*kyc.File, error) {
	return listJSON[kyc.File](t.base, "kyc_files", `SELECT body, id FROM kyc_files
		WHERE customer_id = '' AND account = $1 AND memo = $2 ORDER BY id`, account, memo)
}

func (t kycTx) File(id string) (*kyc.File, error) {
	var f kyc.File
	if err := t.getJSON("kyc_files", id, &f, kyc.ErrNotFound, "SELECT body FROM kyc_files WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &f, nil
}

func (t kycTx) FileData(id string) ([]byte, error) {
	var data []byte
	err := t.queryRow("SELECT data FROM kyc_files WHERE id = $1", id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && data == nil {
		return nil, kyc.ErrNotFound
	}
	return data, err
}

func (t kycTx) DeleteFile(id string) error {
	f, err := t.File(id)
	if errors.Is(err, kyc.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var had bool
	if err := t.queryRow("DELETE FROM kyc_files WHERE id = $1 RETURNING data IS NOT NULL", id).Scan(&had); err != nil {
		return err
	}
	if had {
		return t.addBytes(f.Account, -f.Size)
	}
	return nil
}

func (t kycTx) FilesOf(customerID string) ([]*kyc.File, error) {
	if customerID == "" {
		return nil, nil
	}
	return listJSON[kyc.File](t.base, "kyc_files", "SELECT body, id FROM kyc_files WHERE customer_id = $1 ORDER BY id", customerID)
}

// AppendEvent adds e under the next sequence number, which the seq column holds (the body's
// seq is 0: the insert is queued, not waited for). There is no way to change or remove an
// event.
func (t kycTx) AppendEvent(e *kyc.Event) error {
	e.V, e.Seq = 1, 0
	raw, err := body(e)
	if err != nil {
		return err
	}
	return t.exec("INSERT INTO kyc_events (customer_id, body) VALUES ($1, $2)", e.CustomerID, raw)
}

func (t kycTx) Events(customerID string) ([]kyc.Event, error) {
	rows, err := t.query("SELECT body, seq FROM kyc_events WHERE customer_id = $1 ORDER BY seq", customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []kyc.Event{}
	for rows.Next() {
		var raw []byte
		var seq int64
		if err := rows.Scan(&raw, &seq); err != nil {
			return nil, err
		}
		var e kyc.Event
		if err := decode("kyc_events", strconv.FormatInt(seq, 10), raw, &e); err != nil {
			return nil, err
		}
		e.Seq = uint64(seq)
		out = append(out, e)
	}
	return out, rows.Err()
}

// withEventSeq sets an event body's seq from its column (see AppendEvent).
func withEventSeq(raw []byte, seq string) ([]byte, error) {
	var e kyc.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(strings.TrimLeft(seq, "0"), 10, 64)
	if err != nil {
		return nil, err
	}
	e.Seq = n
	return json.Marshal(&e)
}

func (t kycTx) EnqueueCallback(customerID string, at time.Time) error {
	return enqueueCallback(t.base, kyc.CallbackKind, customerID, at)
}

func (t kycTx) PutTombstone(ts *kyc.Tombstone) error {
	raw, err := body(ts)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO kyc_tombstones (account, memo, customer_id, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, memo) DO UPDATE SET customer_id = excluded.customer_id, body = excluded.body`,
		ts.Account, ts.Memo, ts.CustomerID, raw)
}

func (t kycTx) Tombstone(account, memo string) (*kyc.Tombstone, error) {
	var ts kyc.Tombstone
	if err := t.getJSON("kyc_tombstones", account, &ts, kyc.ErrNotFound,
		"SELECT body FROM kyc_tombstones WHERE account = $1 AND memo = $2", account, memo); err != nil {
		return nil, err
	}
	return &ts, nil
}

// TombstoneOf implements kyc.Tx: a later rejection of the same account and memo replaced the
// row, and with it the customer id it answers to.
func (t kycTx) TombstoneOf(customerID string) (*kyc.Tombstone, error) {
	var ts kyc.Tombstone
	if err := t.getJSON("kyc_tombstones", customerID, &ts, kyc.ErrNotFound,
		"SELECT body FROM kyc_tombstones WHERE customer_id = $1 LIMIT 1", customerID); err != nil {
		return nil, err
	}
	return &ts, nil
}

func (t kycTx) StoredBytes(account string) (int64, int64, error) {
	var mine, all int64
	err := t.queryRow(`SELECT coalesce(sum(bytes) FILTER (WHERE account = $1), 0), coalesce(sum(bytes) FILTER (WHERE account = '*'), 0)
		FROM kyc_bytes WHERE account IN ($1, '*')`, sep10.BaseAccount(account)).Scan(&mine, &all)
	return mine, all, err
}

// ErasePersonalData implements kyc.Tx over the owner's transactions.
func (t kycTx) ErasePersonalData(account, memo string) (int, error) {
	trs, err := transferTx(t).owned(account, memo)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tr := range trs {
		if !store.ForgetPerson(tr) {
			continue
		}
		if err := transferTx(t).Put(tr); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// MarkChanged implements kyc.Tx: the owner goes into the journal the SEP-6 reconciler drains.
func (t kycTx) MarkChanged(account, memo string, at time.Time) error {
	return t.exec(`INSERT INTO kyc_changed (account, memo, mark) VALUES ($1, $2, $3)
		ON CONFLICT (account, memo) DO UPDATE SET mark = excluded.mark`,
		account, memo, binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
}
