package quotes_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var issuer = keypair.MustRandom().Address()
var usdx = quotes.StellarAsset("USDX", issuer)

func service(t *testing.T) *quotes.Service {
	cfg := &config.Config{
		Assets: []config.Asset{{Code: "USDX", Issuer: issuer}},
		Quotes: config.Quotes{Expiry: 10 * time.Minute, MaxExpiry: time.Hour,
			Assets: []config.QuoteAsset{{Asset: "iso4217:EUR", Decimals: 2, CountryCodes: []string{"DE", "FR"},
				SellDeliveryMethods: []config.DeliveryMethod{{Name: "SEPA"}, {Name: "cash"}}, BuyDeliveryMethods: []config.DeliveryMethod{{Name: "SEPA"}}}},
			Pairs: []config.QuotePair{{Offchain: "iso4217:EUR", Asset: "USDX", Price: "0.92", SpreadPercent: "0.5", Fee: "1.00"}}},
	}
	return quotes.NewService(cfg, storetest.Open(t))
}

func r(s string) *big.Rat { v, _ := new(big.Rat).SetString(s); return v }

// TestPriceFormulas: each direction, from either amount, exactly to SEP-38's formulas, rounded
// to the assets' decimals in the anchor's favour (never by a whole unit of the last decimal).
func TestPriceFormulas(t *testing.T) {
	s := service(t)
	cases := []struct {
		name                  string
		req                   quotes.Request
		sell, buy, fee, price string
	}{
		// EUR → USDX: price 0.92 × 1.005 = 0.9246 EUR per USDX; the fee (1.00 EUR) in the sell asset.
		{"euros sold", quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, SellAmount: "100", Context: "sep6"}, "100.00", "107.0733290", "1.00", "0.9246000"},
		{"tokens bought", quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6"}, "93.46", "100.0000000", "1.00", "0.9246000"},
		// USDX → EUR: price 1.005 / 0.92 USDX per EUR; the fee in the buy asset.
		{"tokens sold", quotes.Request{SellAsset: usdx, BuyAsset: "iso4217:EUR", SellAmount: "100", Context: "sep24"}, "100.0000000", "90.54", "1.00", "1.0923914"},
		{"euros bought", quotes.Request{SellAsset: usdx, BuyAsset: "iso4217:EUR", BuyAmount: "50", Context: "sep6"}, "55.7119566", "50.00", "1.00", "1.0923914"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Price(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.SellAmount != c.sell || p.BuyAmount != c.buy || p.Fee.Total != c.fee || p.Fee.Asset != "iso4217:EUR" || p.Price != c.price {
				t.Fatalf("got %+v", p)
			}
			// sell_amount = total_price × buy_amount, to the price's decimals.
			total := new(big.Rat).Mul(r(p.TotalPrice), r(p.BuyAmount))
			if d := new(big.Rat).Sub(total, r(p.SellAmount)); d.Sign() < 0 || d.Cmp(new(big.Rat).Mul(r(p.BuyAmount), r("0.0000001"))) > 0 {
				t.Fatalf("total_price %s × buy %s = %s, sell %s", p.TotalPrice, p.BuyAmount, total.FloatString(9), p.SellAmount)
			}
		})
	}
}

