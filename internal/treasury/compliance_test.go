package treasury_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// reviewed turns auto-approval off, so that customers wait for a compliance decision.
func (e *env) reviewed() {
	e.cfg.KYC.AutoApprove = false
	e.kyc = &kyc.Service{Store: e.st, Config: e.cfg.KYC}
	e.tr.KYC = e.kyc
}

func (e *env) putCustomer(u *keypair.Full) string {
	e.t.Helper()
	id, err := e.kyc.Put(context.Background(), kyc.Principal{Account: u.Address()},
		&kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) decide(customerID, action string) {
	e.t.Helper()
	d := kyc.Decision{Action: action, By: "compliance", Reason: "because"}
	if action == kyc.ActionRequestInfo {
		d.Field = "last_name"
	}
	if _, err := e.kyc.Decide(context.Background(), customerID, d); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) receive(id string) *transfer.Transaction {
	e.t.Helper()
	tx, err := e.tr.Act(context.Background(), id, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "25", ExternalID: "W-" + id})
	if err != nil {
		e.t.Fatalf("deposit received: %v", err)
	}
	return tx
}

// TestComplianceGate: fiat received for a customer compliance has not accepted is recorded and
// waits; no credit, claimable balance or account creation happens until the customer is
// ACCEPTED, checked when the credit is stored; after approval the deposit moves on by itself
// and is credited once. A rejected customer's deposit waits for a refund.
func TestComplianceGate(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// setup returns the customer id ("" when there is none yet) after creating the deposit.
		before, after string // decisions before the deposit is created, and after the fiat arrives
		wantWaiting   transfer.Status
	}{
		{name: "no customer", wantWaiting: transfer.PendingCustomerInfoUpdate},
		{name: "processing", before: "put", wantWaiting: transfer.PendingCustomerInfoUpdate},
		{name: "needs info", before: "put+approve+" + kyc.ActionRequestInfo, wantWaiting: transfer.PendingCustomerInfoUpdate},
		{name: "rejected", before: "put+" + kyc.ActionReject, wantWaiting: transfer.Error},
		{name: "rejected after the fiat", before: "put", after: kyc.ActionReject, wantWaiting: transfer.Error},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.reviewed()
			e.cfg.Assets[0].AccountCreation, e.cfg.Assets[0].StartingBalance = true, "2.01"
			trusting := e.user(true)
			missing := keypair.MustRandom() // no account: credit would create it
			var ids []string
			for _, u := range []*keypair.Full{trusting, missing} {
				cid := ""
				for _, step := range splitSteps(c.before) {
					if step == "put" {
						cid = e.putCustomer(u)
					} else {
						e.decide(cid, step)
					}
				}
				tx, err := e.tr.Create(ctx, transfer.Principal{Account: u.Address()}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", ClaimableBalanceSupported: map[bool]string{true: "true"}[u == missing]})
				if err != nil {
					t.Fatal(err)
				}
				got := e.receive(tx.ID)
				if c.after != "" {
					e.decide(cid, c.after)
					if _, _, err := e.tr.Reconcile(ctx); err != nil {
						t.Fatal(err)
					}
					got, _ = e.tr.ShowTx(ctx, tx.ID)
				}
				if got.Status != c.wantWaiting || got.AmountIn == nil || *got.AmountIn != 250_000_000 || got.AmountOut == nil || got.ExternalTransactionID != "W-"+tx.ID {
					t.Fatalf("after the fiat: status %s (want %s), amounts %v/%v, external id %q", got.Status, c.wantWaiting, got.AmountIn, got.AmountOut, got.ExternalTransactionID)
				}
				if got.UserActionRequiredBy != nil {
					t.Fatal("a deposit holding received fiat can expire")
				}
				ids = append(ids, tx.ID)
			}
			for _, id := range ids {
				if _, err := e.treasury(treasury.Hooks{}).Credit(ctx, id); err == nil {
					t.Fatalf("credit of a %s customer's deposit succeeded", c.name)
				}
			}
			if n, err := e.treasury(treasury.Hooks{}).ResumeCredits(ctx, e.tr); n != 0 || err != nil {
				t.Fatalf("resume pass: %d %v", n, err)
			}
			if e.paymentsTo(trusting.Address()) != 0 || len(e.hz.ClaimableBalances()) != 0 {
				t.Fatal("tokens left the distribution account for a customer compliance has not accepted")
			}
			if _, exists := e.hz.Balance(missing.Address(), "native"); exists {
				t.Fatal("an account was created for a customer compliance has not accepted")
			}
			if c.wantWaiting == transfer.Error {
				// Waiting for the operator's refund, which is allowed.
				if _, err := e.tr.Act(ctx, ids[0], transfer.Action{Name: transfer.ActRefund, By: "ops", PaymentID: "R-1"}); err != nil {
					t.Fatalf("refund: %v", err)
				}
				return
			}
			// Approval moves the deposits on by themselves; each is credited once.
			for _, u := range []*keypair.Full{trusting, missing} {
				_, _, cid, _ := e.kyc.CustomerStatus(ctx, u.Address(), "", "sep6-deposit")
				if cid == "" {
					cid = e.putCustomer(u)
				}
				if st, _, _, _ := e.kyc.CustomerStatus(ctx, u.Address(), "", "sep6-deposit"); st == kyc.NeedsInfo {
					e.putCustomer(u)
				}
				e.decide(cid, kyc.ActionApprove)
			}
			if _, _, err := e.tr.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				if s := e.status(id); s != transfer.PendingAnchor {
					t.Fatalf("deposit %d after approval: %s, want pending_anchor", i, s)
				}
				for run := 0; run < 2; run++ {
					if _, err := e.treasury(treasury.Hooks{}).Credit(ctx, id); err != nil {
						t.Fatalf("credit after approval: %v", err)
					}
				}
			}
			if e.paymentsTo(trusting.Address()) != 1 || len(e.hz.ClaimableBalances()) != 1 {
				t.Fatalf("after approval: %d payments, %d claimable balances", e.paymentsTo(trusting.Address()), len(e.hz.ClaimableBalances()))
			}
		})
	}
}

