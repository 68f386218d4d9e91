package kyc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/kyc"
)

// TestRejectionOutlivesErasure: a rejected customer who erases itself leaves a tombstone (no
// personal data: account, memo, decision, when, by whom, why) that `kyc show OLD_ID` and the
// audit trail show; a new submission for the same account and memo is flagged to the reviewer
// and never auto-approved. An erasure without a rejection leaves nothing.
func TestRejectionOutlivesErasure(t *testing.T) {
	svc := newService(t, true) // auto-approve on: the flag must override it
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address(), Memo: "7"}
	oldID, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Decide(ctx, oldID, kyc.Decision{Action: kyc.ActionReject, By: "carol", Reason: "forged passport"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, p, "", "", ""); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Show(ctx, oldID)
	if err != nil {
		t.Fatalf("kyc show of an erased rejected customer: %v", err)
	}
	if d.Customer != nil || d.Erased == nil || d.Erased.Account != p.Account || d.Erased.Memo != "7" || d.Erased.Decision != kyc.Rejected ||
		d.Erased.By != "carol" || d.Erased.Reason != "forged passport" || d.Erased.DecidedAt.IsZero() || d.Erased.ErasedAt.IsZero() {
		t.Fatalf("tombstone %+v customer %+v", d.Erased, d.Customer)
	}
	if n := len(d.History); n < 3 || d.History[n-1].Action != kyc.ActionDelete {
		t.Fatalf("audit trail %+v", d.History)
	}

	newID, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person})
	if err != nil {
		t.Fatal(err)
	}
	st, _, _, _ := svc.CustomerStatus(ctx, p.Account, p.Memo, "sep6-deposit")
	if st != kyc.Processing {
		t.Fatalf("a previously rejected account came back %s (auto-approved?)", st)
	}
	nd, _ := svc.Show(ctx, newID)
	if nd.Customer.PreviouslyRejected == nil || nd.Customer.PreviouslyRejected.CustomerID != oldID {
		t.Fatalf("the new submission is not flagged: %+v", nd.Customer.PreviouslyRejected)
	}
	list, _ := svc.List(ctx, kyc.ListFilter{})
	if len(list) != 1 || !list[0].PreviouslyRejected {
		t.Fatalf("kyc list: %+v", list)
	}

	// An erasure without a rejection keeps nothing.
	q := kyc.Principal{Account: keypair.MustRandom().Address()}
	id, _ := svc.Put(ctx, q, &kyc.PutRequest{Values: person})
	svc.Delete(ctx, q, "", "", "")
	if _, err := svc.Show(ctx, id); !errors.Is(err, kyc.ErrNotFound) {
		t.Fatalf("show of an erased accepted customer: %v", err)
	}
}
