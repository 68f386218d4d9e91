package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/pkg/sep10"
)

var _ transfer.Store = (*Bolt)(nil)

var (
	bucketTransfers        = []byte("sep6_transactions") // id → Transaction JSON
	bucketTransfersByOwner = []byte("sep6_by_owner")     // account \x00 memo \x00 started(8) id → ""
	bucketTransfersByTime  = []byte("sep6_by_time")      // started(8) id → ""
	bucketTransfersStellar = []byte("sep6_by_stellar")   // stellar tx hash → id
	bucketTransfersExt     = []byte("sep6_by_external")  // external id → id
	bucketTransferMemos    = []byte("sep6_memos")        // namespace \x00 memo → id
	bucketTransfersWaiting = []byte("sep6_waiting")      // (schema < 8) id → "" while waiting
	bucketTransfersExpiry  = []byte("sep6_expiry")       // deadline(8) id → "" while it can expire
	bucketTransfersKYCWait = []byte("sep6_kyc_waiting")  // account \x00 memo \x00 id → "" in pending_customer_info_update
	bucketKYCChanged       = []byte("kyc_changed")       // account \x00 memo → change time(8): to look at
	bucketTransfersOpen    = []byte("sep6_open")         // G... account → count of unfinished transactions (8 bytes)
)

// TransferUpdate implements transfer.Store (batched, so fn may run more than once).
func (s *Bolt) TransferUpdate(ctx context.Context, fn func(transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.commits.update(func(tx *bolt.Tx) error { return fn(s.events.Transfer(transferTx{tx, s.keys})) })
}

// TransferView implements transfer.Store.
func (s *Bolt) TransferView(ctx context.Context, fn func(transfer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(transferTx{tx, s.keys}) })
}

// Owned implements transfer.Store.
func (s *Bolt) Owned(ctx context.Context, account, memo string, fn func(*transfer.Transaction) bool) error {
	prefix := append(customerKey(account, memo), 0)
	return s.db.View(func(tx *bolt.Tx) error {
		return scanDesc(tx.Bucket(bucketTransfersByOwner), prefix, func(k []byte) (bool, error) {
			return visit(tx, string(k[len(prefix)+8:]), fn)
		})
	})
}

// AllTransfers implements transfer.Store, newest first (eachNewest).
func (s *Bolt) AllTransfers(ctx context.Context, fn func(*transfer.Transaction) bool) error {
	return eachNewest(ctx, s.db, bucketTransfersByTime, func(tx *bolt.Tx, k []byte) (*transfer.Transaction, error) {
		var t transfer.Transaction
		err := getJSON(tx, bucketTransfers, k[8:], &t, transfer.ErrNotFound)
		return &t, err
	}, fn)
}

