package transfer_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
)

// source is a price source the test moves: its price (EUR per USDX, spread included) and
// whether it answers.
type source struct {
	mu    sync.Mutex
	price *big.Rat
	down  bool
}

func (s *source) set(price string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.price, _ = new(big.Rat).SetString(price)
	s.down = down
}

func (s *source) Offer(ctx context.Context, a quotes.Ask) (*quotes.Offer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, quotes.ErrUnavailable
	}
	p := s.price
	if strings.HasPrefix(a.SellAsset, "stellar:") { // selling tokens: the price of a euro in tokens
		p = new(big.Rat).Inv(p)
	}
	return &quotes.Offer{Price: p, Fee: big.NewRat(1, 1)}, nil
}

type xenv struct {
	*env
	src *source
	p   transfer.Principal
	eur string
	tok string
}

// newExchangeEnv is newEnv with euros exchanged for USDX (fee 1 EUR) at a price the test sets,
// and an accepted customer.
func newExchangeEnv(t *testing.T) *xenv {
	e := newEnv(t)
	cfg := e.tr.Config
	cfg.Quotes = config.Quotes{Source: "url", Expiry: time.Minute, MaxExpiry: time.Hour,
		Assets: []config.QuoteAsset{{Asset: "iso4217:EUR", Decimals: 2, SellDeliveryMethods: []config.DeliveryMethod{{Name: "SEPA"}}, BuyDeliveryMethods: []config.DeliveryMethod{{Name: "SEPA"}}}},
		Pairs:  []config.QuotePair{{Offchain: "iso4217:EUR", Asset: "USDX"}}}
	x := &xenv{env: e, src: &source{}, eur: "iso4217:EUR", tok: quotes.StellarAsset("USDX", cfg.Assets[0].Issuer)}
	x.src.set("0.5", false)
	qs := quotes.NewService(cfg, e.tr.Store.(quotes.Store))
	qs.Source, qs.Now = x.src, func() time.Time { return e.now }
	e.tr.Quotes = qs
	x.p = transfer.Principal{Account: keypair.MustRandom().Address()}
	e.customer(t, kyc.Principal(x.p), kyc.Accepted)
	return x
}

