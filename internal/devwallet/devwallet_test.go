package devwallet

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// TestPayWithdrawalNeverTwice: the wallet's payment of a withdrawal is recorded before it is
// submitted, and each way a submission can end leaves the record so that paying again never pays
// twice and never refuses for nothing: refused by Horizon (nothing paid: the record goes), an
// answer lost after the ledger applied it (the next pay finds it and pays nothing), an answer
// lost before (the next pay waits for its time bounds, then pays), failed in the ledger with the
// answer lost (nothing paid: the next pay pays).
func TestPayWithdrawalNeverTwice(t *testing.T) {
	ctx := context.Background()
	hz := standin.New()
	defer hz.Close()
	issuer := keypair.MustRandom()
	hz.CreateAccount(issuer.Address(), 1, [3]byte{})
	open := func(kp *keypair.Full) *Wallet {
		w := &Wallet{Path: filepath.Join(t.TempDir(), "wallet.json"), Key: kp, HTTP: &http.Client{Timeout: 10 * time.Second},
			File: File{Seed: kp.Seed(), HomeDomain: "anchor.test", HorizonURL: hz.URL()},
			TOML: &stellartoml.StellarTOML{NetworkPassphrase: network.TestNetworkPassphrase,
				Currencies: []stellartoml.Currency{{Code: "USDX", Issuer: issuer.Address()}}}}
		hz.CreateAccount(kp.Address(), 1, [3]byte{})
		return w
	}
	treasury, w := open(issuer), open(keypair.MustRandom())
	if _, err := w.Trust(ctx, "USDX"); err != nil {
		t.Fatal(err)
	}
	fund := func(amount string) {
		t.Helper()
		if _, err := treasury.submit(ctx, &txnbuild.Payment{Destination: w.Account(), Amount: amount,
			Asset: txnbuild.CreditAsset{Code: "USDX", Issuer: issuer.Address()}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	fund("10")
	withdrawal := func(amount string) map[string]any {
		return map[string]any{"kind": "withdrawal", "status": "pending_user_transfer_start", "amount_in": amount,
			"amount_in_asset": "stellar:USDX:" + issuer.Address(), "withdraw_anchor_account": issuer.Address(),
			"withdraw_memo": "42", "withdraw_memo_type": "id"}
	}
	paid := func(amount string) (n int) {
		for _, p := range hz.Payments() {
			if p.From == w.Account() && p.To == issuer.Address() && p.Kind == "payment" {
				n++
			}
		}
		return n
	}

	t.Run("refused", func(t *testing.T) {
		_, _, err := w.PayWithdrawal(ctx, "refused", withdrawal("1000"), "")
		if err == nil || !strings.Contains(err.Error(), "op_underfunded") {
			t.Fatalf("err = %v, want the refusal's codes", err)
		}
		if p, ok := w.File.Paid["refused"]; ok {
			t.Fatalf("a refused payment is still recorded (%+v): paying again would wait for nothing", p)
		}
	})

	t.Run("answer lost after the ledger", func(t *testing.T) {
		before := paid("")
		hz.Inject(standin.TimeoutAfterApply)
		if _, _, err := w.PayWithdrawal(ctx, "after", withdrawal("1"), ""); err == nil {
			t.Fatal("a lost answer reported as paid")
		}
		hash, already, err := w.PayWithdrawal(ctx, "after", withdrawal("1"), "")
		if err != nil || !already || hash != w.File.Paid["after"].Hash {
			t.Fatalf("second pay = %s, %v, %v; want the recorded payment, already", hash, already, err)
		}
		if n := paid("") - before; n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
	})

	t.Run("answer lost before the ledger", func(t *testing.T) {
		before := paid("")
		hz.Inject(standin.TimeoutBeforeApply)
		if _, _, err := w.PayWithdrawal(ctx, "before", withdrawal("1"), ""); err == nil {
			t.Fatal("a lost answer reported as paid")
		}
		if _, _, err := w.PayWithdrawal(ctx, "before", withdrawal("1"), ""); err == nil || !strings.Contains(err.Error(), "not in the ledger yet") {
			t.Fatalf("pay while the first may still land = %v, want a refusal to pay", err)
		}
		p := w.File.Paid["before"]
		p.Until = time.Now().Add(-time.Minute) // its time bounds have passed
		w.File.Paid["before"] = p
		hash, already, err := w.PayWithdrawal(ctx, "before", withdrawal("1"), "")
		if err != nil || already || hash == "" {
			t.Fatalf("pay after the time bounds = %s, %v, %v; want a new payment", hash, already, err)
		}
		if n := paid("") - before; n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
	})

	t.Run("failed in the ledger, answer lost", func(t *testing.T) {
		before := paid("")
		hz.Inject(standin.TimeoutAfterApply)
		if _, _, err := w.PayWithdrawal(ctx, "failed", withdrawal("500"), ""); err == nil {
			t.Fatal("a lost answer reported as paid")
		}
		fund("1000")
		hash, already, err := w.PayWithdrawal(ctx, "failed", withdrawal("500"), "")
		if err != nil || already || hash == "" {
			t.Fatalf("pay after a failed one = %s, %v, %v; want a new payment", hash, already, err)
		}
		if n := paid("") - before; n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
	})
}
