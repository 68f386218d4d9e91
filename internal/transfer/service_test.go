package transfer_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/internal/transfer"
)

type env struct {
	kyc *kyc.Service
	tr  *transfer.Service
	now time.Time
}

func newEnv(t testing.TB) *env {
	st := storetest.Open(t)
	issuer := keypair.MustRandom().Address()
	cfg := &config.Config{
		KYC:  config.KYC{MaxFileSize: 1 << 20, CustomerQuota: 1 << 22, DefaultType: "sep6-deposit", Types: config.DefaultCustomerTypes()},
		SEP6: config.SEP6{TransferExpiry: time.Hour, DepositKYCType: "sep6-deposit", WithdrawKYCType: "sep6-withdraw"},
		Assets: []config.Asset{{Code: "USDX", Issuer: issuer, DistributionAccount: keypair.MustRandom().Address(),
			Deposit:  config.Direction{Enabled: true, MinAmount: "1", MaxAmount: "1000", FeeFixed: "0.5", FeePercent: "1", FundingMethods: []string{"WIRE"}},
			Withdraw: config.Direction{Enabled: true, MinAmount: "1", MaxAmount: "1000", FundingMethods: []string{"WIRE"}}}},
	}
	e := &env{now: time.Unix(1_800_000_000, 0).UTC()}
	e.kyc = &kyc.Service{Store: st, Config: cfg.KYC, Now: func() time.Time { return e.now }}
	e.tr = &transfer.Service{Store: st, Config: cfg, KYC: e.kyc, Now: func() time.Time { return e.now }}
	return e
}

var all = map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com", "bank_account_number": "123", "bank_number": "456"}

// customer brings (account) to a KYC status for both types.
func (e *env) customer(t testing.TB, p kyc.Principal, st kyc.Status) {
	ctx := context.Background()
	switch st {
	case kyc.NeedsInfo:
		return
	}
	id, err := e.kyc.Put(ctx, p, &kyc.PutRequest{Values: all, Type: "sep6-withdraw"})
	if err != nil {
		t.Fatal(err)
	}
	switch st {
	case kyc.Accepted:
		e.kyc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "t"})
	case kyc.Rejected:
		e.kyc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionReject, By: "t", Reason: "no"})
	}
}

// TestKYCGating: for both kinds and every KYC status, the transaction is created in the right
// status, and withdrawal/deposit details appear only once KYC is accepted.
func TestKYCGating(t *testing.T) {
	want := map[kyc.Status]transfer.Status{
		kyc.NeedsInfo: transfer.PendingCustomerInfoUpdate, kyc.Processing: transfer.PendingCustomerInfoUpdate,
		kyc.Accepted: transfer.PendingUserTransferStart, kyc.Rejected: transfer.Error,
	}
	for _, kind := range []transfer.Kind{transfer.Deposit, transfer.Withdrawal} {
		for st, wantStatus := range want {
			t.Run(string(kind)+"/"+string(st), func(t *testing.T) {
				e := newEnv(t)
				p := kyc.Principal{Account: keypair.MustRandom().Address()}
				e.customer(t, p, st)
				tx, err := e.tr.Create(context.Background(), transfer.Principal(p), transfer.Request{Kind: kind, AssetCode: "USDX", Amount: "10"})
				if err != nil {
					t.Fatal(err)
				}
				if tx.Status != wantStatus {
					t.Fatalf("status %s, want %s", tx.Status, wantStatus)
				}
				v := e.tr.View(context.Background(), tx)
				released := st == kyc.Accepted
				if (v.WithdrawAnchorAccount != "") != (released && kind == transfer.Withdrawal) || (v.Instructions != nil) != (released && kind == transfer.Deposit) {
					t.Fatalf("details shown=%v/%v for KYC %s", v.WithdrawAnchorAccount != "", v.Instructions != nil, st)
				}
				if wantStatus == transfer.PendingCustomerInfoUpdate && v.RequiredInfoMessage == "" {
					t.Fatal("no required_info_message while waiting for KYC")
				}
			})
		}
	}
}

