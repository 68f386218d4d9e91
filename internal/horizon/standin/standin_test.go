package standin_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/horizon/standin"
)

type world struct {
	t                 *testing.T
	s                 *standin.Server
	hc                *horizonclient.Client
	issuer, dist, usr *keypair.Full
	asset             txnbuild.CreditAsset
}

func newWorld(t *testing.T) *world {
	s := standin.New()
	t.Cleanup(s.Close)
	w := &world{t: t, s: s, hc: &horizonclient.Client{HorizonURL: s.URL(), HTTP: http.DefaultClient},
		issuer: keypair.MustRandom(), dist: keypair.MustRandom(), usr: keypair.MustRandom()}
	for _, kp := range []*keypair.Full{w.issuer, w.dist} {
		if _, err := w.hc.Fund(kp.Address()); err != nil {
			t.Fatal(err)
		}
	}
	w.asset = txnbuild.CreditAsset{Code: "USDX", Issuer: w.issuer.Address()}
	return w
}

// submit builds a transaction from source with ops, signed by signers, and submits it.
func (w *world) submit(source *keypair.Full, signers []*keypair.Full, ops ...txnbuild.Operation) (string, error) {
	w.t.Helper()
	acct, err := w.hc.AccountDetail(horizonclient.AccountRequest{AccountID: source.Address()})
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: ops, BaseFee: txnbuild.MinBaseFee, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimeout(300)}})
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err = tx.Sign(network.TestNetworkPassphrase, signers...)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.hc.SubmitTransaction(tx)
	return res.Hash, err
}

func code(err error) string {
	var herr *horizonclient.Error
	if errors.As(err, &herr) {
		if rc, e := herr.ResultCodes(); e == nil {
			if len(rc.OperationCodes) > 0 && rc.TransactionCode == "tx_failed" {
				for _, c := range rc.OperationCodes {
					if c != "op_success" {
						return c
					}
				}
			}
			return rc.TransactionCode
		}
		return herr.Problem.Title
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func TestLedgerChecksAndApplies(t *testing.T) {
	w := newWorld(t)
	pay := func(to string, amt string) txnbuild.Operation {
		return &txnbuild.Payment{Destination: to, Amount: amt, Asset: w.asset}
	}
	// The user does not exist yet: paying is op_no_destination; create it.
	if _, err := w.submit(w.issuer, []*keypair.Full{w.issuer}, pay(w.usr.Address(), "1")); code(err) != "op_no_destination" {
		t.Fatalf("pay to missing account: %s", code(err))
	}
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, &txnbuild.CreateAccount{Destination: w.usr.Address(), Amount: "5"}); err != nil {
		t.Fatalf("create account: %s", code(err))
	}
	if _, err := w.submit(w.issuer, []*keypair.Full{w.issuer}, pay(w.usr.Address(), "1")); code(err) != "op_no_trust" {
		t.Fatalf("pay without trustline: %s", code(err))
	}
	// A wrong signer, an extra one, a stale sequence.
	if _, err := w.submit(w.usr, []*keypair.Full{w.dist}, &txnbuild.ManageData{Name: "a", Value: []byte("b")}); code(err) != "tx_bad_auth" {
		t.Fatalf("wrong signer: %s", code(err))
	}
	if _, err := w.submit(w.usr, []*keypair.Full{w.usr, w.dist}, &txnbuild.ManageData{Name: "a", Value: []byte("b")}); code(err) != "tx_bad_auth_extra" {
		t.Fatalf("extra signer: %s", code(err))
	}
	ct, _ := w.asset.ToChangeTrustAsset()
	if _, err := w.submit(w.usr, []*keypair.Full{w.usr}, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"}); err != nil {
		t.Fatalf("trustline: %s", code(err))
	}
	for _, kp := range []*keypair.Full{w.dist} {
		if _, err := w.submit(kp, []*keypair.Full{kp}, &txnbuild.ChangeTrust{Line: ct, Limit: "1000000"}); err != nil {
			t.Fatal(code(err))
		}
	}
	// Mint to the distribution account, pay the user, over-pay, burn back to the issuer.
	if _, err := w.submit(w.issuer, []*keypair.Full{w.issuer}, pay(w.dist.Address(), "500")); err != nil {
		t.Fatalf("mint: %s", code(err))
	}
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, pay(w.usr.Address(), "100.5")); err != nil {
		t.Fatalf("pay: %s", code(err))
	}
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, pay(w.usr.Address(), "1000")); code(err) != "op_underfunded" {
		t.Fatalf("overpay: %s", code(err))
	}
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, pay(w.issuer.Address(), "99.5")); err != nil {
		t.Fatalf("burn: %s", code(err))
	}
	if b, _ := w.s.Balance(w.usr.Address(), "USDX:"+w.issuer.Address()); b != 1_005_000_000 {
		t.Fatalf("user balance %d", b)
	}
	if b, _ := w.s.Balance(w.dist.Address(), "USDX:"+w.issuer.Address()); b != 3_000_000_000 {
		t.Fatalf("distribution balance %d", b)
	}
	// Raise thresholds and add a signer: one key alone no longer suffices.
	cosigner := keypair.MustRandom()
	th := txnbuild.Threshold(2)
	if _, err := w.submit(w.usr, []*keypair.Full{w.usr}, &txnbuild.SetOptions{Signer: &txnbuild.Signer{Address: cosigner.Address(), Weight: 1},
		MediumThreshold: &th, HighThreshold: &th, HomeDomain: txnbuild.NewHomeDomain("wallet.example")}); err != nil {
		t.Fatalf("set options: %s", code(err))
	}
	if _, err := w.submit(w.usr, []*keypair.Full{w.usr}, &txnbuild.ManageData{Name: "x", Value: []byte("y")}); code(err) != "tx_bad_auth" {
		t.Fatalf("below the medium threshold: %s", code(err))
	}
	if _, err := w.submit(w.usr, []*keypair.Full{w.usr, cosigner}, &txnbuild.ManageData{Name: "x", Value: []byte("y")}); err != nil {
		t.Fatalf("both signers: %s", code(err))
	}
	acct, _ := w.hc.AccountDetail(horizonclient.AccountRequest{AccountID: w.usr.Address()})
	if acct.HomeDomain != "wallet.example" || acct.Thresholds.MedThreshold != 2 || len(acct.Signers) != 2 {
		t.Fatalf("account %+v", acct)
	}
	// A claimable balance for an account without a trustline.
	other := keypair.MustRandom()
	w.hc.Fund(other.Address())
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, &txnbuild.CreateClaimableBalance{Amount: "10", Asset: w.asset,
		Destinations: []txnbuild.Claimant{txnbuild.NewClaimant(other.Address(), nil)}}); err != nil {
		t.Fatalf("claimable balance: %s", code(err))
	}
	if n := len(w.s.ClaimableBalances()); n != 1 {
		t.Fatalf("%d claimable balances", n)
	}
	if n := len(w.s.Payments()); n != 4 { // create_account, mint, pay, burn
		t.Fatalf("%d payments recorded", n)
	}
}

