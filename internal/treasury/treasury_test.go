package treasury_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	t            testing.TB
	hz           *standin.Server
	hc           *horizonclient.Client
	st           store.Backend
	loc          storetest.Location
	cfg          *config.Config
	tr           *transfer.Service
	kyc          *kyc.Service
	issuer, dist *keypair.Full
	clock        *clock
	assetKey     string
	dir          string
}

func newEnv(t testing.TB) *env {
	e := &env{t: t, issuer: keypair.MustRandom(), dist: keypair.MustRandom(), clock: &clock{t: time.Now().UTC()}}
	e.hz = standin.NewWithOptions(standin.Options{Now: e.clock.now})
	t.Cleanup(e.hz.Close)
	e.hc = &horizonclient.Client{HorizonURL: e.hz.URL(), HTTP: http.DefaultClient}
	e.hc.Fund(e.issuer.Address())
	e.hc.Fund(e.dist.Address())
	asset := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	ct, _ := asset.ToChangeTrustAsset()
	e.submit(e.dist, &txnbuild.ChangeTrust{Line: ct, Limit: "1000000"})
	e.submit(e.issuer, &txnbuild.Payment{Destination: e.dist.Address(), Amount: "100000", Asset: asset})
	e.assetKey = "USDX:" + e.issuer.Address()
	e.loc = storetest.NewLocation(t)
	e.dir = e.loc.Dir
	e.st = storetest.OpenAt(t, e.loc, false)
	e.cfg = &config.Config{NetworkPassphrase: network.TestNetworkPassphrase,
		KYC:  config.KYC{MaxFileSize: 1 << 20, CustomerQuota: 1 << 22, DefaultType: "sep6-deposit", Types: config.DefaultCustomerTypes(), AutoApprove: true},
		SEP6: config.SEP6{TransferExpiry: 24 * time.Hour, DepositKYCType: "sep6-deposit", WithdrawKYCType: "sep6-withdraw"},
		Assets: []config.Asset{{Code: "USDX", Issuer: e.issuer.Address(), DistributionAccount: e.dist.Address(),
			Deposit: config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}}}}
	e.kyc = &kyc.Service{Store: e.st, Config: e.cfg.KYC}
	e.tr = &transfer.Service{Store: e.st, Config: e.cfg, KYC: e.kyc}
	return e
}

func (e *env) submit(src *keypair.Full, ops ...txnbuild.Operation) {
	e.t.Helper()
	acct, err := e.hc.AccountDetail(horizonclient.AccountRequest{AccountID: src.Address()})
	if err != nil {
		e.t.Fatal(err)
	}
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true, Operations: ops,
		BaseFee: 100, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, src)
	if _, err := e.hc.SubmitTransaction(tx); err != nil {
		e.t.Fatalf("setup transaction: %v", err)
	}
}

