package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/pkg/sep10"
)

var (
	_ kyc.Store      = (*Bolt)(nil)
	_ callback.Queue = (*Bolt)(nil)
)

// KYCUpdate implements kyc.Store: fn runs in a write transaction, batched with concurrent ones
// (one fsync per batch), so it may run more than once.
func (s *Bolt) KYCUpdate(ctx context.Context, fn func(kyc.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.refillReady(ctx); err != nil {
		return err
	}
	if err := s.commits.update(func(tx *bolt.Tx) error { return fn(s.events.KYC(kycTx{tx, s.keys})) }); err != nil {
		return err
	}
	// A record replaced or deleted by fn left its key to wipe.
	return s.WipeErasedKeys(ctx)
}

// KYCView implements kyc.Store.
func (s *Bolt) KYCView(ctx context.Context, fn func(kyc.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(kycTx{tx, s.keys}) })
}

// Customers implements kyc.Store.
func (s *Bolt) Customers(ctx context.Context, fn func(*kyc.Customer) bool) error {
	return s.customersBy(ctx, bucketCustomersByUpdated, fn)
}

// CustomersInReview implements kyc.Store: the review queue, most recently updated first.
func (s *Bolt) CustomersInReview(ctx context.Context, fn func(*kyc.Customer) bool) error {
	return s.customersBy(ctx, bucketCustomersInReview, fn)
}

// customersBy calls fn with the customers an ordered index names, newest first.
func (s *Bolt) customersBy(ctx context.Context, index []byte, fn func(*kyc.Customer) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		kt := kycTx{tx, s.keys}
		c := tx.Bucket(index).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			cu, err := kt.Customer(string(k[8:]))
			if errors.Is(err, kyc.ErrNotFound) {
				return fmt.Errorf("%w: %s entry %q names no customer", ErrCorrupt, index, k[8:])
			}
			if err != nil {
				return err
			}
			if !fn(cu) {
				return nil
			}
		}
		return nil
	})
}

// indexCustomers fills the update-order index and the review queue from the stored customers
// (schemas 11 and 13).
func (t kycTx) indexCustomers() error {
	return t.tx.Bucket(bucketCustomers).ForEach(func(k, v []byte) error {
		c, err := t.decodeCustomer(k, v)
		if err != nil {
			return err
		}
		return t.orderCustomer(c, &c.UpdatedAt)
	})
}

// InReview says whether a customer belongs in the review queue: not rejected, with a field
// waiting for review. Every customer kyc.Customer.StatusFor calls PROCESSING for some type is.
// Every backend indexes the queue by it.
func InReview(c *kyc.Customer) bool {
	if c.Rejected {
		return false
	}
	for _, f := range c.Fields {
		if f.Status == kyc.FieldProcessing || f.Status == kyc.FieldVerificationRequired {
			return true
		}
	}
	return false
}

// orderCustomer moves a customer's entries in the update-order index (and the review queue,
// when it belongs there) to at, or removes them when at is nil.
func (t kycTx) orderCustomer(c *kyc.Customer, at *time.Time) error {
	id := c.ID
	byUpdated, current, review := t.tx.Bucket(bucketCustomersByUpdated), t.tx.Bucket(bucketCustomerUpdated), t.tx.Bucket(bucketCustomersInReview)
	if old := current.Get([]byte(id)); old != nil {
		key := append(bytes.Clone(old), id...)
		if err := byUpdated.Delete(key); err != nil {
			return err
		}
		if err := review.Delete(key); err != nil {
			return err
		}
	}
	if at == nil {
		return current.Delete([]byte(id))
	}
	n := at.UnixNano()
	if at.IsZero() || n < 0 {
		n = 0 // records from before updated_at was kept sort last
	}
	ts := binary.BigEndian.AppendUint64(nil, uint64(n))
	key := append(bytes.Clone(ts), id...)
	if err := byUpdated.Put(key, nil); err != nil {
		return err
	}
	if InReview(c) {
		if err := review.Put(key, nil); err != nil {
			return err
		}
	}
	return current.Put([]byte(id), ts)
}

// Events implements kyc.Store.
func (s *Bolt) Events(ctx context.Context, customerID string) ([]kyc.Event, error) {
	var out []kyc.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = kycTx{tx, s.keys}.Events(customerID)
		return err
	})
	return out, err
}