// eachNewest calls fn with the records an index of time-ordered keys (8 bytes of time first)
// names, newest first, until fn returns false. It reads a chunk per read transaction (64,
// doubling up to 1,024, so a page of 50 reads little) and calls fn outside it, so a slow reader
// (an export streamed to a paused pager) never holds a read transaction open, which would stall
// the writers once bbolt needs to grow its memory map.
func eachNewest[T any](ctx context.Context, db *bolt.DB, index []byte, load func(tx *bolt.Tx, key []byte) (T, error), fn func(T) bool) error {
	var after []byte // the last key read; the next chunk starts below it
	for chunk := 64; ; chunk = min(2*chunk, 1024) {
		batch := make([]T, 0, chunk)
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(index).Cursor()
			var k []byte
			if after == nil {
				k, _ = c.Last()
			} else if k, _ = c.Seek(after); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			for ; k != nil && len(batch) < chunk; k, _ = c.Prev() {
				v, err := load(tx, k)
				if err != nil {
					return err
				}
				batch = append(batch, v)
				after = bytes.Clone(k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, v := range batch {
			if !fn(v) {
				return nil
			}
		}
		if len(batch) < chunk {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func visit(tx *bolt.Tx, id string, fn func(*transfer.Transaction) bool) (bool, error) {
	var t transfer.Transaction
	if err := getJSON(tx, bucketTransfers, []byte(id), &t, transfer.ErrNotFound); err != nil {
		return false, err
	}
	return fn(&t), nil
}

// scanDesc walks the keys with prefix from the last to the first.
func scanDesc(b *bolt.Bucket, prefix []byte, fn func(k []byte) (bool, error)) error {
	c := b.Cursor()
	var k []byte
	if len(prefix) == 0 {
		k, _ = c.Last()
	} else {
		// Seek past the prefix, then step back.
		end := append(bytes.Clone(prefix), 0xff)
		k, _ = c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		more, err := fn(k)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

type transferTx struct {
	tx   *bolt.Tx
	keys *keyring
}

func (t transferTx) Get(id string) (*transfer.Transaction, error) {
	var tr transfer.Transaction
	if err := getJSON(t.tx, bucketTransfers, []byte(id), &tr, transfer.ErrNotFound); err != nil {
		return nil, err
	}
	return &tr, nil
}

func timeKey(ts time.Time, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(ts.UnixNano())), id...)
}

func (t transferTx) Put(tr *transfer.Transaction) error {
	tr.V = 1
	raw, err := json.Marshal(tr)
	if err != nil {
		return err
	}
	wasOpen := false
	if old := t.tx.Bucket(bucketTransfers).Get([]byte(tr.ID)); old != nil {
		var prev transfer.Transaction
		if err := decode(bucketTransfers, []byte(tr.ID), old, &prev); err != nil {
			return err
		}
		wasOpen = !transfer.Terminal(prev.Status)
		if err := unindexWaiting(t.tx, &prev); err != nil {
			return err
		}
	}
	if err := indexWaiting(t.tx, tr); err != nil {
		return err
	}
	if isOpen := !transfer.Terminal(tr.Status); isOpen != wasOpen {
		delta := int64(1)
		if !isOpen {
			delta = -1
		}
		if err := addOpen(t.tx, tr.Account, delta); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bucketTransfers).Put([]byte(tr.ID), raw); err != nil {
		return err
	}
	owner := append(append(customerKey(tr.Account, tr.Memo), 0), timeKey(tr.StartedAt, tr.ID)...)
	if err := t.tx.Bucket(bucketTransfersByOwner).Put(owner, nil); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketTransfersByTime).Put(timeKey(tr.StartedAt, tr.ID), nil); err != nil {
		return err
	}
	if tr.StellarTransactionID != "" {
		if err := t.tx.Bucket(bucketTransfersStellar).Put([]byte(tr.StellarTransactionID), []byte(tr.ID)); err != nil {
			return err
		}
	}
	if tr.ExternalTransactionID != "" {
		return t.tx.Bucket(bucketTransfersExt).Put([]byte(tr.ExternalTransactionID), []byte(tr.ID))
	}
	return nil
}

// The waiting indexes make the reconciler's work proportional to what is due or changed: the
// expiry index is ordered by deadline (a pass reads only what is due), and the KYC index lists
// one owner's transactions waiting for its KYC (a change reads only those).
func expiryKey(tr *transfer.Transaction) []byte {
	at, ok := ExpiresAt(tr)
	if !ok {
		return nil
	}
	return timeKey(at, tr.ID)
}

// ExpiresAt is when a transaction expires, if it can: while it waits for the user's action and
// no funds arrived. Every backend indexes the expiries by it.
func ExpiresAt(tr *transfer.Transaction) (time.Time, bool) {
	if !tr.WaitingForUser() || tr.UserActionRequiredBy == nil || tr.FundsReceivedAt != nil {
		return time.Time{}, false
	}
	return *tr.UserActionRequiredBy, true
}

// WaitsForKYC says whether a transaction waits for its owner's KYC (the index WaitingForKYC reads).
func WaitsForKYC(tr *transfer.Transaction) bool {
	return tr.Status == transfer.PendingCustomerInfoUpdate
}

func kycWaitKey(tr *transfer.Transaction) []byte {
	if !WaitsForKYC(tr) {
		return nil
	}
	return append(append(customerKey(tr.Account, tr.Memo), 0), tr.ID...)
}

func unindexWaiting(tx *bolt.Tx, tr *transfer.Transaction) error {
	if k := expiryKey(tr); k != nil {
		if err := tx.Bucket(bucketTransfersExpiry).Delete(k); err != nil {
			return err
		}
	}
	if k := kycWaitKey(tr); k != nil {
		return tx.Bucket(bucketTransfersKYCWait).Delete(k)
	}
	return nil
}

func indexWaiting(tx *bolt.Tx, tr *transfer.Transaction) error {
	if k := expiryKey(tr); k != nil {
		if err := tx.Bucket(bucketTransfersExpiry).Put(k, nil); err != nil {
			return err
		}
	}
	if k := kycWaitKey(tr); k != nil {
		return tx.Bucket(bucketTransfersKYCWait).Put(k, nil)
	}
	return nil
}

// buildWaitingIndexes fills the expiry and KYC indexes from the transactions (schema 8).
func buildWaitingIndexes(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketTransfersExpiry, bucketTransfersKYCWait, bucketKYCChanged} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketTransfers).ForEach(func(k, v []byte) error {
		var tr transfer.Transaction
		if err := decode(bucketTransfers, k, v, &tr); err != nil {
			return err
		}
		return indexWaiting(tx, &tr)
	}); err != nil {
		return err
	}
	if tx.Bucket(bucketTransfersWaiting) != nil {
		return tx.DeleteBucket(bucketTransfersWaiting)
	}
	return nil
}

// DueExpiries implements transfer.Store.
func (s *Bolt) DueExpiries(ctx context.Context, now time.Time, fn func(id string) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTransfersExpiry).Cursor()
		for k, _ := c.First(); len(k) > 8; k, _ = c.Next() {
			if int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
				return nil
			}
			if !fn(string(k[8:])) {
				return nil
			}
		}
		return ctx.Err()
	})
}