// user creates a funded user account, with a trustline when trust is set.
func (e *env) user(trust bool) *keypair.Full {
	u := keypair.MustRandom()
	e.hc.Fund(u.Address())
	if trust {
		ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
		e.submit(u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000000"})
	}
	return u
}

// deposit creates a deposit for u that received 25 (so it is pending_anchor).
func (e *env) deposit(u *keypair.Full, claimable bool) string {
	e.t.Helper()
	ctx := context.Background()
	p := kyc.Principal{Account: u.Address()}
	e.kyc.Put(ctx, p, &kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"}})
	cb := ""
	if claimable {
		cb = "true"
	}
	tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", ClaimableBalanceSupported: cb})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "25", ExternalID: "W-" + tx.ID}); err != nil {
		e.t.Fatal(err)
	}
	return tx.ID
}

func (e *env) treasury(h treasury.Hooks) *treasury.Treasury {
	return &treasury.Treasury{Store: e.st, Config: e.cfg, Horizon: horizon.NewSubmitter(e.hz.URL(), 5*time.Second),
		Signer: e.dist, By: "treasurer", Hooks: h, Now: e.clock.now}
}

// paymentsTo counts the payments the ledger applied to account.
func (e *env) paymentsTo(account string) int {
	n := 0
	for _, p := range e.hz.Payments() {
		if p.To == account && p.From == e.dist.Address() {
			n++
		}
	}
	return n
}

func (e *env) status(id string) transfer.Status {
	tx, err := e.tr.ShowTx(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tx.Status
}

var errCrash = errors.New("simulated crash")

func TestCreditOnce(t *testing.T) {
	e := newEnv(t)
	u := e.user(true)
	id := e.deposit(u, false)
	tx, err := e.treasury(treasury.Hooks{}).Credit(context.Background(), id)
	if err != nil || tx.Status != transfer.Completed || tx.StellarTransactionID == "" {
		t.Fatalf("credit: %v %+v", err, tx)
	}
	if b, _ := e.hz.Balance(u.Address(), e.assetKey); b != 250_000_000 {
		t.Fatalf("user balance %d", b)
	}
	// Crediting again pays nothing more.
	if _, err := e.treasury(treasury.Hooks{}).Credit(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n := e.paymentsTo(u.Address()); n != 1 {
		t.Fatalf("%d payments", n)
	}
}

// TestCrashAtEveryStep: a crash before signing, after storing, or after submitting, then a
// new process (a new Treasury on the same store) running credit again: exactly one payment.
func TestCrashAtEveryStep(t *testing.T) {
	crash := func() error { return errCrash }
	for name, hooks := range map[string]treasury.Hooks{
		"before sign":  {BeforeSign: crash},
		"after store":  {AfterStore: crash},
		"after submit": {AfterSubmit: crash},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			u := e.user(true)
			id := e.deposit(u, false)
			if _, err := e.treasury(hooks).Credit(context.Background(), id); !errors.Is(err, errCrash) {
				t.Fatalf("first run: %v", err)
			}
			tx, err := e.treasury(treasury.Hooks{}).Credit(context.Background(), id)
			if err != nil || tx.Status != transfer.Completed {
				t.Fatalf("after restart: %v %+v", err, tx)
			}
			if n := e.paymentsTo(u.Address()); n != 1 {
				t.Fatalf("%d payments after a crash %s", n, name)
			}
		})
	}
}

// TestHorizonFaults: each way Horizon fails, once, during a credit: exactly one payment.
func TestHorizonFaults(t *testing.T) {
	for _, f := range []standin.Fault{standin.TimeoutAfterApply, standin.TimeoutBeforeApply, standin.BadSeq, standin.TooLate, standin.RateLimited} {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t)
			u := e.user(true)
			id := e.deposit(u, false)
			e.hz.Inject(f)
			tx, err := e.treasury(treasury.Hooks{}).Credit(context.Background(), id)
			if err != nil {
				// An unknown outcome is reported; running credit again settles it.
				tx, err = e.treasury(treasury.Hooks{}).Credit(context.Background(), id)
			}
			if err != nil || tx.Status != transfer.Completed {
				t.Fatalf("%v %+v", err, tx)
			}
			if n := e.paymentsTo(u.Address()); n != 1 {
				t.Fatalf("%d payments with %s", n, f)
			}
		})
	}
}

// TestExpiredPaymentIsRebuilt: a stored payment that never reached the ledger and whose max
// time passed is replaced by a new one; still exactly one payment.
func TestExpiredPaymentIsRebuilt(t *testing.T) {
	e := newEnv(t)
	u := e.user(true)
	id := e.deposit(u, false)
	// Horizon loses the first submission; the process then crashes.
	e.hz.Inject(standin.TimeoutBeforeApply)
	crashOnce := true
	tr := e.treasury(treasury.Hooks{AfterSubmit: func() error {
		if crashOnce {
			crashOnce = false
			return errCrash
		}
		return nil
	}})
	if _, err := tr.Credit(context.Background(), id); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	first, _ := e.tr.ShowTx(context.Background(), id)
	e.clock.add(10 * time.Minute) // past the payment's max time: it can never land now
	tx, err := e.treasury(treasury.Hooks{}).Credit(context.Background(), id)
	if err != nil || tx.Status != transfer.Completed || tx.StellarTransactionID == first.StellarTransactionID {
		t.Fatalf("rebuild: %v %+v", err, tx)
	}
	if n := e.paymentsTo(u.Address()); n != 1 {
		t.Fatalf("%d payments", n)
	}
}