// TestComplianceCheckedWhenTheCreditIsStored: a customer accepted when the fiat arrived, then
// sent back to review before the credit, is not credited (also not by the server's resume pass
// of a pending_trust deposit), and is after a new approval.
func TestComplianceCheckedWhenTheCreditIsStored(t *testing.T) {
	e := newEnv(t)
	e.reviewed()
	ctx := context.Background()
	for _, trust := range []bool{true, false} {
		u := e.user(trust)
		cid := e.putCustomer(u)
		e.decide(cid, kyc.ActionApprove)
		tx, err := e.tr.Create(ctx, transfer.Principal{Account: u.Address()}, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.receive(tx.ID); got.Status != transfer.PendingAnchor {
			t.Fatalf("accepted customer's fiat: %s", got.Status)
		}
		if !trust {
			if got, err := e.treasury(treasury.Hooks{}).Credit(ctx, tx.ID); err != nil || got.Status != transfer.PendingTrust {
				t.Fatalf("no trustline: %v %+v", err, got)
			}
		}
		e.decide(cid, kyc.ActionRequestInfo)
		if !trust {
			ct, _ := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}.ToChangeTrustAsset()
			e.submit(u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
			if n, _ := e.treasury(treasury.Hooks{}).ResumeCredits(ctx, e.tr); n != 0 {
				t.Fatal("the resume pass credited a customer sent back to review")
			}
		}
		_, err = e.treasury(treasury.Hooks{}).Credit(ctx, tx.ID)
		var ce *transfer.ComplianceError
		if !errors.As(err, &ce) || e.paymentsTo(u.Address()) != 0 {
			t.Fatalf("credit after request-info: %v, %d payments", err, e.paymentsTo(u.Address()))
		}
		e.putCustomer(u)
		e.decide(cid, kyc.ActionApprove)
		if got, err := e.treasury(treasury.Hooks{}).Credit(ctx, tx.ID); err != nil || got.Status != transfer.Completed || e.paymentsTo(u.Address()) != 1 {
			t.Fatalf("after approval: %v %+v", err, got)
		}
	}
}

// TestWithdrawPaidNeedsAcceptedCustomer: `withdraw paid` is refused unless the customer is
// ACCEPTED for the withdrawal type.
func TestWithdrawPaidNeedsAcceptedCustomer(t *testing.T) {
	e := newEnv(t)
	e.reviewed()
	e.cfg.Assets[0].Withdraw = e.cfg.Assets[0].Deposit
	ctx := context.Background()
	u := keypair.MustRandom()
	p := kyc.Principal{Account: u.Address()}
	cid, err := e.kyc.Put(ctx, p, &kyc.PutRequest{Type: "sep6-withdraw", Values: map[string]string{"first_name": "J", "last_name": "D",
		"email_address": "j@example.com", "bank_account_number": "1", "bank_number": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	e.decide(cid, kyc.ActionApprove)
	tx, err := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActWithdrawReceived, By: "ops", Amount: "10", StellarID: "ab12"}); err != nil {
		t.Fatal(err)
	}
	e.decide(cid, kyc.ActionReject)
	_, err = e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActPaid, By: "ops", ExternalID: "OUT-1"})
	var ce *transfer.ComplianceError
	if !errors.As(err, &ce) {
		t.Fatalf("withdraw paid for a rejected customer: %v", err)
	}
	if got, _ := e.tr.ShowTx(ctx, tx.ID); got.Status != transfer.PendingAnchor || got.ExternalTransactionID != "" {
		t.Fatalf("refused paid changed the withdrawal: %s %q", got.Status, got.ExternalTransactionID)
	}
	e.decide(cid, kyc.ActionApprove)
	if got, err := e.tr.Act(ctx, tx.ID, transfer.Action{Name: transfer.ActPaid, By: "ops", ExternalID: "OUT-1"}); err != nil || got.Status != transfer.Completed {
		t.Fatalf("paid after approval: %v", err)
	}
}

func splitSteps(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "+")
}