// TestReconcile: a waiting deposit moves on when KYC is accepted; transactions left by the
// user expire at user_action_required_by.
func TestReconcile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	waiting, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	e.customer(t, p, kyc.Accepted)
	if adv, exp, err := e.tr.Reconcile(ctx); err != nil || adv != 1 || exp != 0 {
		t.Fatalf("reconcile: %d %d %v", adv, exp, err)
	}
	got, _ := e.tr.ShowTx(ctx, waiting.ID)
	if got.Status != transfer.PendingUserTransferStart || got.UserActionRequiredBy == nil {
		t.Fatalf("after KYC: %s", got.Status)
	}
	e.now = e.now.Add(2 * time.Hour)
	if _, exp, err := e.tr.Reconcile(ctx); err != nil || exp != 1 {
		t.Fatalf("expiry: %d %v", exp, err)
	}
	got, _ = e.tr.ShowTx(ctx, waiting.ID)
	if got.Status != transfer.Expired || got.History[len(got.History)-1].Actor != "anchor" {
		t.Fatalf("after expiry: %+v", got)
	}
	// Reconcile is idempotent.
	if adv, exp, _ := e.tr.Reconcile(ctx); adv+exp != 0 {
		t.Fatal("reconcile moved something twice")
	}
}

func TestFeesAndLimitsOnReceipt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	mk := func() string {
		tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
		if err != nil {
			t.Fatal(err)
		}
		return tx.ID
	}
	tx, err := e.tr.Act(ctx, mk(), transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "100", ExternalID: "W1"})
	if err != nil || tx.Status != transfer.PendingAnchor || *tx.AmountFee != 15_000_000 || *tx.AmountOut != 985_000_000 {
		t.Fatalf("received: %v %+v", err, tx)
	}
	if tx, _ := e.tr.Act(ctx, mk(), transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "0.5", ExternalID: "W2"}); tx.Status != transfer.TooSmall {
		t.Fatalf("too small: %s", tx.Status)
	}
	if tx, _ := e.tr.Act(ctx, mk(), transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "5000", ExternalID: "W3"}); tx.Status != transfer.TooLarge {
		t.Fatalf("too large: %s", tx.Status)
	}
	if _, err := e.tr.Act(ctx, mk(), transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "10", ExternalID: "W1"}); err == nil {
		t.Fatal("an external id was used twice")
	}
	_, err = e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActPaid, By: "ops", ExternalID: "X"})
	var ie *transfer.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("paid on a deposit: %v", err)
	}
}

func TestMemosAreUnique(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	seen := map[string]bool{}
	for i := 0; i < 300; i++ {
		kind := transfer.Deposit
		if i%2 == 1 {
			kind = transfer.Withdrawal
		}
		tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: kind, AssetCode: "USDX"})
		if err != nil {
			t.Fatal(err)
		}
		m := tx.Reference + tx.WithdrawMemo
		if m == "" || seen[m] {
			t.Fatalf("memo %q missing or repeated", m)
		}
		seen[m] = true
	}
}

// kycFunc is a KYCChecker whose answer a test chooses.
type kycFunc func(ctx context.Context, account, memo, kycType string) (kyc.Status, []string, string, error)

func (f kycFunc) CustomerStatus(ctx context.Context, account, memo, kycType string) (kyc.Status, []string, string, error) {
	return f(ctx, account, memo, kycType)
}

func (f kycFunc) CustomerExists(context.Context, string) (bool, error) { return false, nil }

var _ transfer.KYCChecker = kycFunc(nil)

// TestReconcileReportsKYCErrors: a failed KYC look-up is an error of Reconcile, not a silent
// pass that moves nothing.
func TestReconcileReportsKYCErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	if _, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"}); err != nil {
		t.Fatal(err)
	}
	e.customer(t, p, kyc.Processing) // a KYC change the reconciler must look at
	boom := errors.New("kyc store unreadable")
	e.tr.KYC = kycFunc(func(context.Context, string, string, string) (kyc.Status, []string, string, error) {
		return "", nil, "", boom
	})
	if _, _, err := e.tr.Reconcile(ctx); !errors.Is(err, boom) {
		t.Fatalf("Reconcile: %v, want the KYC error", err)
	}
}

