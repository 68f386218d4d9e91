package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Records runs the contract of the records the services keep. open returns two handles on one
// fresh store: two replicas' connections on PostgreSQL, the same store twice on bbolt (one
// process holds it).
func Records(t *testing.T, open func(t *testing.T) (a, b store.Backend)) {
	ctx := context.Background()
	t.Run("a memo is reserved once across replicas", func(t *testing.T) {
		a, b := open(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			st := []store.Backend{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var won bool // as the committed run left it (a run may be re-run after a conflict)
				err := st.TransferUpdate(ctx, func(tx transfer.Tx) error {
					var err error
					won, err = tx.ReserveMemo("ref", "M1", fmt.Sprint("tx", i))
					return err
				})
				if err != nil {
					t.Error(err)
				} else if won {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d reservations of one memo", wins.Load())
		}
	})
	t.Run("a fresh memo already taken is refused, and the first claim stands", func(t *testing.T) {
		a, b := open(t)
		if err := a.TransferUpdate(ctx, func(tx transfer.Tx) error { return tx.ClaimFreshMemo("ref", "F1", "tx1") }); err != nil {
			t.Fatal(err)
		}
		// Taken: said at once (bbolt) or at the commit, which fails after its retries
		// (PostgreSQL); either way the transaction writes nothing.
		err := b.TransferUpdate(ctx, func(tx transfer.Tx) error {
			if err := tx.ClaimFreshMemo("ref", "F1", "tx2"); err != nil {
				return err
			}
			return tx.Put(&transfer.Transaction{ID: "tx2", Account: keypair.MustRandom().Address(), Status: transfer.PendingUserTransferStart, StartedAt: time.Now()})
		})
		if err == nil {
			t.Fatal("a taken memo was claimed again")
		}
		if err := a.TransferView(ctx, func(tx transfer.Tx) error {
			if owner, err := tx.MemoOwner("ref", "F1"); err != nil || owner != "tx1" {
				t.Errorf("F1 belongs to %q (%v), want tx1", owner, err)
			}
			if _, err := tx.Get("tx2"); !errors.Is(err, transfer.ErrNotFound) {
				t.Errorf("the refused transaction was written (%v)", err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("concurrent writers lose nothing", func(t *testing.T) {
		a, b := open(t)
		account := keypair.MustRandom().Address()
		var wg sync.WaitGroup
		for i := range 24 {
			st := []store.Backend{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr := &transfer.Transaction{ID: fmt.Sprintf("t%02d", i), Account: account, Memo: fmt.Sprint(i % 3),
					Status: transfer.PendingUserTransferStart, StartedAt: time.Now()}
				if err := st.TransferUpdate(ctx, func(tx transfer.Tx) error { return tx.Put(tr) }); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		open := func() int {
			var n int
			a.TransferView(ctx, func(tx transfer.Tx) error { n, _ = tx.OpenTransactions(account); return nil })
			return n
		}
		if n := open(); n != 24 {
			t.Fatalf("%d open transactions, want 24", n)
		}
		for i := range 10 {
			err := b.TransferUpdate(ctx, func(tx transfer.Tx) error {
				tr, err := tx.Get(fmt.Sprintf("t%02d", i))
				if err != nil {
					return err
				}
				tr.Status = transfer.Completed
				return tx.Put(tr)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := open(); n != 14 {
			t.Fatalf("%d open transactions after 10 completed, want 14", n)
		}
	})
	t.Run("newest first across pages, each once", func(t *testing.T) {
		st, _ := open(t)
		base := time.Now().Add(-time.Hour)
		const n = 150
		err := st.TransferUpdate(ctx, func(tx transfer.Tx) error {
			for i := range n {
				// Every third shares its time with the one before: ids break the tie.
				at := base.Add(time.Duration(i-i%3/2) * time.Second)
				if err := tx.Put(&transfer.Transaction{ID: fmt.Sprintf("id%03d", i), Account: "GOWNER", Memo: fmt.Sprint(i % 2),
					Status: transfer.Completed, StartedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		st.AllTransfers(ctx, func(tr *transfer.Transaction) bool { got = append(got, tr.ID); return true })
		if len(got) != n || got[0] != fmt.Sprintf("id%03d", n-1) || got[n-1] != "id000" {
			t.Fatalf("%d transactions, first %v last %v", len(got), got[:1], got[len(got)-1:])
		}
		for i := 1; i < n; i++ {
			if got[i] >= got[i-1] {
				t.Fatalf("out of order at %d: %s after %s", i, got[i], got[i-1])
			}
		}
		var mine []string
		st.Owned(ctx, "GOWNER", "1", func(tr *transfer.Transaction) bool { mine = append(mine, tr.ID); return len(mine) < 70 })
		if len(mine) != 70 || mine[0] != "id149" || mine[69] != "id011" {
			t.Fatalf("owner's page: %d, %v ... %v", len(mine), mine[:1], mine[len(mine)-1:])
		}
	})
	t.Run("a callback queued again is not finished by the old delivery", func(t *testing.T) {
		st, _ := open(t)
		now := time.Now()
		enqueue := func(at time.Time) {
			if err := st.TransferUpdate(ctx, func(tx transfer.Tx) error { return tx.EnqueueCallback("t1", at) }); err != nil {
				t.Fatal(err)
			}
		}
		enqueue(now.Add(-time.Second))
		due, err := st.DueCallbacks(ctx, now, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due %v %v", due, err)
		}
		enqueue(now) // the transaction changed again while its callback was being delivered
		if err := st.FinishCallback(ctx, due[0], nil); err != nil {
			t.Fatal(err)
		}
		if again, _ := st.DueCallbacks(ctx, now, 10); len(again) != 1 || !again[0].Due.Equal(now) {
			t.Fatalf("the new callback was dropped: %v", again)
		}
		next := callback.Item{Kind: transfer.CallbackKind, ID: "t1", Attempt: 1, Due: now.Add(time.Hour)}
		cur, _ := st.DueCallbacks(ctx, now, 10)
		if err := st.FinishCallback(ctx, cur[0], &next); err != nil {
			t.Fatal(err)
		}
		if due, _ := st.DueCallbacks(ctx, now, 10); len(due) != 0 {
			t.Fatalf("a retry an hour away is due: %v", due)
		}
		if due, _ := st.DueCallbacks(ctx, now.Add(2*time.Hour), 10); len(due) != 1 || due[0].Attempt != 1 {
			t.Fatalf("the retry: %v", due)
		}
	})
	t.Run("file bytes are counted per account and in all", func(t *testing.T) {
		st, _ := open(t)
		account := keypair.MustRandom().Address()
		put := func(id, memo string, size int) {
			err := st.KYCUpdate(ctx, func(tx kyc.Tx) error {
				return tx.PutFile(&kyc.File{ID: id, Account: account, Memo: memo, Size: int64(size)}, make([]byte, size))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		put("f1", "", 100)
		put("f2", "7", 50)
		put("f2", "7", 50) // the same file again counts once
		bytes := func() (mine, all int64) {
			st.KYCView(ctx, func(tx kyc.Tx) error { mine, all, _ = tx.StoredBytes(account); return nil })
			return
		}
		if mine, all := bytes(); mine != 150 || all != 150 {
			t.Fatalf("stored %d of %d, want 150 of 150", mine, all)
		}
		if err := st.KYCUpdate(ctx, func(tx kyc.Tx) error { return tx.DeleteFile("f1") }); err != nil {
			t.Fatal(err)
		}
		if mine, all := bytes(); mine != 50 || all != 50 {
			t.Fatalf("after a deletion: %d of %d, want 50 of 50", mine, all)
		}
	})
	t.Run("values with markup, quotes and backslashes come back as stored", func(t *testing.T) {
		st, _ := open(t)
		account := keypair.MustRandom().Address()
		odd := `<img src=x onerror="alert(1)"> \ \u0000 & 'q' ` + "\u00e9\x01"
		c := &kyc.Customer{V: 1, ID: "c-odd", Account: account, Values: map[string]string{"first_name": odd}, UpdatedAt: time.Now()}
		if err := st.KYCUpdate(ctx, func(tx kyc.Tx) error { return tx.PutCustomer(c) }); err != nil {
			t.Fatal(err)
		}
		err := st.KYCView(ctx, func(tx kyc.Tx) error {
			id, err := tx.CustomerID(account, "")
			if err != nil {
				return err
			}
			got, err := tx.Customer(id)
			if err != nil {
				return err
			}
			if got.Values["first_name"] != odd {
				t.Errorf("stored %q, read %q", odd, got.Values["first_name"])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := st.Check(ctx); err != nil || !rep.OK() {
			t.Fatalf("store check: %v %+v", err, rep)
		}
	})
	t.Run("unmatched payments newest first, found by token", func(t *testing.T) {
		st, _ := open(t)
		now := time.Now()
		err := st.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
			for i := range 100 {
				if err := o.PutUnmatched(&treasury.Unmatched{V: 1, PagingToken: fmt.Sprint(1000 + i), Account: "GDIST",
					Amount: "1", At: now.Add(time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var tokens []string
		st.EachUnmatched(ctx, func(u *treasury.Unmatched) bool { tokens = append(tokens, u.PagingToken); return true })
		if len(tokens) != 100 || tokens[0] != "1099" || tokens[99] != "1000" {
			t.Fatalf("%d payments, %v ... %v", len(tokens), tokens[:1], tokens[len(tokens)-1:])
		}
		st.TreasuryView(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
			if u, err := o.Unmatched("1042"); err != nil || u.Account != "GDIST" {
				t.Errorf("by token: %v %v", u, err)
			}
			if _, err := o.Unmatched("999"); err != treasury.ErrPaymentNotFound {
				t.Errorf("an unknown token: %v", err)
			}
			return nil
		})
	})
	t.Run("the last reconcile is none at first, then the latest, read by every replica", func(t *testing.T) {
		a, b := open(t)
		last := func(st store.Backend) *treasury.ReconcileRun {
			var run *treasury.ReconcileRun
			if err := st.TreasuryView(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
				var err error
				run, err = o.LastReconcile()
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return run
		}
		if run := last(b); run != nil {
			t.Fatalf("a fresh store has a last reconcile: %+v", run)
		}
		at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
		for i, n := range []int{3, 0} {
			if err := a.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
				return o.PutLastReconcile(&treasury.ReconcileRun{V: 1, At: at.Add(time.Duration(i) * time.Hour), Differences: n})
			}); err != nil {
				t.Fatal(err)
			}
			if run := last(b); run == nil || !run.At.Equal(at.Add(time.Duration(i)*time.Hour)) || run.Differences != n {
				t.Fatalf("after run %d: %+v", i, run)
			}
		}
	})
	t.Run("quotes are kept whole and listed once each", func(t *testing.T) {
		a, b := open(t)
		now := time.Now().UTC().Truncate(time.Second)
		for i := range 30 {
			q := &quotes.Quote{V: 1, ID: fmt.Sprintf("q-%02d", i), SellAsset: "iso4217:EUR", SellAmount: "10.00", BuyAsset: "stellar:USDX:GA",
				BuyAmount: "9.0000000", Account: "GA", Fee: quotes.Fee{Total: "1.00", Asset: "iso4217:EUR", Details: []quotes.FeeDetail{{Name: "FX", Amount: "1.00"}}},
				CreatedAt: now.Add(time.Duration(i) * time.Second), ExpiresAt: now.Add(time.Hour)}
			if err := a.PutQuote(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		got, err := quotes.List(ctx, b, quotes.Filter{Limit: 5})
		if err != nil || len(got) != 5 || got[0].ID != "q-29" || got[4].ID != "q-25" {
			t.Fatalf("newest five: %v %v", got, err)
		}
		q, err := b.Quote(ctx, "q-07")
		if err != nil || q.Fee.Details[0].Name != "FX" || !q.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("read back: %+v %v", q, err)
		}
		if _, err := b.Quote(ctx, "nope"); err != quotes.ErrNotFound {
			t.Fatalf("an unknown quote: %v", err)
		}
		n := 0
		if err := b.EachQuote(ctx, func(*quotes.Quote) bool { n++; return n < 3 }); err != nil || n != 3 {
			t.Fatalf("EachQuote stops when told: %d %v", n, err)
		}
	})
}
