package cmd

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
)

func secretFromFile(t *testing.T, dir, name string) *keypair.Full {
	b, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return keypair.MustParseFull(v)
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

func submitTx(t *testing.T, hc *horizonclient.Client, src *keypair.Full, ops ...txnbuild.Operation) {
	t.Helper()
	acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: src.Address()})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true, Operations: ops,
		BaseFee: 100, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewInfiniteTimeout()}})
	tx, _ = tx.Sign(network.TestNetworkPassphrase, src)
	if _, err := hc.SubmitTransaction(tx); err != nil {
		t.Fatalf("setup: %v", err)
	}
}

// TestKill9DuringCredits: `anchor credit --all` is killed with SIGKILL several times during a
// batch; after running it to the end, the ledger holds exactly one payment per deposit and the
// store agrees.
func TestKill9DuringCredits(t *testing.T) {
	hz := standin.New()
	defer hz.Close()
	hc := &horizonclient.Client{HorizonURL: hz.URL(), HTTP: http.DefaultClient}
	dir, _ := initAnchor(t)
	issuer, dist := secretFromFile(t, dir, "ANCHOR_ISSUER_SECRET"), secretFromFile(t, dir, "ANCHOR_DISTRIBUTION_SECRET")
	hc.Fund(issuer.Address())
	hc.Fund(dist.Address())
	asset := txnbuild.CreditAsset{Code: "USDX", Issuer: issuer.Address()}
	ct, _ := asset.ToChangeTrustAsset()
	submitTx(t, hc, dist, &txnbuild.ChangeTrust{Line: ct, Limit: "1000000"})
	submitTx(t, hc, issuer, &txnbuild.Payment{Destination: dist.Address(), Amount: "100000", Asset: asset})

	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL()}
	cfg, err := config.Load(config.LoadOptions{File: filepath.Join(dir, "anchor.yaml"), Explicit: true, LookupEnv: mapEnv(env)})
	if err != nil {
		t.Fatal(err)
	}
	// A batch of deposits whose fiat arrived.
	const n = 30
	users := map[string]string{} // deposit id → user account
	st, err := store.Open(cfg.DataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.KYC.AutoApprove = true
	ks := &kyc.Service{Store: st, Config: cfg.KYC}
	ts := &transfer.Service{Store: st, Config: cfg, KYC: ks}
	for i := 0; i < n; i++ {
		u := keypair.MustRandom()
		hc.Fund(u.Address())
		submitTx(t, hc, u, &txnbuild.ChangeTrust{Line: ct, Limit: "1000"})
		p := kyc.Principal{Account: u.Address()}
		ks.Put(context.Background(), p, &kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"}})
		tx, err := ts.Create(context.Background(), transfer.Principal(p), transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Act(context.Background(), tx.ID, transfer.Action{Name: transfer.ActReceived, By: "ops", Amount: "10", ExternalID: "W" + tx.ID}); err != nil {
			t.Fatal(err)
		}
		users[tx.ID] = u.Address()
	}
	st.Close()

	// Kill the batch in the middle: as soon as the ledger shows the next payment (the process
	// is between one credit and the next, or inside one), SIGKILL it; then let it finish.
	kills := 0
	var progress []int // deposits paid after each kill
	for round := 0; round < 8; round++ {
		before := len(hz.Payments()) - 1
		if before >= n-1 {
			break
		}
		c := anchorProcess("credit", "--all", "--config", filepath.Join(dir, "anchor.yaml"), "--by", "treasurer")
		c.Env = append(c.Env, "ANCHOR_HORIZON_URL="+hz.URL())
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(hz.Payments())-1 <= before && time.Now().Before(deadline) {
			select {
			case <-done:
			default:
			}
			time.Sleep(200 * time.Microsecond)
		}
		if c.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		<-done
		progress = append(progress, len(hz.Payments())-1)
	}
	c := anchorProcess("credit", "--all", "--config", filepath.Join(dir, "anchor.yaml"))
	c.Env = append(c.Env, "ANCHOR_HORIZON_URL="+hz.URL())
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("final credit --all: %v\n%s", err, out)
	}
	if kills == 0 {
		t.Fatal("no run was killed")
	}

	perUser := map[string]int{}
	for _, p := range hz.Payments() {
		if p.From == dist.Address() && p.Kind == "payment" {
			perUser[p.To]++
		}
	}
	st, err = store.Open(cfg.DataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts = &transfer.Service{Store: st, Config: cfg}
	for id, user := range users {
		if perUser[user] != 1 {
			t.Errorf("deposit %s: %d payments on the ledger", id, perUser[user])
		}
		tx, err := ts.ShowTx(context.Background(), id)
		if err != nil || tx.Status != transfer.Completed || tx.StellarTransactionID == "" {
			t.Errorf("deposit %s in the store: %v %+v", id, err, tx)
		}
		if b, _ := hz.Balance(user, "USDX:"+issuer.Address()); b != 100_000_000 {
			t.Errorf("user of %s holds %d", id, b)
		}
	}
	t.Logf("%d runs killed; deposits paid after each kill: %v; %d payments for %d deposits", kills, progress, len(hz.Payments())-1, n)
}
