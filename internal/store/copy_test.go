package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var alice = keypair.MustRandom().Address()

// fillEveryKind stores at least one record of every kind store copy moves, through the same
// Tx interfaces the services use.
func fillEveryKind(t *testing.T, st store.Backend) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	photo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 100)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.KYCUpdate(ctx, func(tx kyc.Tx) error {
		c := &kyc.Customer{V: 1, ID: "cust-1", Account: alice, Memo: "7", Type: "sep6-deposit",
			Values: map[string]string{"first_name": "Alice"}, Files: map[string]string{"photo_id_front": "file-1"},
			Fields: map[string]kyc.FieldState{"first_name": {Status: kyc.FieldProcessing}}, UpdatedAt: now}
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		if err := tx.PutFile(&kyc.File{V: 1, ID: "file-1", CustomerID: c.ID, Account: c.Account, Memo: c.Memo, Size: int64(len(photo))}, photo); err != nil {
			return err
		}
		if err := tx.PutFile(&kyc.File{V: 1, ID: "file-2", Account: "GBOB", Size: 3}, []byte("abc")); err != nil { // pending upload
			return err
		}
		if err := tx.AppendEvent(&kyc.Event{CustomerID: c.ID, At: now, By: "wallet"}); err != nil {
			return err
		}
		if err := tx.PutTombstone(&kyc.Tombstone{V: 1, CustomerID: "cust-gone", Account: "GMALLORY"}); err != nil {
			return err
		}
		if err := tx.MarkChanged(c.Account, c.Memo, now); err != nil {
			return err
		}
		return tx.EnqueueCallback(c.ID, now)
	}))
	must(st.TransferUpdate(ctx, func(tx transfer.Tx) error {
		tr := &transfer.Transaction{ID: "tx-1", Kind: transfer.Withdrawal, Status: transfer.PendingUserTransferStart, Account: alice,
			Memo: "7", StartedAt: now, StellarTransactionID: "abcd", ExternalTransactionID: "BANK-1"}
		if err := tx.Put(tr); err != nil {
			return err
		}
		if _, err := tx.ReserveMemo("withdraw", "12345", tr.ID); err != nil {
			return err
		}
		return tx.EnqueueCallback(tr.ID, now)
	}))
	must(st.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
		if err := o.PutOp(&treasury.Op{V: 1, ID: "credit/tx-0", Purpose: "credit", Source: "GDIST", Seq: 42, State: treasury.Confirmed}); err != nil {
			return err
		}
		if err := o.PutCursor("GDIST", "123-4"); err != nil {
			return err
		}
		if err := o.PutUnmatched(&treasury.Unmatched{V: 1, PagingToken: "99", Account: "GDIST", Amount: "5", At: now}); err != nil {
			return err
		}
		if err := o.PutLastReconcile(&treasury.ReconcileRun{V: 1, At: now, Differences: 2}); err != nil {
			return err
		}
		return o.PutProposal(&treasury.Proposal{V: 1, ID: "pay/r1", Kind: "payment", ProposedAt: now, ExpiresAt: now.Add(time.Hour)})
	}))
	if _, err := st.UseChallenge(ctx, sha256.Sum256([]byte("c")), now.Add(time.Hour), alice, true); err != nil {
		t.Fatal(err)
	}
	must(st.PutQuote(ctx, &quotes.Quote{V: 1, ID: "quote-1", SellAsset: "iso4217:EUR", SellAmount: "10.00", BuyAsset: "stellar:USDX:GA", BuyAmount: "9.0000000", Account: alice, ExpiresAt: now.Add(time.Hour)}))
	// An event, a webhook's feed past it, and its delivery waiting to be retried.
	must(st.SetEvents(&events.Recorder{Endpoints: []events.Endpoint{{Name: "bank"}}}))
	must(st.(events.Recording).RecordEvent(ctx, events.ReconcileDifferences, "reconcile", map[string]bool{"ok": false}))
	page, err := st.ReadFeed(ctx, "bank", 10)
	must(err)
	if len(page.Events) != 1 {
		t.Fatalf("the feed read %d events, want 1", len(page.Events))
	}
	e := page.Events[0]
	retry := events.Delivery{Endpoint: "bank", Subject: e.Subject, Seq: e.Seq, EventID: e.ID, Type: e.Type, Created: e.At,
		Attempt: 1, Due: e.At.Add(time.Minute), LastError: "the webhook answered 500 Internal Server Error"}
	if ok, err := st.AdvanceFeed(ctx, "bank", page.Cursor, e.Cursor, []events.Delivery{retry}); err != nil || !ok {
		t.Fatalf("advance the feed: %v %v", ok, err)
	}
	must(st.SetEvents(nil))
	must(st.APIKeyUpdate(ctx, func(tx apikey.Tx) error {
		return tx.PutKey(&apikey.Key{V: 1, ID: "0123456789abcdef", Name: "bank", Role: apikey.Treasury, Hash: "00", CreatedAt: now})
	}))
}