// TestSurgePricing: credits bid the fee /fee_stats reports, up to max_base_fee. Outbid (the cap
// below the surge), the transaction times out unapplied, and the next run resubmits the same
// envelope once the surge is over: one payment.
func TestSurgePricing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(true)
	feeOf := func(hash string) int64 {
		t.Helper()
		tx, err := e.hc.TransactionDetail(hash)
		if err != nil {
			t.Fatal(err)
		}
		gt, err := txnbuild.TransactionFromXDR(tx.EnvelopeXdr)
		if err != nil {
			t.Fatal(err)
		}
		inner, _ := gt.Transaction()
		return inner.BaseFee()
	}
	e.hz.Surge(700)
	id := e.deposit(u, false)
	tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, id)
	if err != nil || tx.Status != transfer.Completed {
		t.Fatalf("credit in a surge: %v %+v", err, tx)
	}
	if fee := feeOf(tx.StellarTransactionID); fee != 700 {
		t.Fatalf("bid %d stroops per operation, want the surge fee 700", fee)
	}

	e.cfg.MaxBaseFee = 300
	id = e.deposit(u, false)
	if _, err = e.treasury(treasury.Hooks{}).Credit(ctx, id); !errors.Is(err, treasury.ErrOutcomeUnknown) || e.status(id) != transfer.PendingStellar {
		t.Fatalf("outbid: %v, %s", err, e.status(id))
	}
	e.hz.Surge(0)
	tx, err = e.treasury(treasury.Hooks{}).Credit(ctx, id)
	if err != nil || tx.Status != transfer.Completed {
		t.Fatalf("after the surge: %v %+v", err, tx)
	}
	if fee := feeOf(tx.StellarTransactionID); fee != 300 {
		t.Fatalf("bid %d stroops per operation, want the cap 300", fee)
	}
	if n := e.paymentsTo(u.Address()); n != 2 {
		t.Fatalf("%d payments for 2 deposits", n)
	}
}

func TestPendingTrustAndClaimableBalance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(false)
	id := e.deposit(u, false)
	tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, id)
	if err != nil || tx.Status != transfer.PendingTrust {
		t.Fatalf("no trustline: %v %+v", err, tx)
	}
	ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
	e.submit(u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
	if tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, id); err != nil || tx.Status != transfer.Completed {
		t.Fatalf("after the trustline: %v %+v", err, tx)
	}

	v := e.user(false)
	cid := e.deposit(v, true)
	tx, err = e.treasury(treasury.Hooks{}).Credit(ctx, cid)
	if err != nil || tx.Status != transfer.Completed || tx.ClaimableBalanceID == "" {
		t.Fatalf("claimable balance: %v %+v", err, tx)
	}
	if _, ok := e.hz.ClaimableBalances()[tx.ClaimableBalanceID]; !ok {
		t.Fatalf("claimable balance %s not on the ledger", tx.ClaimableBalanceID)
	}
}

func TestCreditRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(true)
	id := e.deposit(u, false)
	wrong := e.treasury(treasury.Hooks{})
	wrong.Signer = keypair.MustRandom()
	var ie *treasury.InputError
	if _, err := wrong.Credit(ctx, id); !errors.As(err, &ie) {
		t.Fatalf("wrong key: %v", err)
	}
	p := kyc.Principal{Account: u.Address()}
	waiting, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if _, err := e.treasury(treasury.Hooks{}).Credit(ctx, waiting.ID); !errors.As(err, &ie) {
		t.Fatalf("deposit not received yet: %v", err)
	}
	if e.paymentsTo(u.Address()) != 0 || e.status(id) != transfer.PendingAnchor {
		t.Fatal("a refused credit moved money or the deposit")
	}
}

func (e *env) withdrawal(u *keypair.Full, amount string) *transfer.Transaction {
	e.t.Helper()
	ctx := context.Background()
	p := kyc.Principal{Account: u.Address()}
	e.kyc.Put(ctx, p, &kyc.PutRequest{Type: "sep6-withdraw", Values: map[string]string{"first_name": "J", "last_name": "D",
		"email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"}})
	tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX", Amount: amount})
	if err != nil || tx.Status != transfer.PendingUserTransferStart {
		e.t.Fatalf("withdrawal: %v %+v", err, tx)
	}
	return tx
}

// withdrawingUser enables withdrawals and returns a user holding 500 USDX from a recorded
// payment, so that reconcile can tie everything.
func (e *env) withdrawingUser() (*keypair.Full, txnbuild.CreditAsset) {
	e.t.Helper()
	e.cfg.Assets[0].Withdraw = config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}
	usdx := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	u := e.user(true)
	if _, err := e.treasury(treasury.Hooks{}).Execute(context.Background(), "pay/seed", "payment", e.dist.Address(), e.dist,
		[]txnbuild.Operation{&txnbuild.Payment{Destination: u.Address(), Amount: "500", Asset: usdx}}, nil,
		treasury.Moved{Asset: e.assetKey, Amount: 500_0000000}); err != nil {
		e.t.Fatal(err)
	}
	return u, usdx
}

