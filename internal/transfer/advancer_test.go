package transfer_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
)

// TestAdvancer: a queued customer's waiting transactions move on when its KYC is accepted;
// Run returns once its context ends, and queuing never blocks, even with nobody running.
func TestAdvancer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	tx, _ := e.tr.Create(ctx, transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	full := transfer.NewAdvancer(e.tr, logger, 2)
	for i := 0; i < 100; i++ {
		full.Enqueue(keypair.MustRandom().Address(), "") // bounded: never blocks, nobody runs it
	}
	a := transfer.NewAdvancer(e.tr, logger, 10)
	e.customer(t, p, kyc.Accepted)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	a.Enqueue(p.Account, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := e.tr.ShowTx(ctx, tx.ID)
		if got.Status == transfer.PendingUserTransferStart {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s", got.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
