package treasury_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// TestExactlyOnceAcrossMidnight: an ad-hoc payment whose outcome was unknown at 23:59 is
// resumed, not paid again, when the same command runs after midnight; a repeat of a confirmed
// payment is refused, naming the earlier one, until --ref makes a deliberate second one. The
// same holds for burns and home-domain changes, whose keys are built the same way.
func TestExactlyOnceAcrossMidnight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	e.clock.t = day.Add(24*time.Hour - time.Minute) // 23:59 UTC
	u := e.user(true)
	req := admin.ActionRequest{Kind: "pay", To: u.Address(), Amount: "5", Memo: "7"}
	if _, err := admin.RunAction(ctx, e.treasury(treasury.Hooks{AfterSubmit: func() error { return errCrash }}), nil, req); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	e.clock.add(2 * time.Minute) // 00:01 the next day
	op, err := admin.RunAction(ctx, e.treasury(treasury.Hooks{}), nil, req)
	if err != nil || op.State != treasury.Confirmed {
		t.Fatalf("after midnight: %v %+v", err, op)
	}
	if n := e.paymentsTo(u.Address()); n != 1 {
		t.Fatalf("%d payments: the run after midnight paid again", n)
	}
	e.clock.add(3 * 24 * time.Hour)
	again, err := admin.RunAction(ctx, e.treasury(treasury.Hooks{}), nil, req)
	if err != nil || !again.AlreadyDone || again.Hash != op.Hash || !again.CreatedAt.Equal(op.CreatedAt) {
		t.Fatalf("a repeat of a confirmed payment: %v %+v", err, again)
	}
	if n := e.paymentsTo(u.Address()); n != 1 {
		t.Fatalf("%d payments after the refused repeat", n)
	}
	req.Ref = "second"
	for i := 0; i < 2; i++ { // the same --ref twice is still one payment
		if op, err := admin.RunAction(ctx, e.treasury(treasury.Hooks{}), nil, req); err != nil || op.State != treasury.Confirmed {
			t.Fatalf("--ref second, run %d: %v", i, err)
		}
	}
	if n := e.paymentsTo(u.Address()); n != 2 {
		t.Fatalf("%d payments, want 2 (one per reference)", n)
	}
}

// TestFailedBurnIsRetried: a burn of withdrawals that failed on the ledger is retried as a new
// attempt of the same set (and still burns it once), and one asset's failure does not stop the
// burns of the others.
func TestFailedBurnIsRetried(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	usdx := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	issuer2 := keypair.MustRandom()
	e.hc.Fund(issuer2.Address())
	zzzx := txnbuild.CreditAsset{Code: "ZZZX", Issuer: issuer2.Address()}
	ct, _ := zzzx.ToChangeTrustAsset()
	e.submit(e.dist, &txnbuild.ChangeTrust{Line: ct, Limit: "1000000"})
	e.submit(issuer2, &txnbuild.Payment{Destination: e.dist.Address(), Amount: "100", Asset: zzzx})
	wd := config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}
	e.cfg.Assets[0].Withdraw = wd
	e.cfg.Assets = append(e.cfg.Assets, config.Asset{Code: "ZZZX", Issuer: issuer2.Address(), DistributionAccount: e.dist.Address(), Withdraw: wd})
	for _, code := range []string{"USDX", "ZZZX"} {
		u := e.user(false)
		w := e.withdrawal(u, "")
		if code != "USDX" {
			var err error
			w, err = e.tr.Create(ctx, transfer.Principal{Account: u.Address()}, transfer.Request{Kind: transfer.Withdrawal, AssetCode: code})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.tr.Act(ctx, w.ID, transfer.Action{Name: transfer.ActWithdrawReceived, By: "ops", Amount: "10", StellarID: code + "-hash"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.tr.Act(ctx, w.ID, transfer.Action{Name: transfer.ActPaid, By: "ops", ExternalID: "OUT-" + code}); err != nil {
			t.Fatal(err)
		}
	}
	// The distribution account no longer holds the USDX: its burn fails on the ledger.
	e.submit(e.dist, &txnbuild.Payment{Destination: e.issuer.Address(), Amount: "100000", Asset: usdx})
	burns := func() map[string]int {
		n := map[string]int{}
		for _, p := range e.hz.Payments() {
			if p.From == e.dist.Address() && (p.To == e.issuer.Address() || p.To == issuer2.Address()) && p.Amount == 100_000_000 {
				n[p.To]++
			}
		}
		return n
	}
	// A dry run shows one burn per asset and stores and submits nothing.
	dry := e.treasury(treasury.Hooks{})
	dry.DryRun = true
	stored, _ := e.st.Ops(ctx)
	plans, err := dry.BurnWithdrawals(ctx, e.tr)
	if after, _ := e.st.Ops(ctx); err != nil || len(plans) != 2 || !plans[0].DryRun || !plans[1].DryRun || len(after) != len(stored) || len(burns()) != 0 {
		t.Fatalf("dry run: %v, %d plans, %d→%d actions, burns %v", err, len(plans), len(stored), len(after), burns())
	}
	ops, err := e.treasury(treasury.Hooks{}).BurnWithdrawals(ctx, e.tr)
	if err == nil || !strings.Contains(err.Error(), "USDX") {
		t.Fatalf("first burn run: %v", err)
	}
	if len(ops) != 1 || burns()[issuer2.Address()] != 1 {
		t.Fatalf("the USDX failure stopped the ZZZX burn: %d ops, burns %v", len(ops), burns())
	}
	e.submit(e.issuer, &txnbuild.Payment{Destination: e.dist.Address(), Amount: "50", Asset: usdx})
	for run := 0; run < 2; run++ {
		if _, err := e.treasury(treasury.Hooks{}).BurnWithdrawals(ctx, e.tr); err != nil {
			t.Fatalf("run %d after the refill: %v", run, err)
		}
	}
	if b := burns(); b[e.issuer.Address()] != 1 || b[issuer2.Address()] != 1 {
		t.Fatalf("burns %v, want one per asset", b)
	}
}

// TestCorruptActionIsNotRebuilt: an action record that cannot be decoded stops the command with
// an error naming it; it is never taken as absent and built (and paid) anew.
func TestCorruptActionIsNotRebuilt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(true)
	req := admin.ActionRequest{Kind: "pay", To: u.Address(), Amount: "5", Ref: "r1"}
	if _, err := admin.RunAction(ctx, e.treasury(treasury.Hooks{AfterSubmit: func() error { return errCrash }}), nil, req); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	e.st.Close()
	if e.loc.URL != "" {
		// PostgreSQL takes only valid JSON: a body that does not decode into an action.
		conn, err := pgx.Connect(ctx, e.loc.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `UPDATE treasury_ops SET body = '{"v":1,"state":{}}' WHERE id = 'pay/r1'`); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	} else {
		db, err := bolt.Open(filepath.Join(e.dir, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("treasury_ops")).Put([]byte("pay/r1"), []byte(`{"v":1,"state":`))
		})
		db.Close()
	}
	e.st = storetest.OpenAt(t, e.loc, false)
	var err error
	_, err = admin.RunAction(ctx, e.treasury(treasury.Hooks{}), nil, req)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "pay/r1") {
		t.Fatalf("resume over a corrupt record: %v", err)
	}
	if n := e.paymentsTo(u.Address()); n != 1 {
		t.Fatalf("%d payments: a corrupt record was built anew", n)
	}
}
