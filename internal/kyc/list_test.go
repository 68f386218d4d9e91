package kyc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/kyc"
)

// TestListNewestPage: a page of kyc list is the newest rows of the whole list, in the same
// order, whatever the page size.
func TestListNewestPage(t *testing.T) {
	svc := newService(t, false)
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		p := kyc.Principal{Account: keypair.MustRandom().Address()}
		if _, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person}); err != nil {
			t.Fatal(err)
		}
	}
	full, err := svc.List(ctx, kyc.ListFilter{})
	if err != nil || len(full) != 40 {
		t.Fatalf("full list: %d rows, %v", len(full), err)
	}
	for _, limit := range []int{1, 3, 7, 20, 39, 40, 41} {
		page, err := svc.List(ctx, kyc.ListFilter{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		want := full[:min(limit, len(full))]
		if fmt.Sprint(page) != fmt.Sprint(want) {
			t.Fatalf("limit %d: got %v, want %v", limit, page, want)
		}
	}
}

// BenchmarkKYCListPage: anchor kyc list's page (the newest 50) with 10,000 customers.
func BenchmarkKYCListPage(b *testing.B) {
	svc := newService(b, false)
	ctx := context.Background()
	for i := 0; i < 10_000; i++ {
		p := kyc.Principal{Account: keypair.MustRandom().Address()}
		if _, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if page, err := svc.List(ctx, kyc.ListFilter{Limit: 50}); err != nil || len(page) != 50 {
			b.Fatal(len(page), err)
		}
	}
}

// fillReview makes accepted customers (auto-approved) and then processing ones (waiting for a
// reviewer), returning the ids of the latter.
func fillReview(t testing.TB, svc *kyc.Service, accepted, processing int) []string {
	t.Helper()
	ctx := context.Background()
	svc.Config.AutoApprove = true
	for i := 0; i < accepted; i++ {
		if _, err := svc.Put(ctx, kyc.Principal{Account: keypair.MustRandom().Address()}, &kyc.PutRequest{Values: person}); err != nil {
			t.Fatal(err)
		}
	}
	svc.Config.AutoApprove = false
	var ids []string
	for i := 0; i < processing; i++ {
		r, err := svc.Put(ctx, kyc.Principal{Account: keypair.MustRandom().Address()}, &kyc.PutRequest{Values: person})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r)
	}
	return ids
}

// TestReviewQueue: kyc list --status processing, read from the review queue, has exactly the
// rows the whole list has with that status, in the same order, through approvals, requests for
// information, rejections and erasure.
func TestReviewQueue(t *testing.T) {
	svc := newService(t, false)
	ctx := context.Background()
	ids := fillReview(t, svc, 20, 6)
	check := func(step string, want int) {
		t.Helper()
		all, err := svc.List(ctx, kyc.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var expected []kyc.Summary
		for _, s := range all {
			if s.Status == kyc.Processing {
				expected = append(expected, s)
			}
		}
		got, err := svc.List(ctx, kyc.ListFilter{Status: kyc.Processing})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(expected) || len(got) != want {
			t.Fatalf("%s: queue %v (%v), want the %d processing rows %v", step, got, err, want, expected)
		}
	}
	check("start", 6)
	decide := func(id, action string) {
		t.Helper()
		if _, err := svc.Decide(ctx, id, kyc.Decision{Action: action, By: "alice", Reason: "r", Field: "last_name"}); err != nil {
			t.Fatal(err)
		}
	}
	decide(ids[0], kyc.ActionApprove)
	check("approved", 5)
	decide(ids[1], kyc.ActionRequestInfo)
	check("info requested", 4)
	decide(ids[2], kyc.ActionReject)
	check("rejected", 3)
	if _, err := svc.Put(ctx, kyc.Principal{Account: keypair.MustRandom().Address()}, &kyc.PutRequest{Values: person}); err != nil {
		t.Fatal(err)
	}
	check("a new submission", 4)
}

// BenchmarkKYCReviewQueue: kyc list --status processing with 10,000 accepted customers and 3
// waiting for review.
func BenchmarkKYCReviewQueue(b *testing.B) {
	svc := newService(b, false)
	fillReview(b, svc, 10_000, 3)
	ctx := context.Background()
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if page, err := svc.List(ctx, kyc.ListFilter{Status: kyc.Processing, Limit: 50}); err != nil || len(page) != 3 {
			b.Fatal(len(page), err)
		}
	}
}