// Events implements kyc.Tx.
func (t kycTx) Events(customerID string) ([]kyc.Event, error) {
	out := []kyc.Event{}
	prefix := append([]byte(customerID), 0)
	c := t.tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e kyc.Event
		if err := decode(bucketEvents, k, v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

var keyKYCTotalBytes = []byte("kyc_total_bytes") // in meta

// addBytes changes the file bytes stored by account's G... account, and in all.
func addBytes(tx *bolt.Tx, account string, delta int64) error {
	if err := addCount(tx.Bucket(bucketKYCBytes), []byte(sep10.BaseAccount(account)), delta); err != nil {
		return err
	}
	return addCount(tx.Bucket(bucketMeta), keyKYCTotalBytes, delta)
}

// StoredBytes implements kyc.Tx.
func (t kycTx) StoredBytes(account string) (int64, int64, error) {
	get := func(v []byte) int64 {
		if len(v) != 8 {
			return 0
		}
		return int64(binary.BigEndian.Uint64(v))
	}
	return get(t.tx.Bucket(bucketKYCBytes).Get([]byte(sep10.BaseAccount(account)))), get(t.tx.Bucket(bucketMeta).Get(keyKYCTotalBytes)), nil
}

// countBytes fills the stored-bytes counters from the files (schema 9).
func countBytes(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketKYCBytes); err != nil {
		return err
	}
	return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		var f kyc.File
		if err := decode(bucketFiles, k, v, &f); err != nil {
			return err
		}
		if tx.Bucket(bucketFileData).Get(k) == nil {
			return nil
		}
		return addBytes(tx, f.Account, f.Size)
	})
}

// ErasePersonalData implements kyc.Tx over the owner's SEP-6 transactions.
func (t kycTx) ErasePersonalData(account, memo string) (int, error) {
	prefix := append(customerKey(account, memo), 0)
	var ids []string
	c := t.tx.Bucket(bucketTransfersByOwner).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix)+8:]))
	}
	trs := transferTx(t)
	n := 0
	for _, id := range ids {
		tr, err := trs.Get(id)
		if err != nil {
			return n, err
		}
		if !ForgetPerson(tr) {
			continue
		}
		if err := trs.Put(tr); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// MarkChanged implements kyc.Tx: the owner goes into the journal the SEP-6 reconciler drains.
func (t kycTx) MarkChanged(account, memo string, at time.Time) error {
	return t.tx.Bucket(bucketKYCChanged).Put(customerKey(account, memo), binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
}

// PutTombstone implements kyc.Tx.
func (t kycTx) PutTombstone(ts *kyc.Tombstone) error {
	if err := putJSON(t.tx.Bucket(bucketTombstones), customerKey(ts.Account, ts.Memo), ts); err != nil {
		return err
	}
	return t.tx.Bucket(bucketTombstoneIDs).Put([]byte(ts.CustomerID), customerKey(ts.Account, ts.Memo))
}

// Tombstone implements kyc.Tx.
func (t kycTx) Tombstone(account, memo string) (*kyc.Tombstone, error) {
	var ts kyc.Tombstone
	if err := getJSON(t.tx, bucketTombstones, customerKey(account, memo), &ts, kyc.ErrNotFound); err != nil {
		return nil, err
	}
	return &ts, nil
}

// TombstoneOf implements kyc.Tx.
func (t kycTx) TombstoneOf(customerID string) (*kyc.Tombstone, error) {
	k := t.tx.Bucket(bucketTombstoneIDs).Get([]byte(customerID))
	if k == nil {
		return nil, kyc.ErrNotFound
	}
	var ts kyc.Tombstone
	if err := getJSON(t.tx, bucketTombstones, k, &ts, kyc.ErrNotFound); err != nil {
		return nil, err
	}
	if ts.CustomerID != customerID {
		return nil, kyc.ErrNotFound // a later rejection of the same account and memo replaced it
	}
	return &ts, nil
}

// DueCallbacks implements callback.Queue.
func (s *Bolt) DueCallbacks(ctx context.Context, now time.Time, limit int) ([]callback.Item, error) {
	var out []callback.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCallbacks).ForEach(func(k, v []byte) error {
			var it callback.Item
			if err := decode(bucketCallbacks, k, v, &it); err != nil {
				return err
			}
			if !it.Due.After(now) {
				out = append(out, it)
			}
			return nil
		})
	})
	// Oldest due first, whatever the kind: a SEP-6 callback does not wait behind SEP-12 ones.
	slices.SortStableFunc(out, func(a, b callback.Item) int { return a.Due.Compare(b.Due) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// ClaimCallback implements callback.Queue: one process holds the bbolt file, so its dispatcher
// has no one to claim items from.
func (s *Bolt) ClaimCallback(context.Context, callback.Item, time.Time, time.Time) (bool, error) {
	return true, nil
}

func callbackKey(kind, id string) []byte { return []byte(kind + "/" + id) }

// enqueueCallback queues (or re-queues, from attempt 0) the callback of a resource.
func enqueueCallback(tx *bolt.Tx, kind, id string, at time.Time) error {
	return putJSON(tx.Bucket(bucketCallbacks), callbackKey(kind, id), callback.Item{Kind: kind, ID: id, Due: at})
}

// FinishCallback implements callback.Queue.
func (s *Bolt) FinishCallback(ctx context.Context, prev callback.Item, next *callback.Item) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCallbacks)
		k := callbackKey(prev.Kind, prev.ID)
		var cur callback.Item
		if err := getJSON(tx, bucketCallbacks, k, &cur, kyc.ErrNotFound); err != nil {
			if errors.Is(err, kyc.ErrNotFound) {
				return nil
			}
			return err
		}
		if cur.Attempt != prev.Attempt || !cur.Due.Equal(prev.Due) {
			return nil
		}
		if next == nil {
			return b.Delete(k)
		}
		return putJSON(b, k, next)
	})
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// getJSON decodes the record k of bucket name into v: notFound when there is none, an
// ErrCorrupt naming the record when it cannot be decoded (never "not found": a corrupt action
// must stop the caller, not look absent and be built anew).
func getJSON(tx *bolt.Tx, name, k []byte, v any, notFound error) error {
	raw := tx.Bucket(name).Get(k)
	if raw == nil {
		return notFound
	}
	return decode(name, k, raw, v)
}