// payWithMemo pays amount of asset from u to the distribution account with an id memo.
func (e *env) payWithMemo(u *keypair.Full, amount, memo string, asset txnbuild.Asset) {
	e.t.Helper()
	acct, _ := e.hc.AccountDetail(horizonclient.AccountRequest{AccountID: u.Address()})
	var id uint64
	fmt.Sscan(memo, &id)
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.Payment{Destination: e.dist.Address(), Amount: amount, Asset: asset}},
		BaseFee:    100, Memo: txnbuild.MemoID(id), Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, u)
	if _, err := e.hc.SubmitTransaction(tx); err != nil {
		e.t.Fatalf("user payment: %v", err)
	}
}

func TestWatchWithdrawals(t *testing.T) {
	e := newEnv(t)
	e.cfg.Assets[0].Withdraw = config.Direction{Enabled: true, FundingMethods: []string{"WIRE"}}
	ctx := context.Background()
	usdx := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	u := e.user(true)
	e.submit(e.dist, &txnbuild.Payment{Destination: u.Address(), Amount: "500", Asset: usdx})
	watcher := func() *treasury.Watcher {
		return &treasury.Watcher{Store: e.st, Config: e.cfg, Payments: horizon.NewPaymentSource(e.hz.URL(), 5*time.Second), Transfers: e.tr}
	}

	good := e.withdrawal(u, "50")
	short := e.withdrawal(u, "40")
	e.payWithMemo(u, "50", good.WithdrawMemo, usdx)
	e.payWithMemo(u, "30", short.WithdrawMemo, usdx)                  // short
	e.payWithMemo(u, "5", "12345", usdx)                              // unknown memo
	e.payWithMemo(u, "50", good.WithdrawMemo, txnbuild.NativeAsset{}) // wrong asset

	m, un, err := watcher().Poll(ctx)
	if err != nil || m != 1 || un != 3 {
		t.Fatalf("poll: matched %d unmatched %d %v", m, un, err)
	}
	tx, _ := e.tr.ShowTx(ctx, good.ID)
	if tx.Status != transfer.PendingAnchor || *tx.AmountIn != 500_000_000 || tx.StellarTransactionID == "" {
		t.Fatalf("matched withdrawal: %+v", tx)
	}
	if s := e.status(short.ID); s != transfer.PendingUserTransferStart {
		t.Fatalf("short payment credited: %s", s)
	}
	list, _ := e.st.UnmatchedPayments(ctx)
	reasons := map[string]bool{}
	for _, u := range list {
		reasons[u.Reason[:5]] = true
	}
	if len(list) != 3 || !reasons["short"] || !reasons["unkno"] || !reasons["wrong"] {
		t.Fatalf("unmatched %+v", list)
	}
	// Polling again, or a new process with the stored cursor, repeats nothing.
	if m, un, _ := watcher().Poll(ctx); m+un != 0 {
		t.Fatalf("second poll: %d %d", m, un)
	}
	// Even with the cursor lost, nothing is applied twice.
	e.st.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error { return o.PutCursor(e.dist.Address(), "") })
	if m, _, err := watcher().Poll(ctx); err != nil || m != 0 {
		t.Fatalf("replay: %d %v", m, err)
	}
	if l, _ := e.st.UnmatchedPayments(ctx); len(l) != 3 {
		t.Fatalf("replay duplicated unmatched payments: %d", len(l))
	}
	// A payment after a restart is picked up.
	later := e.withdrawal(u, "")
	e.payWithMemo(u, "7.5", later.WithdrawMemo, usdx)
	if m, _, err := watcher().Poll(ctx); err != nil || m != 1 {
		t.Fatalf("after restart: %d %v", m, err)
	}
	if tx, _ := e.tr.ShowTx(ctx, later.ID); tx.Status != transfer.PendingAnchor || transfer.FormatAmount(*tx.AmountIn) != "7.5000000" {
		t.Fatalf("later: %+v", tx)
	}
}