// TestCopyEveryKindToPostgres: a bbolt store holding every kind of record is copied into
// PostgreSQL and verified; the services read the copy as they read the original; copying again
// changes nothing; a copy that differs is caught.
func TestCopyEveryKindToPostgres(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	src, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fillEveryKind(t, src)
	dst, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	sums, err := store.Copy(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		if s.Count == 0 {
			t.Errorf("no %s copied", s.Kind)
		}
	}
	// Read back through the services' interfaces.
	dst.KYCView(ctx, func(tx kyc.Tx) error {
		if id, err := tx.CustomerID(alice, "7"); err != nil || id != "cust-1" {
			t.Errorf("customer key: %q %v", id, err)
		}
		if data, err := tx.FileData("file-1"); err != nil || len(data) != 400 {
			t.Errorf("file contents: %d %v", len(data), err)
		}
		if pending, _ := tx.PendingFiles("GBOB", ""); len(pending) != 1 {
			t.Errorf("pending uploads: %v", pending)
		}
		if mine, all, _ := tx.StoredBytes(alice); mine != 400 || all != 403 {
			t.Errorf("stored bytes %d of %d", mine, all)
		}
		if ts, err := tx.TombstoneOf("cust-gone"); err != nil || ts.Account != "GMALLORY" {
			t.Errorf("tombstone: %v %v", ts, err)
		}
		return nil
	})
	dst.TransferView(ctx, func(tx transfer.Tx) error {
		if id, _ := tx.ByStellarID("abcd"); id != "tx-1" {
			t.Errorf("by stellar id: %q", id)
		}
		if id, _ := tx.MemoOwner("withdraw", "12345"); id != "tx-1" {
			t.Errorf("memo owner: %q", id)
		}
		if n, _ := tx.OpenTransactions(alice); n != 1 {
			t.Errorf("open transactions %d", n)
		}
		return nil
	})
	dst.TransferUpdate(ctx, func(tx transfer.Tx) error {
		if ok, err := tx.ReserveMemo("withdraw", "12345", "tx-2"); ok || err != nil {
			t.Errorf("a copied memo was reserved again: %v", err)
		}
		return nil
	})
	if first, err := dst.UseChallenge(ctx, sha256.Sum256([]byte("c")), time.Now().Add(time.Hour), alice, true); err != nil || first {
		t.Errorf("a challenge used before the copy is usable again: %v %v", first, err)
	}
	dst.TreasuryView(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
		if run, err := o.LastReconcile(); err != nil || run == nil || run.Differences != 2 {
			t.Errorf("last reconcile: %+v %v", run, err)
		}
		return nil
	})
	if due, _ := dst.DueCallbacks(ctx, time.Now().Add(time.Minute), 10); len(due) != 2 {
		t.Errorf("callbacks: %v", due)
	}
	// Again: nothing changes, and it still verifies.
	if _, err := store.Copy(ctx, src, dst, nil); err != nil {
		t.Fatalf("a second copy: %v", err)
	}
	// A target that lost a record is caught.
	if err := dst.KYCUpdate(ctx, func(tx kyc.Tx) error { return tx.DeleteFile("file-2") }); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Sums(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := src.KYCUpdate(ctx, func(tx kyc.Tx) error {
		return tx.PutFile(&kyc.File{V: 1, ID: "file-3", Account: "GBOB", Size: 1}, []byte("z"))
	}); err != nil {
		t.Fatal(err)
	}
	want, _ := store.Sums(ctx, src)
	got, _ := store.Sums(ctx, dst)
	if want[1] == got[1] {
		t.Fatal("different files, the same checksum")
	}
	if err := dst.BeginCopy(ctx, "/elsewhere/anchor.db", false); err == nil {
		t.Fatal("a copy over a database holding records, without --force")
	}
	if err := dst.BeginCopy(ctx, "/elsewhere/anchor.db", true); err != nil {
		t.Fatal(err)
	}
	if err := dst.BeginCopy(ctx, "/elsewhere/anchor.db", false); err != nil {
		t.Fatalf("restarting an unfinished copy of the same source: %v", err)
	}
	// A target holding a record the source does not: the verification names the kind.
	if err := dst.TransferUpdate(ctx, func(tx transfer.Tx) error {
		return tx.Put(&transfer.Transaction{ID: "tx-extra", Account: alice, Status: transfer.Completed, StartedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Copy(ctx, src, dst, nil); !errors.Is(err, store.ErrCopyMismatch) || !strings.Contains(err.Error(), "transfers (source 1 records, target 2)") {
		t.Fatalf("a copy that differs: %v", err)
	}
}