// decode unmarshals the record k of bucket name, or returns an ErrCorrupt naming it.
func decode(name, k, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s record %q: %v", ErrCorrupt, name, k, err)
	}
	return nil
}

// kycTx implements kyc.Tx on a bbolt transaction; customer records and file contents are
// sealed under their owner's key (keyring.go).
type kycTx struct {
	tx   *bolt.Tx
	keys *keyring
}

func customerKey(account, memo string) []byte {
	return append(append([]byte(account), 0), memo...)
}

func (t kycTx) Customer(id string) (*kyc.Customer, error) {
	raw := t.tx.Bucket(bucketCustomers).Get([]byte(id))
	if raw == nil {
		return nil, kyc.ErrNotFound
	}
	return t.decodeCustomer([]byte(id), raw)
}

func (t kycTx) decodeCustomer(k, raw []byte) (*kyc.Customer, error) {
	plain, err := t.open(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s record %q: %v", ErrCorrupt, bucketCustomers, k, err)
	}
	var c kyc.Customer
	if err := decode(bucketCustomers, k, plain, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (t kycTx) CustomerID(account, memo string) (string, error) {
	v := t.tx.Bucket(bucketCustomerKeys).Get(customerKey(account, memo))
	if v == nil {
		return "", kyc.ErrNotFound
	}
	return string(v), nil
}

func (t kycTx) PutCustomer(c *kyc.Customer) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if raw, err = t.sealAt(bucketCustomers, []byte(c.ID), raw); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketCustomers).Put([]byte(c.ID), raw); err != nil {
		return err
	}
	if err := t.orderCustomer(c, &c.UpdatedAt); err != nil {
		return err
	}
	return t.tx.Bucket(bucketCustomerKeys).Put(customerKey(c.Account, c.Memo), []byte(c.ID))
}