func TestExecuteOncePerRef(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	usdx := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	burn := []txnbuild.Operation{&txnbuild.Payment{Destination: e.issuer.Address(), Amount: "100", Asset: usdx}}
	before, _ := e.hz.Balance(e.dist.Address(), e.assetKey)
	// A crash after storing, a retry of the same ref, a second ref.
	crashing := e.treasury(treasury.Hooks{AfterStore: func() error { return errCrash }})
	if _, err := crashing.Execute(ctx, "burn/a", "burn", e.dist.Address(), e.dist, burn, nil, treasury.Moved{}); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		op, err := e.treasury(treasury.Hooks{}).Execute(ctx, "burn/a", "burn", e.dist.Address(), e.dist, burn, nil, treasury.Moved{})
		if err != nil || op.State != treasury.Confirmed {
			t.Fatalf("run %d: %v %+v", i, err, op)
		}
	}
	if _, err := e.treasury(treasury.Hooks{}).Execute(ctx, "burn/b", "burn", e.dist.Address(), e.dist, burn, nil, treasury.Moved{}); err != nil {
		t.Fatal(err)
	}
	after, _ := e.hz.Balance(e.dist.Address(), e.assetKey)
	if before-after != 2_000_000_000 {
		t.Fatalf("burned %d stroops, want 200 USDX (one per ref)", before-after)
	}
	// A payment the network refuses for good is reported, and not retried under the same ref.
	bad := []txnbuild.Operation{&txnbuild.Payment{Destination: e.issuer.Address(), Amount: "999999999", Asset: usdx}}
	if _, err := e.treasury(treasury.Hooks{}).Execute(ctx, "burn/c", "burn", e.dist.Address(), e.dist, bad, nil, treasury.Moved{}); err == nil {
		t.Fatal("an underfunded burn succeeded")
	}
	if op, err := e.treasury(treasury.Hooks{}).Execute(ctx, "burn/c", "burn", e.dist.Address(), e.dist, bad, nil, treasury.Moved{}); err == nil || op.State != treasury.Failed {
		t.Fatalf("failed ref retried: %v %+v", err, op)
	}
}

// signEnvelope adds kps' signatures to an envelope, as an offline signer would.
func signEnvelope(t *testing.T, env string, kps ...*keypair.Full) string {
	gt, err := txnbuild.TransactionFromXDR(env)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := gt.Transaction()
	tx, err = tx.Sign(network.TestNetworkPassphrase, kps...)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := tx.Base64()
	return out
}

func TestXDROutAndSubmit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(true)
	id := e.deposit(u, false)
	offline := e.treasury(treasury.Hooks{})
	offline.Signer, offline.XDROut = nil, true // no key here: the envelope goes out unsigned
	if _, err := offline.Credit(ctx, id); err != nil {
		t.Fatal(err)
	}
	op, err := offline.Prepared(ctx, id)
	if err != nil || !op.AwaitingSignatures || e.status(id) != transfer.PendingStellar {
		t.Fatalf("prepared: %v %+v %s", err, op, e.status(id))
	}
	// While it waits for signatures, a normal credit pays nothing.
	if _, err := e.treasury(treasury.Hooks{}).Credit(ctx, id); !errors.Is(err, treasury.ErrAwaitingSignatures) {
		t.Fatalf("credit while awaiting signatures: %v", err)
	}
	signed := signEnvelope(t, op.Envelope, e.dist)
	for i := 0; i < 2; i++ {
		got, err := e.treasury(treasury.Hooks{}).Submit(ctx, signed)
		if err != nil || got.State != treasury.Confirmed {
			t.Fatalf("submit %d: %v %+v", i, err, got)
		}
	}
	if e.status(id) != transfer.Completed || e.paymentsTo(u.Address()) != 1 {
		t.Fatalf("after submit: %s, %d payments", e.status(id), e.paymentsTo(u.Address()))
	}
	// An envelope anchor did not prepare is refused.
	foreign := keypair.MustRandom()
	e.hc.Fund(foreign.Address())
	acct, _ := e.hc.AccountDetail(horizonclient.AccountRequest{AccountID: foreign.Address()})
	ftx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.ManageData{Name: "x", Value: []byte("y")}}, BaseFee: 100,
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	fenv, _ := ftx.Base64()
	var ie *treasury.InputError
	if _, err := e.treasury(treasury.Hooks{}).Submit(ctx, fenv); !errors.As(err, &ie) {
		t.Fatalf("foreign envelope: %v", err)
	}
}