// WaitingForKYC implements transfer.Store.
func (s *Bolt) WaitingForKYC(ctx context.Context, account, memo string, fn func(*transfer.Transaction) bool) error {
	prefix := append(customerKey(account, memo), 0)
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTransfersKYCWait).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			more, err := visit(tx, string(k[len(prefix):]), fn)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// ChangedCustomers implements transfer.Store.
func (s *Bolt) ChangedCustomers(ctx context.Context, limit int) ([]transfer.Changed, error) {
	var out []transfer.Changed
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKYCChanged).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			account, memo, _ := bytes.Cut(k, []byte{0})
			out = append(out, transfer.Changed{Account: string(account), Memo: string(memo), Mark: bytes.Clone(v)})
		}
		return nil
	})
	return out, err
}

// DoneChanged implements transfer.Store: entries changed again meanwhile stay.
func (s *Bolt) DoneChanged(ctx context.Context, done []transfer.Changed) error {
	if len(done) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKYCChanged)
		for _, c := range done {
			k := customerKey(c.Account, c.Memo)
			if bytes.Equal(b.Get(k), c.Mark) {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// addOpen changes the count of unfinished transactions of account's G... account.
func addOpen(tx *bolt.Tx, account string, delta int64) error {
	return addCount(tx.Bucket(bucketTransfersOpen), []byte(sep10.BaseAccount(account)), delta)
}

// addCount adds delta to the 8-byte counter k of b (dropping it at zero).
func addCount(b *bolt.Bucket, k []byte, delta int64) error {
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	if n += delta; n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// OpenTransactions implements transfer.Tx.
func (t transferTx) OpenTransactions(account string) (int, error) {
	v := t.tx.Bucket(bucketTransfersOpen).Get([]byte(sep10.BaseAccount(account)))
	if len(v) != 8 {
		return 0, nil
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// countOpen fills the open-transaction counts from the transactions (schema 6).
func countOpen(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketTransfersOpen)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	if err := tx.Bucket(bucketTransfers).ForEach(func(k, v []byte) error {
		var tr struct {
			Account string          `json:"account"`
			Status  transfer.Status `json:"status"`
		}
		if err := decode(bucketTransfers, k, v, &tr); err != nil {
			return err
		}
		if !transfer.Terminal(tr.Status) {
			counts[sep10.BaseAccount(tr.Account)]++
		}
		return nil
	}); err != nil {
		return err
	}
	for a, n := range counts {
		if err := b.Put([]byte(a), binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
			return err
		}
	}
	return nil
}

func (t transferTx) ByStellarID(hash string) (string, error) {
	if v := t.tx.Bucket(bucketTransfersStellar).Get([]byte(hash)); v != nil {
		return string(v), nil
	}
	return "", transfer.ErrNotFound
}

func (t transferTx) ByExternalID(ref string) (string, error) {
	if v := t.tx.Bucket(bucketTransfersExt).Get([]byte(ref)); v != nil {
		return string(v), nil
	}
	return "", transfer.ErrNotFound
}

// ClaimFreshMemo implements transfer.Tx: a reservation (bbolt answers at once).
func (t transferTx) ClaimFreshMemo(namespace, memo, txID string) error {
	ok, err := t.ReserveMemo(namespace, memo, txID)
	if err == nil && !ok {
		err = transfer.ErrMemoTaken
	}
	return err
}

func (t transferTx) ReserveMemo(namespace, memo, txID string) (bool, error) {
	b := t.tx.Bucket(bucketTransferMemos)
	k := append(append([]byte(namespace), 0), memo...)
	if b.Get(k) != nil {
		return false, nil
	}
	return true, b.Put(k, []byte(txID))
}

func (t transferTx) MemoOwner(namespace, memo string) (string, error) {
	v := t.tx.Bucket(bucketTransferMemos).Get(append(append([]byte(namespace), 0), memo...))
	if v == nil {
		return "", transfer.ErrNotFound
	}
	return string(v), nil
}

// Customer implements transfer.Tx: the SEP-12 customer of an owner, read in the same bbolt
// transaction (nil when there is none).
func (t transferTx) Customer(account, memo string) (*kyc.Customer, error) {
	return CustomerOf(kycTx(t), account, memo)
}

func (t transferTx) EnqueueDoneCallback(id string, at time.Time) error {
	return enqueueCallback(t.tx, transfer.DoneCallbackKind, id, at)
}

func (t transferTx) EnqueueCallback(id string, at time.Time) error {
	return enqueueCallback(t.tx, transfer.CallbackKind, id, at)
}
