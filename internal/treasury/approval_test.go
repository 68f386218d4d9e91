package treasury_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// as is the treasury of one operator (an actor string as the admin socket records it).
func (e *env) as(by string, h treasury.Hooks) *treasury.Treasury {
	t := e.treasury(h)
	t.By = by
	return t
}

// TestTwoPersonRule: above the asset's threshold a credit, a payment and a return are proposed,
// not built; the proposer (whatever --by says) cannot approve, an expired proposal cannot be
// approved, and a second OS user's approval carries the action out exactly once, through a crash.
func TestTwoPersonRule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.cfg.Treasury.ApprovalThreshold = map[string]string{"usdx": "100"} // viper lowercases map keys
	e.cfg.Treasury.ApprovalExpiry = time.Hour
	u := e.user(true)

	// Under the threshold: no approval.
	if tx, err := e.as("alice", treasury.Hooks{}).Credit(ctx, e.deposit(u, false)); err != nil || tx.Status != transfer.Completed {
		t.Fatalf("small credit: %v", err)
	}
	// Above it: proposed, nothing built or paid; asking again proposes nothing new.
	p := kyc.Principal{Account: u.Address()}
	big, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	if _, err := e.tr.Act(ctx, big.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "150", ExternalID: "W-big"}); err != nil {
		t.Fatal(err)
	}
	paid := e.paymentsTo(u.Address())
	var pe *treasury.ProposedError
	if _, err := e.as("alice (--by Alice A.)", treasury.Hooks{}).Credit(ctx, big.ID); !errors.As(err, &pe) || !pe.New || !strings.Contains(err.Error(), "anchor approve credit/"+big.ID) {
		t.Fatalf("big credit: %v", err)
	}
	if _, err := e.as("alice", treasury.Hooks{}).Credit(ctx, big.ID); !errors.As(err, &pe) || pe.New {
		t.Fatalf("big credit again: %v", err)
	}
	if e.paymentsTo(u.Address()) != paid || e.status(big.ID) != transfer.PendingAnchor {
		t.Fatal("a proposed credit moved money")
	}
	if list, _ := e.st.Proposals(ctx); len(list) != 1 || list[0].Amount != 150_0000000 || list[0].ProposedBy != "alice (--by Alice A.)" {
		t.Fatalf("proposals %+v", list)
	}
	// The proposer, under another note, cannot approve.
	if _, err := e.as("alice (--by Bob)", treasury.Hooks{}).Approve(ctx, "credit/"+big.ID); err == nil || !strings.Contains(err.Error(), "another OS user") {
		t.Fatalf("self-approval: %v", err)
	}
	// A dry run of the approval records nothing and pays nothing; a prefix of the id is enough.
	dry := e.as("bob", treasury.Hooks{})
	dry.DryRun = true
	if plan, err := dry.Approve(ctx, "credit/"+big.ID[:6]); err != nil || !plan.DryRun || e.paymentsTo(u.Address()) != paid {
		t.Fatalf("approve --dry-run: %v %+v", err, plan)
	}
	if list, _ := e.st.Proposals(ctx); list[0].ApprovedAt != nil {
		t.Fatal("a dry run recorded the approval")
	}
	// Bob approves; the submission crashes after the payment is stored; approving again resumes.
	crash := func() error { return errCrash }
	if _, err := e.as("bob", treasury.Hooks{AfterSubmit: crash}).Approve(ctx, "credit/"+big.ID); !errors.Is(err, errCrash) {
		t.Fatalf("approve with a crash: %v", err)
	}
	op, err := e.as("bob", treasury.Hooks{}).Approve(ctx, "credit/"+big.ID)
	if err != nil || op.State != treasury.Confirmed {
		t.Fatalf("approve again: %v %+v", err, op)
	}
	if e.paymentsTo(u.Address()) != paid+1 || e.status(big.ID) != transfer.Completed {
		t.Fatalf("after approval: %d payments, %s", e.paymentsTo(u.Address())-paid, e.status(big.ID))
	}
	if _, err := e.as("alice", treasury.Hooks{}).Credit(ctx, big.ID); err != nil || e.paymentsTo(u.Address()) != paid+1 {
		t.Fatalf("the proposer's credit after approval paid again: %v", err)
	}

	// An ad-hoc payment: the proposal expires unapproved; running it again proposes it anew.
	pay := func(tr *treasury.Treasury) (*treasury.Op, error) {
		return tr.Execute(ctx, "pay/big", "payment", e.dist.Address(), e.dist,
			[]txnbuild.Operation{&txnbuild.Payment{Destination: u.Address(), Amount: "500", Asset: txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}}},
			txnbuild.MemoID(42), treasury.Moved{Asset: e.assetKey, Amount: 500_0000000})
	}
	if _, err := pay(e.as("alice", treasury.Hooks{})); !errors.As(err, &pe) || !pe.New {
		t.Fatalf("big payment: %v", err)
	}
	e.clock.add(2 * time.Hour)
	if _, err := e.as("bob", treasury.Hooks{}).Approve(ctx, "pay/big"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approve after expiry: %v", err)
	}
	if _, err := pay(e.as("alice", treasury.Hooks{})); !errors.As(err, &pe) || !pe.New {
		t.Fatalf("proposed again: %v", err)
	}
	if _, err := e.as("bob", treasury.Hooks{}).Approve(ctx, ""); err == nil || !strings.Contains(err.Error(), "names 2 proposals") {
		t.Fatalf("an ambiguous prefix: %v", err)
	}
	op, err = e.as("bob", treasury.Hooks{}).Approve(ctx, "pay/big")
	if err != nil || op.State != treasury.Confirmed || op.By != "bob" {
		t.Fatalf("approved payment: %v %+v", err, op)
	}
	n := 0
	for _, p := range e.hz.Payments() {
		if p.To == u.Address() && p.Amount == 500_0000000 && p.Memo.Id != nil && *p.Memo.Id == 42 {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d payments of the approved action", n)
	}
	if _, err := e.as("carol", treasury.Hooks{}).Approve(ctx, "nope"); !errors.Is(err, treasury.ErrNoProposal) {
		t.Fatalf("unknown proposal: %v", err)
	}
}