// TestOpenTransactionsLimit: one account (whatever memo it names) has at most
// sep6.max_open_transactions unfinished transactions; a finished one frees its place.
func TestOpenTransactionsLimit(t *testing.T) {
	e := newEnv(t)
	e.tr.Config.SEP6.MaxOpenTransactions = 3
	ctx := context.Background()
	acct := keypair.MustRandom().Address()
	var ids []string
	for i, memo := range []string{"", "1", "2", "3"} {
		tx, err := e.tr.Create(ctx, transfer.Principal{Account: acct, Memo: memo}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
		var le *transfer.LimitError
		if i < 3 && err != nil || i == 3 && !errors.As(err, &le) {
			t.Fatalf("transaction %d: %v", i, err)
		}
		if err == nil {
			ids = append(ids, tx.ID)
		}
	}
	if _, err := e.tr.Create(ctx, transfer.Principal{Account: keypair.MustRandom().Address()}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"}); err != nil {
		t.Fatalf("another account is limited too: %v", err)
	}
	if _, err := e.tr.Act(ctx, ids[0], transfer.Action{Name: transfer.ActFail, By: "ops", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Act(ctx, ids[0], transfer.Action{Name: transfer.ActRefund, By: "ops", Amount: "1", PaymentID: "R"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Create(ctx, transfer.Principal{Account: acct}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"}); err != nil {
		t.Fatalf("after one was refunded: %v", err)
	}
}

// formulaHolds checks SEP-6's Amount Formulas on the wallet's view: amount_out = amount_in -
// amount_fee - refunds.amount_refunded - refunds.amount_fee, and the refund sums.
func formulaHolds(t *testing.T, v *transfer.View) {
	t.Helper()
	if v.AmountIn == "" {
		return
	}
	p := func(s string) int64 {
		if s == "" {
			return 0
		}
		n, err := money.Parse(s)
		if err != nil {
			t.Fatalf("amount %q: %v", s, err)
		}
		return n
	}
	var refunded, rfee, sumA, sumF int64
	if v.Refunds != nil {
		refunded, rfee = p(v.Refunds.AmountRefunded), p(v.Refunds.AmountFee)
		for _, pay := range v.Refunds.Payments {
			sumA, sumF = sumA+p(pay.Amount), sumF+p(pay.Fee)
		}
		if sumA != refunded || sumF != rfee {
			t.Fatalf("refund sums %d/%d, payments %d/%d", refunded, rfee, sumA, sumF)
		}
	}
	if got, want := p(v.AmountOut), p(v.AmountIn)-p(v.AmountFee)-refunded-rfee; got != want {
		t.Fatalf("status %s: amount_out %s, formula gives %s (in %s fee %s refunds %+v)", v.Status, v.AmountOut, transfer.FormatAmount(want), v.AmountIn, v.AmountFee, v.Refunds)
	}
}

// TestAmountFormulasAndPartialRefunds: a partial refund keeps the transaction going with
// refunded false and amount_out reduced; a full refund ends it refunded with amount_out 0; the
// Amount Formulas hold after every change.
func TestAmountFormulasAndPartialRefunds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	step := func(id string, a transfer.Action) *transfer.View {
		t.Helper()
		a.By = "ops"
		tx, err := e.tr.Act(ctx, id, a)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		v := e.tr.View(ctx, tx)
		formulaHolds(t, v)
		return v
	}
	d, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if v := step(d.ID, transfer.Action{Name: transfer.ActReceived, Amount: "100", ExternalID: "W1"}); v.AmountOut != "98.5000000" {
		t.Fatalf("received: %+v", v)
	}
	v := step(d.ID, transfer.Action{Name: transfer.ActRefund, Amount: "10", Fee: "1", PaymentID: "R1"})
	if v.Status != transfer.PendingAnchor || v.Refunded == nil || *v.Refunded || v.AmountOut != "87.5000000" {
		t.Fatalf("partial refund: status %s refunded %v amount_out %s", v.Status, v.Refunded, v.AmountOut)
	}
	v = step(d.ID, transfer.Action{Name: transfer.ActRefund, Amount: "5", PaymentID: "R2"})
	if v.Status != transfer.PendingAnchor || len(v.Refunds.Payments) != 2 || v.Refunds.AmountRefunded != "15.0000000" {
		t.Fatalf("second partial refund: %+v", v.Refunds)
	}
	if _, err := e.tr.Act(ctx, d.ID, transfer.Action{Name: transfer.ActRefund, By: "ops", Amount: "90", PaymentID: "R3"}); err == nil {
		t.Fatal("refunds beyond what was received were accepted")
	}

	f, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	step(f.ID, transfer.Action{Name: transfer.ActReceived, Amount: "50", ExternalID: "W2"})
	v = step(f.ID, transfer.Action{Name: transfer.ActRefund, PaymentID: "R4", Fee: "2"})
	if v.Status != transfer.Refunded || v.Refunded == nil || !*v.Refunded || v.AmountOut != "0.0000000" || v.Refunds.AmountRefunded != "48.0000000" {
		t.Fatalf("full refund: status %s refunded %v out %s refunds %+v", v.Status, v.Refunded, v.AmountOut, v.Refunds)
	}
}

// TestViewAmountsAndInstructions: expected amounts appear as soon as the amount is known (the
// requested amount), with fee_details, and follow the Amount Formulas; deposit instructions are
// shown only in pending_user_transfer_start.
func TestViewAmountsAndInstructions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	for _, kind := range []transfer.Kind{transfer.Deposit, transfer.Withdrawal} {
		tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: kind, AssetCode: "USDX", Amount: "200"})
		if err != nil {
			t.Fatal(err)
		}
		v := e.tr.View(ctx, tx)
		if v.AmountIn != "200.0000000" || v.AmountFee == "" || v.AmountOut == "" || v.FeeDetails == nil || v.FeeDetails.Total != v.AmountFee {
			t.Fatalf("%s before receipt: in %q fee %q out %q details %+v", kind, v.AmountIn, v.AmountFee, v.AmountOut, v.FeeDetails)
		}
		formulaHolds(t, v)
	}
	d, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if v := e.tr.View(ctx, d); v.Instructions == nil {
		t.Fatal("no instructions while waiting for the user's transfer")
	}
	for _, a := range []transfer.Action{{Name: transfer.ActHold, Reason: "check"}, {Name: transfer.ActRelease}, {Name: transfer.ActFail, Reason: "stop"}} {
		a.By = "ops"
		got, err := e.tr.Act(ctx, d.ID, a)
		if err != nil {
			t.Fatal(err)
		}
		if v := e.tr.View(ctx, got); (v.Instructions != nil) != (got.Status == transfer.PendingUserTransferStart) {
			t.Fatalf("instructions shown=%v in %s", v.Instructions != nil, got.Status)
		}
	}
}

// TestNoDeadlineWhileTheAnchorReviews: a deposit waiting for KYC has a deadline while the user
// has something to provide, none while the anchor reviews (PROCESSING), and never expires then.
func TestNoDeadlineWhileTheAnchorReviews(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	tx, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if tx.UserActionRequiredBy == nil {
		t.Fatal("no deadline while the user must provide information")
	}
	id, err := e.kyc.Put(ctx, p, &kyc.PutRequest{Values: all, Type: "sep6-withdraw"})
	if err != nil {
		t.Fatal(err)
	}
	e.tr.Reconcile(ctx)
	got, _ := e.tr.ShowTx(ctx, tx.ID)
	if got.UserActionRequiredBy != nil || e.tr.View(ctx, got).UserActionRequiredBy != "" {
		t.Fatalf("a deadline while the anchor reviews: %v", got.UserActionRequiredBy)
	}
	e.now = e.now.Add(48 * time.Hour)
	if _, exp, _ := e.tr.Reconcile(ctx); exp != 0 {
		t.Fatal("expired while the anchor reviewed")
	}
	if _, err := e.kyc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionRequestInfo, By: "c", Field: "last_name", Reason: "unreadable"}); err != nil {
		t.Fatal(err)
	}
	e.tr.Reconcile(ctx)
	if got, _ = e.tr.ShowTx(ctx, tx.ID); got.UserActionRequiredBy == nil || got.Status != transfer.PendingCustomerInfoUpdate {
		t.Fatalf("the user's turn again, no deadline: %+v", got.UserActionRequiredBy)
	}
	// Created while the anchor reviews: no deadline either.
	q := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.kyc.Put(ctx, q, &kyc.PutRequest{Values: all})
	if tx, _ := e.tr.Create(ctx, transfer.Principal(q), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"}); tx.UserActionRequiredBy != nil {
		t.Fatal("created in review with a deadline")
	}
}

