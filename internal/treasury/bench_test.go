package treasury_test

import (
	"context"
	"testing"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// BenchmarkCredit is one deposit credited exactly once against the loopback stand-in: read the
// accounts, build, sign, store the envelope (fsync), submit, look nothing up, record completion
// (fsync). Deposits are created outside the timer.
func BenchmarkCredit(b *testing.B) {
	e := newEnv(b)
	u := e.user(true)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = e.deposit(u, false)
	}
	tr := e.treasury(treasury.Hooks{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := tr.Credit(ctx, ids[i])
		if err != nil || tx.Status != transfer.Completed {
			b.Fatalf("credit %d: %v", i, err)
		}
	}
	b.StopTimer()
	if n := e.paymentsTo(u.Address()); n != b.N {
		b.Fatalf("%d payments for %d credits", n, b.N)
	}
}

// BenchmarkBareSubmit is the baseline: the same payment built, signed and submitted with the
// SDK and no bookkeeping (what a script that may pay twice would do).
func BenchmarkBareSubmit(b *testing.B) {
	e := newEnv(b)
	u := e.user(true)
	asset := txnbuild.CreditAsset{Code: "USDX", Issuer: e.issuer.Address()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		acct, err := e.hc.AccountDetail(horizonclient.AccountRequest{AccountID: e.dist.Address()})
		if err != nil {
			b.Fatal(err)
		}
		tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
			Operations: []txnbuild.Operation{&txnbuild.Payment{Destination: u.Address(), Amount: "25", Asset: asset}},
			BaseFee:    100, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimeout(300)}})
		tx, _ = tx.Sign(network.TestNetworkPassphrase, e.dist)
		if _, err := e.hc.SubmitTransaction(tx); err != nil {
			b.Fatal(err)
		}
	}
}