func TestFaults(t *testing.T) {
	w := newWorld(t)
	op := &txnbuild.CreateAccount{Destination: w.usr.Address(), Amount: "5"}
	w.s.Inject(standin.TimeoutBeforeApply)
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, op); code(err) != "Timeout" {
		t.Fatalf("timeout before apply: %s", code(err))
	}
	if _, ok := w.s.Balance(w.usr.Address(), "native"); ok {
		t.Fatal("applied despite timeout-before-apply")
	}
	w.s.Inject(standin.TimeoutAfterApply)
	if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, op); code(err) != "Timeout" {
		t.Fatalf("timeout after apply: %s", code(err))
	}
	if _, ok := w.s.Balance(w.usr.Address(), "native"); !ok {
		t.Fatal("not applied despite timeout-after-apply")
	}
	w.s.Inject(standin.BadSeq, standin.TooLate, standin.RateLimited)
	for _, want := range []string{"tx_bad_seq", "tx_too_late", "Rate Limit Exceeded"} {
		if _, err := w.submit(w.dist, []*keypair.Full{w.dist}, &txnbuild.ManageData{Name: "k", Value: []byte("v")}); code(err) != want {
			t.Fatalf("got %s, want %s", code(err), want)
		}
	}
	// An expired transaction is refused by the ledger itself.
	acct, _ := w.hc.AccountDetail(horizonclient.AccountRequest{AccountID: w.dist.Address()})
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
		Operations: []txnbuild.Operation{&txnbuild.ManageData{Name: "k", Value: []byte("v")}}, BaseFee: 100,
		Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimebounds(0, time.Now().Add(-time.Minute).Unix())}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, w.dist)
	if _, err := w.hc.SubmitTransaction(tx); code(err) != "tx_too_late" {
		t.Fatalf("expired: %s", code(err))
	}
}
