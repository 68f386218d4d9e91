package transfer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
)

// countingStore counts the transactions the reconciler's reads hand out.
type countingStore struct {
	transfer.Store
	visited int
}

func (c *countingStore) DueExpiries(ctx context.Context, now time.Time, fn func(string) bool) error {
	return c.Store.DueExpiries(ctx, now, func(id string) bool { c.visited++; return fn(id) })
}

func (c *countingStore) WaitingForKYC(ctx context.Context, account, memo string, fn func(*transfer.Transaction) bool) error {
	return c.Store.WaitingForKYC(ctx, account, memo, func(t *transfer.Transaction) bool { c.visited++; return fn(t) })
}

// TestReconcileReadsOnlyWhatIsDueOrChanged: with many transactions waiting and nothing due or
// changed, a pass reads none of them; a KYC approval makes it read that customer's only; an
// expiry reads only what is due.
func TestReconcileReadsOnlyWhatIsDueOrChanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cs := &countingStore{Store: e.tr.Store}
	e.tr.Store = cs
	for i := 0; i < 200; i++ {
		if _, err := e.tr.Create(ctx, transfer.Principal{Account: keypair.MustRandom().Address()}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"}); err != nil {
			t.Fatal(err)
		}
	}
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	mine, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if adv, exp, err := e.tr.Reconcile(ctx); err != nil || adv+exp != 0 || cs.visited != 0 {
		t.Fatalf("idle pass: advanced %d expired %d, read %d transactions, %v", adv, exp, cs.visited, err)
	}
	e.customer(t, p, kyc.Accepted)
	if adv, _, err := e.tr.Reconcile(ctx); err != nil || adv != 1 || cs.visited != 1 {
		t.Fatalf("after one approval: advanced %d, read %d, %v", adv, cs.visited, err)
	}
	if got, _ := e.tr.ShowTx(ctx, mine.ID); got.Status != transfer.PendingUserTransferStart {
		t.Fatalf("approved customer's deposit: %s", got.Status)
	}
	cs.visited = 0
	if adv, exp, _ := e.tr.Reconcile(ctx); adv+exp != 0 || cs.visited != 0 {
		t.Fatalf("the change was handled twice (read %d)", cs.visited)
	}
	e.now = e.now.Add(2 * time.Hour) // past every deadline
	if _, exp, err := e.tr.Reconcile(ctx); err != nil || exp != 201 {
		t.Fatalf("expiry: %d, %v", exp, err)
	}
}

// populate stores n transactions waiting for KYC, 1,000 per store transaction.
func populate(b testing.TB, e *env, n int) {
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		err := e.tr.Store.TransferUpdate(ctx, func(tx transfer.Tx) error {
			for j := 0; j < 1000; j++ {
				by := e.now.Add(time.Hour)
				acct := keypair.MustRandom().Address()
				started := e.now.Add(time.Duration(i+j) * time.Millisecond)
				t := &transfer.Transaction{ID: acct, Kind: transfer.Deposit, Status: transfer.PendingCustomerInfoUpdate, Account: acct,
					AssetCode: "USDX", KYCType: "sep6-deposit", StartedAt: started, UpdatedAt: started, UserActionRequiredBy: &by}
				if err := tx.Put(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleReconcile: one periodic pass (every 5 s in anchor serve) with 100,000
// transactions waiting and nothing due or changed. CPU share of a core = ns/op ÷ 5e9.
func BenchmarkIdleReconcile(b *testing.B) {
	e := newEnv(b)
	populate(b, e, 100_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if adv, exp, err := e.tr.Reconcile(ctx); err != nil || adv+exp != 0 {
			b.Fatal(adv, exp, err)
		}
	}
}

// BenchmarkTxListPage: anchor tx list's page (the newest 50) with 100,000 transactions in the
// store, against reading them all (what tx list did before --limit).
func BenchmarkTxListPage(b *testing.B) {
	e := newEnv(b)
	populate(b, e, 100_000)
	ctx := context.Background()
	for _, limit := range []int{50, 0} {
		b.Run(map[int]string{50: "newest-50", 0: "all"}[limit], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				list, err := e.tr.OperatorList(ctx, transfer.OpsFilter{Limit: limit})
				if err != nil || (limit > 0 && len(list) != limit) {
					b.Fatal(len(list), err)
				}
			}
		})
	}
}

// TestListAcrossChunks: the store is read in chunks (64, 128, ... per read transaction); a
// list of every transaction, or a page, has each once, newest first, and stopping early stops.
func TestListAcrossChunks(t *testing.T) {
	e := newEnv(t)
	populate(t, e, 1000)
	ctx := context.Background()
	for _, limit := range []int{0, 50, 64, 65, 500} {
		list, err := e.tr.OperatorList(ctx, transfer.OpsFilter{Limit: limit})
		want := limit
		if limit == 0 {
			want = 1000
		}
		if err != nil || len(list) != want {
			t.Fatalf("limit %d: %d transactions, %v", limit, len(list), err)
		}
		for i := 1; i < len(list); i++ {
			if !list[i].StartedAt.Before(list[i-1].StartedAt) {
				t.Fatalf("limit %d: row %d (%s) is not older than row %d (%s)", limit, i, list[i].StartedAt, i-1, list[i-1].StartedAt)
			}
		}
	}
	seen := 0
	if err := e.tr.OperatorEach(ctx, transfer.OpsFilter{}, func(*transfer.Transaction) bool { seen++; return seen < 100 }); err != nil || seen != 100 {
		t.Fatalf("stopped after %d, %v; want 100", seen, err)
	}
}