// TestCustomerErasureScrubsTransactions: DELETE /customer removes the personal data the
// customer's SEP-6 transactions hold (email, country, bank destination, customer link) and
// keeps what accounting needs.
func TestCustomerErasureScrubsTransactions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	d, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", Email: "jane@example.com", CountryCode: "USA"})
	w, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX", Dest: "DE89370400440532013000", DestExtra: "COBADEFFXXX"})
	e.tr.Act(ctx, d.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "10", ExternalID: "W-1"})
	if err := e.kyc.Delete(ctx, p, "", "", ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{d.ID, w.ID} {
		got, _ := e.tr.ShowTx(ctx, id)
		if got.Email != "" || got.CountryCode != "" || got.Dest != "" || got.DestExtra != "" || got.CustomerID != "" {
			t.Fatalf("personal data kept: %+v", got)
		}
		if got.Status == "" || got.Account != p.Account {
			t.Fatalf("accounting data lost: %+v", got)
		}
	}
	if got, _ := e.tr.ShowTx(ctx, d.ID); got.AmountIn == nil || got.ExternalTransactionID != "W-1" {
		t.Fatalf("amounts or ids lost: %+v", got)
	}
}

// TestSEP12TransactionID: transaction_id must name a transaction of the authenticated account,
// and its KYC type answers when the request names none.
func TestSEP12TransactionID(t *testing.T) {
	e := newEnv(t)
	e.kyc.Transactions = e.tr
	ctx := context.Background()
	p, other := kyc.Principal{Account: keypair.MustRandom().Address()}, kyc.Principal{Account: keypair.MustRandom().Address()}
	w, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX"})
	theirs, _ := e.tr.Create(ctx, transfer.Principal(other), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	resp, err := e.kyc.Get(ctx, p, kyc.GetQuery{TransactionID: w.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Fields["bank_account_number"]; !ok {
		t.Fatalf("GET with a withdrawal's transaction_id did not answer the withdrawal type: %v", resp.Fields)
	}
	var ie *kyc.InputError
	for _, id := range []string{"no-such-id", theirs.ID} {
		if _, err := e.kyc.Get(ctx, p, kyc.GetQuery{TransactionID: id}); !errors.As(err, &ie) {
			t.Errorf("GET transaction_id %s: %v", id, err)
		}
		if _, err := e.kyc.Put(ctx, p, &kyc.PutRequest{TransactionID: id, Values: all}); !errors.As(err, &ie) {
			t.Errorf("PUT transaction_id %s: %v", id, err)
		}
	}
	if _, _, cid, _ := e.kyc.CustomerStatus(ctx, p.Account, "", "sep6-deposit"); cid != "" {
		t.Fatal("a refused PUT stored a customer")
	}
}

// TestCustomerIDLink: SEP-6's customer_id naming a customer the anchor does not yet link to the
// account is accepted and recorded for compliance, but lends no KYC: the transaction waits for
// the account's own. An unknown id is a 400.
func TestCustomerIDLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	known := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, known, kyc.Accepted)
	_, _, cid, _ := e.kyc.CustomerStatus(ctx, known.Account, "", "sep6-deposit")
	p := transfer.Principal{Account: keypair.MustRandom().Address()}
	tx, err := e.tr.Create(ctx, p, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", CustomerID: cid})
	if err != nil {
		t.Fatal(err)
	}
	if tx.ClaimedCustomerID != cid || tx.CustomerID != "" || tx.Status != transfer.PendingCustomerInfoUpdate {
		t.Fatalf("claimed %q, customer %q, status %s", tx.ClaimedCustomerID, tx.CustomerID, tx.Status)
	}
	var ie *transfer.InputError
	if _, err := e.tr.Create(ctx, p, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", CustomerID: "nope"}); !errors.As(err, &ie) {
		t.Fatalf("unknown customer_id: %v", err)
	}
}

// TestListByReference: tx list --reference finds the deposit a bank wire's reference names, or
// the transaction recorded with that external id, through the indexes; other filters still
// apply and an unknown reference finds nothing.
func TestListByReference(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, p, kyc.Accepted)
	var deps []*transfer.Transaction
	for i := 0; i < 3; i++ {
		d, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", Amount: "10"})
		if err != nil || d.Reference == "" {
			t.Fatalf("deposit %d: reference %q, %v", i, d.Reference, err)
		}
		deps = append(deps, d)
	}
	if _, err := e.tr.Act(ctx, deps[2].ID, transfer.Action{Name: "received", By: "t", Amount: "10", ExternalID: "WIRE-9"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    transfer.OpsFilter
		want []string
	}{
		{transfer.OpsFilter{Reference: deps[1].Reference}, []string{deps[1].ID}},
		{transfer.OpsFilter{Reference: " " + deps[0].Reference + " "}, []string{deps[0].ID}},
		{transfer.OpsFilter{Reference: "WIRE-9"}, []string{deps[2].ID}},
		{transfer.OpsFilter{Reference: deps[1].Reference, Kind: transfer.Withdrawal}, nil},
		{transfer.OpsFilter{Reference: deps[2].Reference, Status: transfer.PendingUserTransferStart}, nil},
		{transfer.OpsFilter{Reference: "123"}, nil},
	} {
		list, err := e.tr.OperatorList(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tx := range list {
			got = append(got, tx.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
		}
	}
}