func TestMultisigDistribution(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cosigner := keypair.MustRandom()
	two := txnbuild.Threshold(2)
	e.submit(e.dist, &txnbuild.SetOptions{Signer: &txnbuild.Signer{Address: cosigner.Address(), Weight: 1}, MediumThreshold: &two})
	u := e.user(true)
	id := e.deposit(u, false)
	partly := e.treasury(treasury.Hooks{})
	partly.XDROut = true // anchor signs with its key; the cosigner adds the second signature
	if _, err := partly.Credit(ctx, id); err != nil {
		t.Fatal(err)
	}
	op, _ := partly.Prepared(ctx, id)
	if got, err := e.treasury(treasury.Hooks{}).Submit(ctx, op.Envelope); err == nil && got.State == treasury.Confirmed {
		t.Fatal("one signature of two was enough")
	}
	got, err := e.treasury(treasury.Hooks{}).Submit(ctx, signEnvelope(t, op.Envelope, cosigner))
	if err != nil || got.State != treasury.Confirmed || e.paymentsTo(u.Address()) != 1 {
		t.Fatalf("both signatures: %v %+v", err, got)
	}
}

// TestAccountCreation: a deposit to an account that does not exist creates it (once); with
// claimable balances the account and the balance come in one transaction.
func TestAccountCreation(t *testing.T) {
	e := newEnv(t)
	e.cfg.Assets[0].AccountCreation, e.cfg.Assets[0].StartingBalance = true, "2.01"
	ctx := context.Background()
	for _, claimable := range []bool{false, true} {
		u := keypair.MustRandom() // never funded: the account does not exist
		id := e.deposit(u, claimable)
		var tx *transfer.Transaction
		var err error
		for i := 0; i < 2; i++ { // a second run creates nothing more
			tx, err = e.treasury(treasury.Hooks{}).Credit(ctx, id)
			if err != nil {
				t.Fatalf("claimable=%v run %d: %v", claimable, i, err)
			}
		}
		xlm, exists := e.hz.Balance(u.Address(), "native")
		if !exists || xlm != 20_100_000 {
			t.Fatalf("claimable=%v: account exists=%v with %d stroops", claimable, exists, xlm)
		}
		if claimable {
			if tx.Status != transfer.Completed || e.hz.ClaimableBalances()[tx.ClaimableBalanceID].Amount != 250_000_000 {
				t.Fatalf("claimable: %+v", tx)
			}
			continue
		}
		if tx.Status != transfer.PendingTrust {
			t.Fatalf("created without claimable balances: %s", tx.Status)
		}
		ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
		e.submit(u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
		if tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, id); err != nil || tx.Status != transfer.Completed {
			t.Fatalf("after the trustline: %v %+v", err, tx)
		}
	}
}

// TestResumeCredits: the server's background pass completes what an operator started (a
// pending_trust deposit once its trustline appears, a pending_stellar one a crash left) and
// touches nothing else: not pending_anchor deposits, not deposits still without a trustline.
func TestResumeCredits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	waiting := e.user(false)
	trustID := e.deposit(waiting, false)
	if tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, trustID); err != nil || tx.Status != transfer.PendingTrust {
		t.Fatalf("no trustline: %v %+v", err, tx)
	}
	crashed := e.user(true)
	crashID := e.deposit(crashed, false)
	if _, err := e.treasury(treasury.Hooks{AfterStore: func() error { return errCrash }}).Credit(ctx, crashID); !errors.Is(err, errCrash) {
		t.Fatalf("crash: %v", err)
	}
	untouched := e.user(true)
	anchorID := e.deposit(untouched, false)

	before, err := e.tr.ShowTx(ctx, trustID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Second) // a write from here on changes updated_at
	n, err := e.treasury(treasury.Hooks{}).ResumeCredits(ctx, e.tr)
	if err != nil || n != 1 {
		t.Fatalf("first pass: completed %d, %v; want the crashed one only", n, err)
	}
	if e.status(crashID) != transfer.Completed || e.paymentsTo(crashed.Address()) != 1 {
		t.Fatalf("crashed credit: %s with %d payments", e.status(crashID), e.paymentsTo(crashed.Address()))
	}
	after, _ := e.tr.ShowTx(ctx, trustID)
	if after.Status != transfer.PendingTrust || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a deposit still without a trustline was written: %+v", after)
	}
	if e.status(anchorID) != transfer.PendingAnchor || e.paymentsTo(untouched.Address()) != 0 {
		t.Fatalf("a pending_anchor deposit was credited without the operator")
	}

	ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
	e.submit(waiting, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
	for pass := 0; pass < 2; pass++ {
		n, err = e.treasury(treasury.Hooks{}).ResumeCredits(ctx, e.tr)
		if err != nil || n != 1-pass {
			t.Fatalf("pass %d after the trustline: completed %d, %v", pass, n, err)
		}
	}
	if e.status(trustID) != transfer.Completed || e.paymentsTo(waiting.Address()) != 1 {
		t.Fatalf("trustline added: %s with %d payments", e.status(trustID), e.paymentsTo(waiting.Address()))
	}
}

