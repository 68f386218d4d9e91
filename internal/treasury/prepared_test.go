package treasury_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// TestPreparedEnvelopeOutlivesOtherActions: an envelope prepared for offline signing is valid
// for ValidFor (24h by default), not 5 minutes, and does not hold the distribution account's
// next sequence number: other credits land meanwhile, the prepared one still lands hours later
// once signed, and credits after it still work. Short envelopes are refused with who must sign.
func TestPreparedEnvelopeOutlivesOtherActions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(true)
	a, b, c := e.deposit(u, false), e.deposit(u, false), e.deposit(u, false)
	offline := e.treasury(treasury.Hooks{})
	offline.Signer, offline.XDROut, offline.ValidFor = nil, true, 30*time.Hour
	if _, err := offline.Credit(ctx, a); err != nil {
		t.Fatal(err)
	}
	op, _ := offline.Prepared(ctx, a)
	if d := op.MaxTime.Sub(e.clock.now()); d < 29*time.Hour || d > 31*time.Hour {
		t.Fatalf("prepared envelope valid for %s, want 30h", d)
	}
	// Unsigned: the report names the distribution account's signer, and submit refuses it.
	w, err := e.treasury(treasury.Hooks{}).Weights(ctx, op.Envelope)
	if err != nil || w.Enough || !strings.Contains(w.Short(), e.dist.Address()) {
		t.Fatalf("weights of an unsigned envelope: %v %+v", err, w)
	}
	if _, err := e.treasury(treasury.Hooks{}).Submit(ctx, op.Envelope); err == nil || !strings.Contains(err.Error(), "short of signatures") {
		t.Fatalf("submit unsigned: %v", err)
	}
	// Another credit lands while the envelope waits; hours pass.
	if tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, b); err != nil || tx.Status != transfer.Completed {
		t.Fatalf("credit meanwhile: %v", err)
	}
	e.clock.add(20 * time.Hour)
	env, err := treasury.ReadEnvelope(op.Envelope, e.cfg.NetworkPassphrase)
	if err != nil || env.Source != e.dist.Address() || len(env.Operations) != 1 || !strings.Contains(env.Operations[0], "payment of 25") {
		t.Fatalf("read envelope: %v %+v", err, env)
	}
	signed, err := env.Sign(e.cfg.NetworkPassphrase, e.dist)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := treasury.ReadEnvelope(signed, e.cfg.NetworkPassphrase); again != nil {
		if _, err := again.Sign(e.cfg.NetworkPassphrase, e.dist); err == nil {
			t.Fatal("signed twice with the same key")
		}
	}
	if got, err := e.treasury(treasury.Hooks{}).Submit(ctx, signed); err != nil || got.State != treasury.Confirmed {
		t.Fatalf("submit after 20h: %v %+v", err, got)
	}
	// The account's sequence jumped to the prepared envelope's: later credits still land.
	if tx, err := e.treasury(treasury.Hooks{}).Credit(ctx, c); err != nil || tx.Status != transfer.Completed {
		t.Fatalf("credit after: %v", err)
	}
	if n := e.paymentsTo(u.Address()); n != 3 {
		t.Fatalf("%d payments, want 3", n)
	}
}

// TestWeightsOfMultisig: with a 2-of-2 distribution account, one signature is short by the
// cosigner's weight, and the envelope is refused naming it.
func TestWeightsOfMultisig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cosigner := e.user(false)
	two := txnbuild.Threshold(2)
	e.submit(e.dist, &txnbuild.SetOptions{Signer: &txnbuild.Signer{Address: cosigner.Address(), Weight: 1}, MediumThreshold: &two})
	u := e.user(true)
	id := e.deposit(u, false)
	partly := e.treasury(treasury.Hooks{})
	partly.XDROut = true
	if _, err := partly.Credit(ctx, id); err != nil {
		t.Fatal(err)
	}
	op, _ := partly.Prepared(ctx, id)
	w, err := e.treasury(treasury.Hooks{}).Weights(ctx, op.Envelope)
	if err != nil || w.Enough || len(w.Accounts) != 1 || w.Accounts[0].Needed != 2 || w.Accounts[0].Present != 1 || !strings.Contains(w.Short(), cosigner.Address()) {
		t.Fatalf("weights: %v %+v", err, w)
	}
	if _, err := e.treasury(treasury.Hooks{}).Submit(ctx, op.Envelope); err == nil || !strings.Contains(err.Error(), cosigner.Address()) {
		t.Fatalf("short submit: %v", err)
	}
	full := signEnvelope(t, op.Envelope, cosigner)
	if w, _ := e.treasury(treasury.Hooks{}).Weights(ctx, full); !w.Enough {
		t.Fatalf("both signatures: %+v", w)
	}
}
