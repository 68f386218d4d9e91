package treasury_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// TestSettleUnmatchedPayments: three payments match no withdrawal (an unknown memo, a short
// amount, a top-up) and keep reconcile red. One is returned to its sender exactly once through
// crashes at every step, with a return memo naming its transaction; one is tied to the
// withdrawal it short-paid, which moves on; one is acknowledged with a note. Then reconcile is
// green, no payment can be settled twice or two ways, and a watcher replay keeps the settlements.
func TestSettleUnmatchedPayments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, usdx := e.withdrawingUser()
	w := e.withdrawal(u, "40")
	e.payWithMemo(u, "5", "12345", usdx)         // unknown memo
	e.payWithMemo(u, "30", w.WithdrawMemo, usdx) // short
	e.payWithMemo(u, "2", "777", usdx)           // a top-up, say
	watcher := func() *treasury.Watcher {
		return &treasury.Watcher{Store: e.st, Config: e.cfg, Payments: horizon.NewPaymentSource(e.hz.URL(), 5*time.Second), Transfers: e.tr}
	}
	if m, un, err := watcher().Poll(ctx); err != nil || m != 0 || un != 3 {
		t.Fatalf("poll: %d %d %v", m, un, err)
	}
	byAmount := map[string]treasury.Unmatched{}
	list, _ := e.st.UnmatchedPayments(ctx)
	for _, p := range list {
		byAmount[p.Amount] = p
	}
	unknown, short, topUp := byAmount["5.0000000"], byAmount["30.0000000"], byAmount["2.0000000"]
	reconcile := func() *treasury.Report {
		t.Helper()
		rep, err := treasury.Reconcile(ctx, e.st, e.tr, e.cfg, horizon.NewLedger(e.hz.URL(), 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Assets[0].Balanced || len(rep.Untied) != 0 {
			t.Fatalf("reconcile: %+v", rep)
		}
		return rep
	}
	if rep := reconcile(); rep.OK || len(rep.Unsettled) != 3 {
		t.Fatalf("three open payments: ok=%v unsettled %d", rep.OK, len(rep.Unsettled))
	}
	returns := func() []string {
		var hashes []string
		for _, p := range e.hz.Payments() {
			if p.From == e.dist.Address() && p.To == u.Address() && p.Memo.Type == xdr.MemoTypeMemoReturn {
				hashes = append(hashes, hex.EncodeToString(p.Memo.RetHash[:]))
			}
		}
		return hashes
	}

	// Return: crashes after storing and after submitting, then a clean run; one return only.
	crash := func() error { return errCrash }
	for _, h := range []treasury.Hooks{{AfterStore: crash}, {AfterSubmit: crash}} {
		if _, err := e.treasury(h).ReturnPayment(ctx, unknown.PagingToken); !errors.Is(err, errCrash) {
			t.Fatalf("crash: %v", err)
		}
	}
	op, err := e.treasury(treasury.Hooks{}).ReturnPayment(ctx, unknown.PagingToken)
	if err != nil || op.State != treasury.Confirmed || op.AlreadyDone {
		t.Fatalf("return: %v %+v", err, op)
	}
	if r := returns(); len(r) != 1 || r[0] != unknown.TxHash {
		t.Fatalf("returns on the ledger %v, want one naming %s", r, unknown.TxHash)
	}
	again, err := e.treasury(treasury.Hooks{}).ReturnPayment(ctx, unknown.PagingToken)
	if err != nil || !again.AlreadyDone || again.Hash != op.Hash || len(returns()) != 1 {
		t.Fatalf("second return: %v %+v, %d returns", err, again, len(returns()))
	}
	p, _ := e.treasury(treasury.Hooks{}).Payment(ctx, unknown.PagingToken)
	if p.State() != "returned" || p.Settlement.Hash != op.Hash || p.Settlement.By != "treasurer" {
		t.Fatalf("returned payment %+v", p.Settlement)
	}
	if _, err := e.treasury(treasury.Hooks{}).ResolvePayment(ctx, e.tr, unknown.PagingToken, "", "x"); !errors.As(err, new(*treasury.AlreadySettledError)) {
		t.Fatalf("resolve a returned payment: %v", err)
	}

	// Resolve to the withdrawal it short-paid: the withdrawal takes it as its own payment.
	if _, err := e.treasury(treasury.Hooks{}).ResolvePayment(ctx, e.tr, short.PagingToken, "nope", ""); !errors.Is(err, transfer.ErrNotFound) {
		t.Fatalf("resolve to a missing withdrawal: %v", err)
	}
	if _, err := e.treasury(treasury.Hooks{}).ResolvePayment(ctx, e.tr, short.PagingToken, w.ID, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := e.tr.ShowTx(ctx, w.ID)
	if got.Status != transfer.PendingAnchor || transfer.FormatAmount(*got.AmountIn) != "30.0000000" || got.StellarOperationID != short.PagingToken {
		t.Fatalf("withdrawal after resolve: %s %v %s", got.Status, got.AmountIn, got.StellarOperationID)
	}
	if _, err := e.treasury(treasury.Hooks{}).ReturnPayment(ctx, short.PagingToken); !errors.As(err, new(*treasury.AlreadySettledError)) || !strings.Contains(err.Error(), w.ID) {
		t.Fatalf("return a payment tied to a withdrawal: %v", err)
	}
	if len(returns()) != 1 {
		t.Fatal("a resolved payment was sent back")
	}

	// Acknowledge the top-up; an unknown id is not found.
	if _, err := e.treasury(treasury.Hooks{}).ResolvePayment(ctx, e.tr, "999999", "", "x"); !errors.Is(err, treasury.ErrPaymentNotFound) {
		t.Fatalf("unknown payment: %v", err)
	}
	if _, err := e.treasury(treasury.Hooks{}).ResolvePayment(ctx, e.tr, topUp.PagingToken, "", "treasury top-up from the bank"); err != nil {
		t.Fatal(err)
	}
	if rep := reconcile(); !rep.OK || len(rep.Unsettled) != 0 {
		t.Fatalf("all settled: ok=%v unsettled %+v", rep.OK, rep.Unsettled)
	}

	// A watcher that lost its cursor replays the payments: settlements stay.
	e.st.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error { return o.PutCursor(e.dist.Address(), "") })
	if _, _, err := watcher().Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := reconcile(); !rep.OK {
		t.Fatalf("after a replay: unsettled %+v", rep.Unsettled)
	}
}