// TestCreditQueuesCallbacks: every status the treasury gives a deposit (pending_trust,
// pending_stellar, completed) queues its on_change_callback, in the same store transaction.
func TestCreditQueuesCallbacks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(false)
	p := kyc.Principal{Account: u.Address()}
	e.kyc.Put(ctx, p, &kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"}})
	tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX",
		OnChangeCallback: "https://wallet.example/cb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "25", ExternalID: "W-1"}); err != nil {
		t.Fatal(err)
	}
	// drain empties the queue and reports whether it held tx.
	drain := func() bool {
		items, err := e.st.DueCallbacks(ctx, e.clock.now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, it := range items {
			found = found || it.ID == tx.ID
			if err := e.st.FinishCallback(ctx, it, nil); err != nil {
				t.Fatal(err)
			}
		}
		return found
	}
	drain()
	if got, err := e.treasury(treasury.Hooks{}).Credit(ctx, tx.ID); err != nil || got.Status != transfer.PendingTrust {
		t.Fatalf("no trustline: %v %+v", err, got)
	}
	if !drain() {
		t.Fatal("pending_trust queued no callback")
	}
	ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
	e.submit(u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
	if _, err := e.treasury(treasury.Hooks{AfterStore: func() error { return errCrash }}).Credit(ctx, tx.ID); !errors.Is(err, errCrash) {
		t.Fatalf("crash after store: %v", err)
	}
	if !drain() {
		t.Fatal("pending_stellar queued no callback")
	}
	if got, err := e.treasury(treasury.Hooks{}).Credit(ctx, tx.ID); err != nil || got.Status != transfer.Completed {
		t.Fatalf("resume: %v %+v", err, got)
	}
	if !drain() {
		t.Fatal("completed queued no callback")
	}
}

// TestWatchTwoPaymentsInOneTransaction: each payment operation is judged on its own: two
// payments carrying a withdrawal's memo in one Stellar transaction → the first matches, the
// second is recorded as an unmatched excess payment, and reconcile agrees with the ledger.
func TestWatchTwoPaymentsInOneTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, usdx := e.withdrawingUser()
	w := e.withdrawal(u, "50")
	acct, _ := e.hc.AccountDetail(horizonclient.AccountRequest{AccountID: u.Address()})
	memo, _ := strconv.ParseUint(w.WithdrawMemo, 10, 64)
	pay := &txnbuild.Payment{Destination: e.dist.Address(), Amount: "50", Asset: usdx}
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{pay, pay}, BaseFee: 100, Memo: txnbuild.MemoID(memo),
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, u)
	if _, err := e.hc.SubmitTransaction(tx); err != nil {
		t.Fatal(err)
	}
	watcher := &treasury.Watcher{Store: e.st, Config: e.cfg, Payments: horizon.NewPaymentSource(e.hz.URL(), 5*time.Second), Transfers: e.tr}
	for pass := 0; pass < 2; pass++ {
		m, un, err := watcher.Poll(ctx)
		if err != nil || (pass == 0 && (m != 1 || un != 1)) || (pass == 1 && m+un != 0) {
			t.Fatalf("poll %d: matched %d unmatched %d %v", pass, m, un, err)
		}
	}
	if got, _ := e.tr.ShowTx(ctx, w.ID); got.Status != transfer.PendingAnchor || *got.AmountIn != 500_000_000 {
		t.Fatalf("withdrawal %s %v", got.Status, got.AmountIn)
	}
	list, _ := e.st.UnmatchedPayments(ctx)
	if len(list) != 1 || list[0].Amount != "50.0000000" || !strings.Contains(list[0].Reason, "excess") || list[0].TransferID != w.ID {
		t.Fatalf("unmatched %+v", list)
	}
	// Everything balances, but the excess payment is open until it is settled with the user.
	rep, err := treasury.Reconcile(ctx, e.st, e.tr, e.cfg, horizon.NewLedger(e.hz.URL(), 5*time.Second))
	if err != nil || rep.OK || !rep.Assets[0].Balanced || len(rep.Unsettled) != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if _, err := e.treasury(treasury.Hooks{}).ReturnPayment(ctx, list[0].PagingToken); err != nil {
		t.Fatal(err)
	}
	rep, err = treasury.Reconcile(ctx, e.st, e.tr, e.cfg, horizon.NewLedger(e.hz.URL(), 5*time.Second))
	if err != nil || !rep.OK {
		t.Fatalf("reconcile after the return: %v %+v", err, rep)
	}
}