func TestPriceRefusals(t *testing.T) {
	s := service(t)
	base := quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, SellAmount: "100", Context: "sep6"}
	for name, mod := range map[string]func(*quotes.Request){
		"both amounts":             func(q *quotes.Request) { q.BuyAmount = "1" },
		"no amount":                func(q *quotes.Request) { q.SellAmount = "" },
		"three decimals of EUR":    func(q *quotes.Request) { q.SellAmount = "10.001" },
		"negative":                 func(q *quotes.Request) { q.SellAmount = "-5" },
		"exponent":                 func(q *quotes.Request) { q.SellAmount = "1e3" },
		"zero":                     func(q *quotes.Request) { q.SellAmount = "0" },
		"less than the fee":        func(q *quotes.Request) { q.SellAmount = "0.50" },
		"unknown asset":            func(q *quotes.Request) { q.SellAsset = "iso4217:GBP" },
		"same asset twice":         func(q *quotes.Request) { q.BuyAsset = "iso4217:EUR" },
		"no context":               func(q *quotes.Request) { q.Context = "" },
		"sep31":                    func(q *quotes.Request) { q.Context = "sep31" },
		"unknown method":           func(q *quotes.Request) { q.SellDeliveryMethod = "PIX" },
		"method on the wrong side": func(q *quotes.Request) { q.BuyDeliveryMethod = "SEPA" },
		"a country not served":     func(q *quotes.Request) { q.CountryCode = "BR" },
	} {
		q := base
		mod(&q)
		var ie *quotes.InputError
		if _, err := s.Price(context.Background(), q); !errors.As(err, &ie) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Price(context.Background(), quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, SellAmount: "100", Context: "sep6", CountryCode: "DE", SellDeliveryMethod: "cash"}); err != nil {
		t.Fatalf("a served country and method: %v", err)
	}
}

// TestFirmQuotes: stored before answered, bound to the account (another's is not found), with
// the only delivery method filled in and one required among several; expire_after honoured up
// to quotes.max_expiry.
func TestFirmQuotes(t *testing.T) {
	s := service(t)
	ctx := context.Background()
	alice := quotes.Owner{Account: keypair.MustRandom().Address()}
	if _, err := s.Create(ctx, alice, quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, SellAmount: "100", Context: "sep6"}); err == nil || !strings.Contains(err.Error(), "sell_delivery_method") {
		t.Fatalf("no method among several: %v", err)
	}
	q, err := s.Create(ctx, alice, quotes.Request{SellAsset: usdx, BuyAsset: "iso4217:EUR", SellAmount: "100", Context: "sep6"})
	if err != nil || q.BuyDeliveryMethod != "SEPA" || q.BuyAmount != "90.54" || time.Until(q.ExpiresAt) < 9*time.Minute {
		t.Fatalf("quote %+v %v", q, err)
	}
	if got, err := s.Get(ctx, alice, q.ID); err != nil || got.SellAmount != "100.0000000" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, quotes.Owner{Account: keypair.MustRandom().Address()}, q.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Fatalf("another account's quote: %v", err)
	}
	if _, err := s.Get(ctx, quotes.Owner{Account: alice.Account, Memo: "7"}, q.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Fatalf("another memo's quote: %v", err)
	}
	later := time.Now().Add(30 * time.Minute)
	q2, err := s.Create(ctx, alice, quotes.Request{SellAsset: usdx, BuyAsset: "iso4217:EUR", BuyAmount: "10", Context: "sep24", ExpireAfter: later})
	if err != nil || q2.ExpiresAt.Before(later) {
		t.Fatalf("expire_after: %+v %v", q2, err)
	}
	if _, err := s.Create(ctx, alice, quotes.Request{SellAsset: usdx, BuyAsset: "iso4217:EUR", BuyAmount: "10", Context: "sep6", ExpireAfter: time.Now().Add(2 * time.Hour)}); err == nil {
		t.Fatal("an expiry past quotes.max_expiry was accepted")
	}
}

// TestURLSourcePairsNeedNoPrice: with quotes.source url a pair names no price (the business
// gives it), and building the service must not divide by it.
func TestURLSourcePairsNeedNoPrice(t *testing.T) {
	cfg := &config.Config{Assets: []config.Asset{{Code: "USDX", Issuer: "GISSUER"}},
		Quotes: config.Quotes{Source: "url", Assets: []config.QuoteAsset{{Asset: "iso4217:EUR", Decimals: 2}},
			Pairs: []config.QuotePair{{Offchain: "iso4217:EUR", Asset: "USDX"}}}}
	if s := quotes.NewService(cfg, nil); !s.Enabled() {
		t.Fatal("no pair")
	}
}
