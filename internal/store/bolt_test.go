package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

func TestOpenCreatesSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d %v", v, err)
	}
}

func TestOpenFailsFastWhenHeld(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err %v, want ErrLocked", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, SchemaVersion+1))
	})
	s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err %v, want ErrNewerSchema", err)
	}
}

func TestUseChallengeOnceUnderConcurrency(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var h [32]byte
	h[0] = 7
	// One expiry for every use, as a challenge has: marks are keyed by expiry (whole seconds)
	// and hash, and uses straddling a second would otherwise be different marks.
	expires := time.Now().Add(time.Minute)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.UseChallenge(ctx, h, expires, "GA", false)
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
			}
		}()
	}
	wg.Wait()
	if firsts.Load() != 1 {
		t.Fatalf("%d first uses, want 1", firsts.Load())
	}
	// Pruning forgets only expired marks.
	var old [32]byte
	old[0] = 8
	s.UseChallenge(ctx, old, time.Now().Add(-time.Minute), "GA", false)
	if n, err := s.PruneChallenges(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("pruned %d %v", n, err)
	}
	if first, _ := s.UseChallenge(ctx, h, expires, "GA", false); first {
		t.Fatal("a live mark was pruned")
	}
}

func TestUseChallengeSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var h [32]byte
	h[1] = 1
	// One expiry for both uses, as a challenge has (the first run under load took more than a
	// second between two time.Now()s, which made them two marks).
	expires := time.Now().Add(time.Hour)
	if first, err := s.UseChallenge(context.Background(), h, expires, "GA", false); !first || err != nil {
		t.Fatalf("first use: %v %v", first, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if first, err := s.UseChallenge(context.Background(), h, expires, "GA", false); first || err != nil {
		t.Fatalf("mark lost across reopen (first %v, %v)", first, err)
	}
}

// TestCorruptRecordsAreNotNotFound: every read of a record that cannot be decoded fails with
// ErrCorrupt naming it, and never with a "not found" sentinel.
func TestCorruptRecordsAreNotNotFound(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	bad := []byte(`{"v":1,"id":`)
	for _, b := range [][]byte{bucketTreasuryOps, bucketTransfers, bucketCustomers, bucketFiles, bucketTreasuryUnmatched, bucketCallbacks} {
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(b).Put([]byte("x"), bad) }); err != nil {
			t.Fatal(err)
		}
	}
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCustomerKeys).Put(customerKey("G", ""), []byte("x")) })
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCustomersByUpdated).Put(append(make([]byte, 8), 'x'), nil)
	})
	reads := map[string]func() error{
		"op": func() error {
			return s.TreasuryView(ctx, func(o treasury.OpTx, _ transfer.Tx) error { _, err := o.Op("x"); return err })
		},
		"ops":       func() error { _, err := s.Ops(ctx); return err },
		"unmatched": func() error { _, err := s.UnmatchedPayments(ctx); return err },
		"transfer": func() error {
			return s.TransferView(ctx, func(tx transfer.Tx) error { _, err := tx.Get("x"); return err })
		},
		"customer": func() error {
			return s.KYCView(ctx, func(tx kyc.Tx) error { _, err := tx.Customer("x"); return err })
		},
		"customer by owner": func() error {
			return s.TransferView(ctx, func(tx transfer.Tx) error { _, err := tx.Customer("G", ""); return err })
		},
		"file": func() error {
			return s.KYCView(ctx, func(tx kyc.Tx) error { _, err := tx.File("x"); return err })
		},
		"customers": func() error { return s.Customers(ctx, func(*kyc.Customer) bool { return true }) },
		"callbacks": func() error { _, err := s.DueCallbacks(ctx, time.Now(), 10); return err },
	}
	for name, read := range reads {
		err := read()
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, kyc.ErrNotFound) || errors.Is(err, transfer.ErrNotFound) || errors.Is(err, treasury.ErrNotFound) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestMigrationSealsPlainRecords: a database from schema 4 (customer records and file contents
// in the clear) is sealed on open, and reads the same.
func TestMigrationSealsPlainRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"v":1,"id":"c1","account":"GA","values":{"first_name":"Plaintext"},"files":{},"fields":{}}`)
	s.db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bucketCustomers).Put([]byte("c1"), plain)
		tx.Bucket(bucketFileData).Put([]byte("f1"), []byte("PLAINFILE"))
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, 4))
	})
	s.Close()
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.View(func(tx *bolt.Tx) error {
		for _, v := range [][]byte{tx.Bucket(bucketCustomers).Get([]byte("c1")), tx.Bucket(bucketFileData).Get([]byte("f1"))} {
			if len(v) == 0 || v[0] != sealedV1 || bytes.Contains(v, []byte("PLAIN")) || bytes.Contains(v, []byte("Plaintext")) {
				t.Fatalf("not sealed: %q", v)
			}
		}
		return nil
	})
	err = s.KYCView(context.Background(), func(tx kyc.Tx) error {
		c, err := tx.Customer("c1")
		if err != nil || c.Values["first_name"] != "Plaintext" {
			t.Fatalf("customer after migration: %v %+v", err, c)
		}
		d, err := tx.FileData("f1")
		if err != nil || string(d) != "PLAINFILE" {
			t.Fatalf("file after migration: %v %q", err, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestErasedKeysAreWiped: the keyring slots of a deleted customer's record and files are zeros
// once the deletion returns, and its sealed values can no longer be opened.
func TestErasedKeysAreWiped(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c := &kyc.Customer{ID: "c1", Account: "GA", Values: map[string]string{"first_name": "Secret"}}
	f := &kyc.File{ID: "f1", CustomerID: "c1", Account: "GA"}
	if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error {
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		return tx.PutFile(f, []byte("PHOTO"))
	}); err != nil {
		t.Fatal(err)
	}
	var sealed [][]byte
	s.db.View(func(tx *bolt.Tx) error {
		sealed = append(sealed, bytes.Clone(tx.Bucket(bucketCustomers).Get([]byte("c1"))), bytes.Clone(tx.Bucket(bucketFileData).Get([]byte("f1"))))
		return nil
	})
	if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error { return tx.DeleteCustomer(c) }); err != nil {
		t.Fatal(err)
	}
	for _, v := range sealed {
		slot := binary.BigEndian.Uint64(v[1:9])
		if _, err := s.keys.get(slot); err == nil || !strings.Contains(err.Error(), "wiped") {
			t.Fatalf("slot %d after the deletion: %v", slot, err)
		}
		if _, err := (kycTx{nil, s.keys}).open(v); err == nil {
			t.Fatal("an erased record still opens")
		}
	}
}

// TestCustomersNewestFirst: Customers (and the review queue) yield the most recently updated
// first, follow updates and deletions, and a database from schema 10 is indexed on open.
func TestCustomersNewestFirst(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := time.Unix(1_800_000_000, 0)
	put := func(id string, at time.Duration) {
		t.Helper()
		c := &kyc.Customer{ID: id, Account: "G" + id, UpdatedAt: base.Add(at)}
		if id == "c" { // c waits for review: it is in the review queue too
			c.Fields = map[string]kyc.FieldState{"first_name": {Status: kyc.FieldProcessing}}
		}
		if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error { return tx.PutCustomer(c) }); err != nil {
			t.Fatal(err)
		}
	}
	order := func() string {
		t.Helper()
		var ids []string
		if err := s.Customers(ctx, func(c *kyc.Customer) bool { ids = append(ids, c.ID); return true }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, ",")
	}
	put("a", 1*time.Second)
	put("b", 3*time.Second)
	put("c", 2*time.Second)
	if got := order(); got != "b,c,a" {
		t.Fatalf("order %s, want b,c,a", got)
	}
	put("a", 4*time.Second) // updated: first now, and listed once
	if got := order(); got != "a,b,c" {
		t.Fatalf("after an update: %s, want a,b,c", got)
	}
	if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error {
		c, err := tx.Customer("b")
		if err != nil {
			return err
		}
		return tx.DeleteCustomer(c)
	}); err != nil {
		t.Fatal(err)
	}
	if got := order(); got != "a,c" {
		t.Fatalf("after a deletion: %s, want a,c", got)
	}

	queue := func() string {
		t.Helper()
		var ids []string
		if err := s.CustomersInReview(ctx, func(c *kyc.Customer) bool { ids = append(ids, c.ID); return true }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, ",")
	}
	if got := queue(); got != "c" {
		t.Fatalf("review queue %q, want c", got)
	}
	// Back to schema 10 (no indexes), then open: both are built from the records.
	s = downgrade(t, s, dir, 10, bucketCustomersByUpdated, bucketCustomerUpdated, bucketCustomersInReview)
	defer s.Close()
	if got := order(); got != "a,c" {
		t.Fatalf("after migration: %s, want a,c", got)
	}
	if got := queue(); got != "c" {
		t.Fatalf("review queue after migration: %q, want c", got)
	}
	// c reviewed: out of the queue.
	if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error {
		c, err := tx.Customer("c")
		if err != nil {
			return err
		}
		c.Fields["first_name"] = kyc.FieldState{Status: kyc.FieldAccepted}
		return tx.PutCustomer(c)
	}); err != nil {
		t.Fatal(err)
	}
	if got := queue(); got != "" {
		t.Fatalf("review queue after the review: %q, want empty", got)
	}
}

// TestUnmatchedNewestFirst: EachUnmatched yields recorded payments newest first, stops when
// asked, keeps one entry per payment through its settlement, and a schema 13 database is
// indexed on open.
func TestUnmatchedNewestFirst(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := time.Unix(1_800_000_000, 0)
	put := func(u *treasury.Unmatched) {
		t.Helper()
		if err := s.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error { return o.PutUnmatched(u) }); err != nil {
			t.Fatal(err)
		}
	}
	for i, tok := range []string{"10", "30", "20"} {
		put(&treasury.Unmatched{V: 1, PagingToken: tok, Account: "GDIST", At: base.Add(time.Duration([]int{1, 3, 2}[i]) * time.Second)})
	}
	// Settling one rewrites it, at the same place.
	put(&treasury.Unmatched{V: 1, PagingToken: "20", Account: "GDIST", At: base.Add(2 * time.Second), Settlement: &treasury.Settlement{Action: treasury.SettledNote}})
	order := func(stopAfter int) string {
		t.Helper()
		var got []string
		if err := s.EachUnmatched(ctx, func(u *treasury.Unmatched) bool { got = append(got, u.PagingToken); return len(got) < stopAfter }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	if got := order(10); got != "30,20,10" {
		t.Fatalf("order %s, want 30,20,10", got)
	}
	if got := order(2); got != "30,20" {
		t.Fatalf("stopped after two: %s", got)
	}
	s = downgrade(t, s, dir, 13, bucketTreasuryUnmatchedByTime)
	defer s.Close()
	if got := order(10); got != "30,20,10" {
		t.Fatalf("after migration: %s", got)
	}
}

// TestCheckFindsProblems: the store check passes a sound store and names each seeded problem:
// an index entry missing, an index entry naming nothing, a record that does not decode.
func TestCheckFindsProblems(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	if err := s.TransferUpdate(ctx, func(tx transfer.Tx) error {
		return tx.Put(&transfer.Transaction{V: 1, ID: "t1", Kind: transfer.Deposit, Status: transfer.Incomplete, Account: "GA", StartedAt: now, UpdatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.KYCUpdate(ctx, func(tx kyc.Tx) error {
		return tx.PutCustomer(&kyc.Customer{ID: "c1", Account: "GA", UpdatedAt: now, Fields: map[string]kyc.FieldState{"first_name": {Status: kyc.FieldProcessing}}})
	}); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Check(ctx); err != nil || !rep.OK() || rep.Records["sep6_transactions"] != 1 || rep.Records["kyc_customers"] != 1 {
		t.Fatalf("a sound store: %v %+v", err, rep)
	}
	for name, seed := range map[string]func(tx *bolt.Tx) error{
		"missing from": func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCustomersInReview).ForEach(func(k, _ []byte) error { return tx.Bucket(bucketCustomersInReview).Delete(k) })
		},
		"names no transaction": func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTransfersByTime).Put(append(make([]byte, 8), "ghost"...), nil)
		},
		"sep6_transactions \"t1\"": func(tx *bolt.Tx) error { return tx.Bucket(bucketTransfers).Put([]byte("t1"), []byte("{broken")) },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			var buf bytes.Buffer
			if err := s.Backup(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			if _, err := Restore(ctx, &buf, d, false); err != nil {
				t.Fatal(err)
			}
			c, err := Open(d, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.db.Update(seed); err != nil {
				t.Fatal(err)
			}
			rep, err := c.Check(ctx)
			if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), name) {
				t.Fatalf("seeded %q: %v %+v", name, err, rep)
			}
		})
	}
}

// TestMarksAfterAnUncleanStop: a used challenge's mark is written in the background; a crash
// before it is written loses it, so the next open refuses every challenge issued before it
// (IssuedNotBefore), while after a clean stop nothing is refused and the mark is there.
func TestMarksAfterAnUncleanStop(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := [32]byte{9}
	exp := time.Now().Add(time.Hour)
	if first, err := s.UseChallenge(ctx, h, exp, "GA", false); err != nil || !first {
		t.Fatal(first, err)
	}
	if !s.IssuedNotBefore().IsZero() {
		t.Fatal("a fresh store refuses challenges")
	}
	// A crash: the flusher stops and the files close with the mark maybe unwritten.
	close(s.marks.stop)
	<-s.marks.done
	s.marks.pending = nil
	s.db.Close()
	s.keys.close()
	before := time.Now()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if nb := s.IssuedNotBefore(); nb.Before(before) {
		t.Fatalf("after an unclean stop, challenges issued from %s are accepted", nb)
	}
	if first, _ := s.UseChallenge(ctx, h, exp, "GA", false); !first {
		t.Fatal("the test's crash did not lose the mark")
	}
	// A clean stop: the mark is written, and nothing is refused.
	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.IssuedNotBefore().IsZero() {
		t.Fatal("challenges refused after a clean stop")
	}
	if first, _ := s.UseChallenge(ctx, h, exp, "GA", false); first {
		t.Fatal("a mark was lost across a clean stop")
	}
}

// downgrade takes an open store back to schema version with the buckets that version lacked
// removed, closes it and opens it again, which migrates it: the store as it reopened.
func downgrade(t *testing.T, s *Bolt, dir string, version uint64, buckets ...[]byte) *Bolt {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, version))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMigrationRekeysDeliveries: the event deliveries of a schema-17 store (keyed by endpoint,
// subject and seq) are keyed by event id after open, and still come due a subject at a time.
func TestMigrationRekeysDeliveries(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := []events.Delivery{
		{Endpoint: "bank", Subject: "transaction:b", Seq: 1, EventID: 7, Type: "transaction.created", Created: now, Due: now},
		{Endpoint: "bank", Subject: "transaction:a", Seq: 1, EventID: 5, Type: "transaction.created", Created: now, Due: now},
		{Endpoint: "bank", Subject: "transaction:a", Seq: 2, EventID: 9, Type: "transaction.status_changed", Created: now, Due: now},
	}
	s.db.Update(func(tx *bolt.Tx) error {
		for _, d := range old {
			raw, _ := json.Marshal(d)
			k := append([]byte(d.Endpoint+"\x00"+d.Subject+"\x00"), binary.BigEndian.AppendUint64(nil, uint64(d.Seq))...)
			tx.Bucket(bucketDeliveries).Put(k, raw)
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, 17))
	})
	s.Close()
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	due, err := s.DueDeliveries(context.Background(), now.Add(time.Second), 10)
	if err != nil || len(due) != 2 || due[0].EventID != 5 || due[1].EventID != 7 {
		t.Fatalf("due after the migration: %+v %v", due, err)
	}
	if err := s.FinishDelivery(context.Background(), due[0], nil); err != nil {
		t.Fatal(err)
	}
	if due, _ = s.DueDeliveries(context.Background(), now.Add(time.Second), 10); len(due) != 2 || due[0].EventID != 7 || due[1].EventID != 9 {
		t.Fatalf("due after the first: %+v", due)
	}
}