// TestPlanCredit: a dry run of each credit shape (payment, claimable balance with the account's
// creation, account creation alone, waiting for a trustline) describes it and changes nothing:
// the deposit keeps its status, no action is stored, nothing reaches the ledger.
func TestPlanCredit(t *testing.T) {
	e := newEnv(t)
	e.cfg.Assets[0].AccountCreation, e.cfg.Assets[0].StartingBalance = true, "2.01"
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		user      func() *keypair.Full
		claimable bool
		want      []string // operations described; nil: a refusal naming the trustline
	}{
		{"payment", func() *keypair.Full { return e.user(true) }, false, []string{"payment of 25.0000000 USDX to "}},
		{"create and claimable", keypair.MustRandom, true, []string{"create_account ", "create_claimable_balance of 25.0000000"}},
		{"create first", keypair.MustRandom, false, []string{"create_account "}},
		{"no trustline", func() *keypair.Full { return e.user(false) }, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.user()
			id := e.deposit(u, tc.claimable)
			ops, _ := e.st.Ops(ctx)
			sent, cbs := len(e.hz.Payments()), len(e.hz.ClaimableBalances())
			plan, err := e.treasury(treasury.Hooks{}).PlanCredit(ctx, id)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "trustline") {
					t.Fatalf("plan without a trustline: %v %+v", err, plan)
				}
			} else {
				if err != nil || !plan.DryRun || len(plan.Operations) != len(tc.want) {
					t.Fatalf("plan: %v %+v", err, plan)
				}
				for i, w := range tc.want {
					if !strings.HasPrefix(plan.Operations[i], w) {
						t.Fatalf("operation %d %q, want %q...", i, plan.Operations[i], w)
					}
				}
			}
			after, _ := e.st.Ops(ctx)
			_, exists := e.hz.Balance(u.Address(), "native")
			if st := e.status(id); st != transfer.PendingAnchor || len(after) != len(ops) || len(e.hz.Payments()) != sent || len(e.hz.ClaimableBalances()) != cbs || exists != (tc.name == "payment" || tc.name == "no trustline") {
				t.Fatalf("a dry run changed something: status %s, %d→%d actions, %d→%d payments, account exists %v", st, len(ops), len(after), sent, len(e.hz.Payments()), exists)
			}
		})
	}
}

// TestPlanInFlight: a dry run of a credit or an action that is built and may still land
// (a crash after storing it) neither resumes nor resubmits it, and says so.
func TestPlanInFlight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	crash := treasury.Hooks{AfterStore: func() error { return errCrash }}
	u := e.user(true)
	id := e.deposit(u, false)
	if _, err := e.treasury(crash).Credit(ctx, id); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	burn := []txnbuild.Operation{&txnbuild.Payment{Destination: e.issuer.Address(), Amount: "1", Asset: txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}}}
	if _, err := e.treasury(crash).Execute(ctx, "burn/x", "burn", e.dist.Address(), e.dist, burn, nil, treasury.Moved{}); !errors.Is(err, errCrash) {
		t.Fatalf("first burn: %v", err)
	}
	sent := len(e.hz.Payments())
	if _, err := e.treasury(treasury.Hooks{}).PlanCredit(ctx, id); err == nil || !strings.Contains(err.Error(), "may still land") {
		t.Fatalf("plan of an in-flight credit: %v", err)
	}
	dry := e.treasury(treasury.Hooks{})
	dry.DryRun = true
	if _, err := dry.Execute(ctx, "burn/x", "burn", e.dist.Address(), e.dist, burn, nil, treasury.Moved{}); err == nil || !strings.Contains(err.Error(), "may still land") {
		t.Fatalf("dry run of an in-flight burn: %v", err)
	}
	if len(e.hz.Payments()) != sent || e.status(id) != transfer.PendingStellar {
		t.Fatalf("a dry run resumed something: %d→%d payments, deposit %s", sent, len(e.hz.Payments()), e.status(id))
	}
}