func (x *xenv) quote(t *testing.T, sell, buy, amount string) *quotes.Quote {
	t.Helper()
	q, err := x.tr.Quotes.Create(context.Background(), quotes.Owner{Account: x.p.Account}, quotes.Request{SellAsset: sell, BuyAsset: buy, SellAmount: amount, Context: "sep6"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func (x *xenv) deposit(t *testing.T, r transfer.Request) *transfer.Transaction {
	t.Helper()
	r.Kind, r.AssetCode, r.Exchange = transfer.Deposit, "USDX", true
	if r.Offchain == "" && r.QuoteID == "" {
		r.Offchain = x.eur
	}
	tx, err := x.tr.Create(context.Background(), x.p, r)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func (x *xenv) act(t *testing.T, id string, a transfer.Action) *transfer.Transaction {
	t.Helper()
	a.By = "op"
	tx, err := x.tr.Act(context.Background(), id, a)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return tx
}

func amt(v *int64) string {
	if v == nil {
		return "<nil>"
	}
	return transfer.FormatAmount(*v)
}

func lastReason(tx *transfer.Transaction) string { return tx.History[len(tx.History)-1].Reason }

// TestExchangeQuoteHoldsUntilExpiry: euros that arrive before the quote expires get its tokens,
// even though the market moved; after it, the current rate (and the history says why).
func TestExchangeQuoteHoldsUntilExpiry(t *testing.T) {
	x := newExchangeEnv(t)
	q := x.quote(t, x.eur, x.tok, "101") // (101 - 1) / 0.5 = 200 USDX
	before := x.deposit(t, transfer.Request{QuoteID: q.ID})
	q2 := x.quote(t, x.eur, x.tok, "101")
	late := x.deposit(t, transfer.Request{QuoteID: q2.ID})
	if v := x.tr.View(context.Background(), before); before.Quote.BuyAmount != 200_0000000 || v.AmountOut != "200.0000000" || v.AmountInAsset != x.eur || v.Kind != "deposit-exchange" {
		t.Fatalf("quote terms %+v, view %+v", before.Quote, v)
	}
	x.src.set("0.25", false) // the market moves: 400 USDX for 100 EUR now
	x.now = x.now.Add(30 * time.Second)
	tx := x.act(t, before.ID, transfer.Action{Name: transfer.ActReceived, Amount: "101", ExternalID: "E1"})
	if amt(tx.AmountOut) != "200.0000000" || amt(tx.AmountFee) != "1.0000000" || tx.Status != transfer.PendingAnchor || !strings.Contains(lastReason(tx), "quote "+q.ID) {
		t.Fatalf("within the quote: out %s fee %s %s %q", amt(tx.AmountOut), amt(tx.AmountFee), tx.Status, lastReason(tx))
	}
	x.now = x.now.Add(time.Minute)
	tx = x.act(t, late.ID, transfer.Action{Name: transfer.ActReceived, Amount: "101", ExternalID: "E2"})
	if amt(tx.AmountOut) != "400.0000000" || tx.Price != "0.2500000" || !strings.Contains(lastReason(tx), "expired") || !strings.Contains(lastReason(tx), "current rate") {
		t.Fatalf("after the quote: out %s price %s %q", amt(tx.AmountOut), tx.Price, lastReason(tx))
	}
	// Another amount than the quote's is priced at the current rate too.
	q3 := x.quote(t, x.eur, x.tok, "11")
	other := x.deposit(t, transfer.Request{QuoteID: q3.ID})
	tx = x.act(t, other.ID, transfer.Action{Name: transfer.ActReceived, Amount: "21", ExternalID: "E3"})
	if amt(tx.AmountOut) != "80.0000000" || !strings.Contains(lastReason(tx), "not the 11.0000000 of quote") {
		t.Fatalf("another amount: out %s %q", amt(tx.AmountOut), lastReason(tx))
	}
	// The token's limits apply to the tokens bought: 1.20 EUR buys 0.8 USDX, below the minimum 1.
	small := x.deposit(t, transfer.Request{Amount: "1.20"})
	if tx = x.act(t, small.ID, transfer.Action{Name: transfer.ActReceived, Amount: "1.20", ExternalID: "E4"}); tx.Status != transfer.TooSmall ||
		lastReason(tx) != "received 1.2000000 EUR for 0.8000000 USDX, below the minimum 1" {
		t.Fatalf("too small: %s %q", tx.Status, lastReason(tx))
	}
}

// TestExchangeQuoteRules: a quote is used once (also by two requests racing), never after it
// expired, and within the token's limits.
func TestExchangeQuoteRules(t *testing.T) {
	x := newExchangeEnv(t)
	ctx := context.Background()
	q := x.quote(t, x.eur, x.tok, "11")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = x.tr.Create(ctx, x.p, transfer.Request{Kind: transfer.Deposit, AssetCode: "USDX", QuoteID: q.ID, Exchange: true})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var ie *transfer.InputError
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &ie) || !strings.Contains(ie.Msg, "used by another transaction"):
			t.Fatalf("a second use: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d transactions used one quote", ok)
	}
	if id, err := x.tr.QuoteUser(ctx, q.ID); err != nil || id == "" {
		t.Fatalf("QuoteUser: %q %v", id, err)
	}
	expired := x.quote(t, x.eur, x.tok, "11")
	x.now = x.now.Add(time.Minute)
	for name, r := range map[string]transfer.Request{
		"expired":   {QuoteID: expired.ID},
		"too large": {QuoteID: x.quote(t, x.eur, x.tok, "1001").ID}, // 2,000 USDX, above the maximum 1000
	} {
		r.Kind, r.AssetCode, r.Exchange = transfer.Deposit, "USDX", true
		_, err := x.tr.Create(ctx, x.p, r)
		var ie *transfer.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestExchangeUnpriced: when the price source is down as the money arrives, the receipt is still
// recorded, unpriced: nothing pays it out (a withdrawal cannot be marked paid) until `tx price`
// prices it once the source answers again; a price action while it is down changes nothing.
func TestExchangeUnpriced(t *testing.T) {
	x := newExchangeEnv(t)
	ctx := context.Background()
	x.src.set("0.5", true)
	dep := x.deposit(t, transfer.Request{Amount: "51"})
	tx := x.act(t, dep.ID, transfer.Action{Name: transfer.ActReceived, Amount: "51", ExternalID: "E1"})
	if tx.AmountOut != nil || tx.Status != transfer.PendingAnchor || !strings.Contains(lastReason(tx), "not priced") {
		t.Fatalf("unpriced receipt: out %s %s %q", amt(tx.AmountOut), tx.Status, lastReason(tx))
	}
	if _, err := x.tr.Act(ctx, dep.ID, transfer.Action{Name: transfer.ActPrice, By: "op"}); !errors.Is(err, quotes.ErrUnavailable) {
		t.Fatalf("price while the source is down: %v", err)
	}
	wd, err := x.tr.Create(ctx, x.p, transfer.Request{Kind: transfer.Withdrawal, AssetCode: "USDX", Offchain: x.eur, Amount: "10", Exchange: true})
	if err != nil {
		t.Fatal(err)
	}
	tx = x.act(t, wd.ID, transfer.Action{Name: transfer.ActWithdrawReceived, Amount: "10", StellarID: strings.Repeat("ab", 32)})
	if tx.AmountOut != nil || tx.Status != transfer.PendingAnchor {
		t.Fatalf("unpriced withdrawal: %s %s", amt(tx.AmountOut), tx.Status)
	}
	if _, err := x.tr.Act(ctx, wd.ID, transfer.Action{Name: transfer.ActPaid, By: "op", ExternalID: "OUT"}); err == nil || !strings.Contains(err.Error(), "not priced") {
		t.Fatalf("paid while unpriced: %v", err)
	}
	x.src.set("0.5", false)
	if tx = x.act(t, dep.ID, transfer.Action{Name: transfer.ActPrice}); amt(tx.AmountOut) != "100.0000000" {
		t.Fatalf("priced deposit: %s", amt(tx.AmountOut))
	}
	if _, err := x.tr.Act(ctx, dep.ID, transfer.Action{Name: transfer.ActPrice, By: "op"}); err == nil {
		t.Fatal("priced twice")
	}
	// 10 USDX at 2 USDX per euro is 5 EUR, less the 1 EUR fee.
	if tx = x.act(t, wd.ID, transfer.Action{Name: transfer.ActPrice}); amt(tx.AmountOut) != "4.0000000" || amt(tx.AmountFee) != "1.0000000" {
		t.Fatalf("priced withdrawal: out %s fee %s", amt(tx.AmountOut), amt(tx.AmountFee))
	}
	if tx = x.act(t, wd.ID, transfer.Action{Name: transfer.ActPaid, ExternalID: "OUT"}); tx.Status != transfer.Completed {
		t.Fatalf("paid: %s", tx.Status)
	}
}

// TestExchangeRefundsWhole: an exchange is refunded whole (what would be left to pay out would
// need pricing again), never in part.
func TestExchangeRefundsWhole(t *testing.T) {
	x := newExchangeEnv(t)
	dep := x.deposit(t, transfer.Request{Amount: "51"})
	x.act(t, dep.ID, transfer.Action{Name: transfer.ActReceived, Amount: "51", ExternalID: "E1"})
	if _, err := x.tr.Act(context.Background(), dep.ID, transfer.Action{Name: transfer.ActRefund, By: "op", PaymentID: "R1", Amount: "20"}); err == nil || !strings.Contains(err.Error(), "refund all") {
		t.Fatalf("partial refund of an exchange: %v", err)
	}
	tx := x.act(t, dep.ID, transfer.Action{Name: transfer.ActRefund, PaymentID: "R1", Fee: "0.5"})
	if tx.Status != transfer.Refunded || tx.Refunds.AmountRefunded != 50_5000000 {
		t.Fatalf("whole refund: %s %+v", tx.Status, tx.Refunds)
	}
}