func (t kycTx) DeleteCustomer(c *kyc.Customer) error {
	if err := DeleteFilesOf(t, c); err != nil {
		return err
	}
	if err := t.shredAt(bucketCustomers, []byte(c.ID)); err != nil {
		return err
	}
	// Nothing waits for an erased customer's change any more.
	if err := t.tx.Bucket(bucketKYCChanged).Delete(customerKey(c.Account, c.Memo)); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketCustomers).Delete([]byte(c.ID)); err != nil {
		return err
	}
	if err := t.orderCustomer(c, nil); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketCallbacks).Delete(callbackKey(kyc.CallbackKind, c.ID)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketCustomerKeys).Delete(customerKey(c.Account, c.Memo))
}

// PutFile stores f, and its contents unless data is nil (a metadata update).
func (t kycTx) PutFile(f *kyc.File, data []byte) error {
	if err := putJSON(t.tx.Bucket(bucketFiles), []byte(f.ID), f); err != nil {
		return err
	}
	if data != nil {
		if t.tx.Bucket(bucketFileData).Get([]byte(f.ID)) == nil {
			if err := addBytes(t.tx, f.Account, int64(len(data))); err != nil {
				return err
			}
		}
		sealed, err := t.sealAt(bucketFileData, []byte(f.ID), data)
		if err != nil {
			return err
		}
		if err := t.tx.Bucket(bucketFileData).Put([]byte(f.ID), sealed); err != nil {
			return err
		}
	}
	pk := pendingKey(f.Account, f.Memo, f.ID)
	if f.CustomerID != "" {
		if err := t.tx.Bucket(bucketPendingFiles).Delete(pk); err != nil {
			return err
		}
		return t.tx.Bucket(bucketCustomerFiles).Put(append(append([]byte(f.CustomerID), 0), f.ID...), nil)
	}
	return t.tx.Bucket(bucketPendingFiles).Put(pk, nil)
}

func pendingKey(account, memo, fileID string) []byte {
	return append(append(customerKey(account, memo), 0), fileID...)
}

// PendingFiles lists the files (account, memo) uploaded that no customer uses yet.
func (t kycTx) PendingFiles(account, memo string) ([]*kyc.File, error) {
	var out []*kyc.File
	prefix := append(customerKey(account, memo), 0)
	c := t.tx.Bucket(bucketPendingFiles).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		f, err := t.File(string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (t kycTx) File(id string) (*kyc.File, error) {
	var f kyc.File
	if err := getJSON(t.tx, bucketFiles, []byte(id), &f, kyc.ErrNotFound); err != nil {
		return nil, err
	}
	return &f, nil
}

func (t kycTx) FileData(id string) ([]byte, error) {
	v := t.tx.Bucket(bucketFileData).Get([]byte(id))
	if v == nil {
		return nil, kyc.ErrNotFound
	}
	plain, err := t.open(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s record %q: %v", ErrCorrupt, bucketFileData, id, err)
	}
	return bytes.Clone(plain), nil
}

func (t kycTx) DeleteFile(id string) error {
	f, err := t.File(id)
	if errors.Is(err, kyc.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if f.CustomerID != "" {
		if err := t.tx.Bucket(bucketCustomerFiles).Delete(append(append([]byte(f.CustomerID), 0), f.ID...)); err != nil {
			return err
		}
	} else if err := t.tx.Bucket(bucketPendingFiles).Delete(pendingKey(f.Account, f.Memo, f.ID)); err != nil {
		return err
	}
	if err := t.shredAt(bucketFileData, []byte(id)); err != nil {
		return err
	}
	if t.tx.Bucket(bucketFileData).Get([]byte(id)) != nil {
		if err := addBytes(t.tx, f.Account, -f.Size); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bucketFileData).Delete([]byte(id)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketFiles).Delete([]byte(id))
}

func (t kycTx) FilesOf(customerID string) ([]*kyc.File, error) {
	var out []*kyc.File
	prefix := append([]byte(customerID), 0)
	c := t.tx.Bucket(bucketCustomerFiles).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		f, err := t.File(string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// AppendEvent adds e under the next sequence number of the events bucket. There is no way to
// change or remove an event.
func (t kycTx) AppendEvent(e *kyc.Event) error {
	b := t.tx.Bucket(bucketEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.V, e.Seq = 1, seq
	k := binary.BigEndian.AppendUint64(append([]byte(e.CustomerID), 0), seq)
	return putJSON(b, k, e)
}

func (t kycTx) EnqueueCallback(customerID string, at time.Time) error {
	return enqueueCallback(t.tx, kyc.CallbackKind, customerID, at)
}
