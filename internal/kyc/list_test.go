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
