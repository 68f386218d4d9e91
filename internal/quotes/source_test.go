package quotes_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/pkg/webhooksig"
)

// pricing is the business's pricing endpoint: it verifies each request's signature and answers
// what the test sets.
type pricing struct {
	*httptest.Server
	answer atomic.Value // string
	status atomic.Int32
	delay  atomic.Int64
	forged atomic.Int32
	last   atomic.Value // the last request's body
}

func newPricing(t *testing.T, secret []byte) *pricing {
	p := &pricing{}
	p.status.Store(200)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhooksig.Verify(secret, r.Header.Get(webhooksig.Header), body, time.Now(), 0) != nil {
			p.forged.Add(1)
			w.WriteHeader(401)
			return
		}
		p.last.Store(string(body))
		time.Sleep(time.Duration(p.delay.Load()))
		w.WriteHeader(int(p.status.Load()))
		io.WriteString(w, p.answer.Load().(string))
	}))
	t.Cleanup(p.Close)
	return p
}

// TestURLSource: prices come from the business's endpoint, asked with a signed request; its
// price and fee make the amounts by SEP-38's formulas, its expiry bounds the firm quote; a
// failing, slow or nonsensical answer is ErrUnavailable (503 to the wallet), never a price.
func TestURLSource(t *testing.T) {
	secret := []byte("pricing-secret-0123456789abcdef")
	biz := newPricing(t, secret)
	s := service(t)
	// A token in the URL's path and query, which no error may quote.
	s.Source = &quotes.URLSource{URL: biz.URL + "/price/s3cret-path?key=s3cret-query", Secret: secret, Client: &http.Client{Timeout: time.Second}, MaxLife: time.Hour}
	ctx := context.Background()
	req := quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6"}

	biz.answer.Store(`{"price": "0.95", "fee": {"total": "2.50", "asset": "iso4217:EUR", "details": [{"name": "SEPA fee", "amount": "0.50"}, {"name": "Service fee", "amount": "2.00"}]}}`)
	p, err := s.Price(ctx, req)
	if err != nil || p.SellAmount != "97.50" || p.Price != "0.9500000" || p.Fee.Total != "2.50" || len(p.Fee.Details) != 2 {
		t.Fatalf("price %+v %v", p, err)
	}
	var asked map[string]any
	if json.Unmarshal([]byte(biz.last.Load().(string)), &asked) != nil || asked["buy_amount"] != "100" || asked["firm"] != false || asked["context"] != "sep6" {
		t.Fatalf("the business was asked %v", biz.last.Load())
	}

	until := time.Now().Add(30 * time.Minute).UTC().Truncate(time.Second)
	biz.answer.Store(`{"price": "0.95", "expires_at": "` + until.Format(time.RFC3339) + `"}`)
	alice := quotes.Owner{Account: keypair.MustRandom().Address()}
	q, err := s.Create(ctx, alice, quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6", SellDeliveryMethod: "SEPA"})
	if err != nil || !q.ExpiresAt.Equal(until) || q.SellAmount != "95.00" {
		t.Fatalf("firm quote %+v %v", q, err)
	}
	if _, err := s.Create(ctx, alice, quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6", SellDeliveryMethod: "SEPA",
		ExpireAfter: until.Add(time.Minute)}); err == nil || !strings.Contains(err.Error(), "the price holds until") {
		t.Fatalf("expire_after past the business's expiry: %v", err)
	}

	for name, c := range map[string]struct {
		status int
		delay  time.Duration
		answer string
		firm   bool
	}{
		"a 500":                 {500, 0, `{"error":"down"}`, false},
		"too slow":              {200, 1500 * time.Millisecond, `{"price": "0.95"}`, false},
		"not JSON":              {200, 0, `<html>`, false},
		"no price":              {200, 0, `{}`, false},
		"a negative price":      {200, 0, `{"price": "-1"}`, false},
		"a zero price":          {200, 0, `{"price": "0.00"}`, false},
		"an exponent":           {200, 0, `{"price": "1e3"}`, false},
		"a fee in tokens":       {200, 0, `{"price": "0.95", "fee": {"total": "1", "asset": "` + usdx + `"}}`, false},
		"a fee not a number":    {200, 0, `{"price": "0.95", "fee": {"total": "abc", "asset": "iso4217:EUR"}}`, false},
		"details not its total": {200, 0, `{"price": "0.95", "fee": {"total": "3.00", "asset": "iso4217:EUR", "details": [{"name": "x", "amount": "1.00"}]}}`, false},
		"an expiry past":        {200, 0, `{"price": "0.95", "expires_at": "2020-01-01T00:00:00Z"}`, true},
		"an expiry too far":     {200, 0, `{"price": "0.95", "expires_at": "` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"}`, true},
		"an expiry not a time":  {200, 0, `{"price": "0.95", "expires_at": "soon"}`, true},
	} {
		biz.status.Store(int32(c.status))
		biz.delay.Store(int64(c.delay))
		biz.answer.Store(c.answer)
		var err error
		if c.firm {
			_, err = s.Create(ctx, alice, quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6", SellDeliveryMethod: "SEPA"})
		} else {
			_, err = s.Price(ctx, req)
		}
		if !errors.Is(err, quotes.ErrUnavailable) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want ErrUnavailable (without the URL's token)", name, err)
		}
	}
	if biz.forged.Load() != 0 {
		t.Fatal("a pricing request's signature did not verify")
	}
}

// TestURLSourceInFlight: at most InFlight requests reach the pricing endpoint at once; a price
// that finds no slot free before its deadline is ErrUnavailable saying so, and the endpoint
// never sees it; the ones in flight are answered.
func TestURLSourceInFlight(t *testing.T) {
	secret := []byte("pricing-secret-0123456789abcdef")
	var seen atomic.Int32
	release := make(chan struct{})
	biz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		<-release
		io.WriteString(w, `{"price": "0.95"}`)
	}))
	defer biz.Close()
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // before Close, which waits for the handlers
	s := service(t)
	s.Source = &quotes.URLSource{URL: biz.URL, Secret: secret, Client: &http.Client{Timeout: 10 * time.Second}, MaxLife: time.Hour, InFlight: 2}
	req := quotes.Request{SellAsset: "iso4217:EUR", BuyAsset: usdx, BuyAmount: "100", Context: "sep6"}
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { _, err := s.Price(context.Background(), req); errs <- err }()
	}
	for deadline := time.Now().Add(5 * time.Second); seen.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint saw %d requests, want 2", seen.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.Price(ctx, req); !errors.Is(err, quotes.ErrUnavailable) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("a third price while two are in flight: %v", err)
	}
	free()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("a price in flight: %v", err)
		}
	}
	if n := seen.Load(); n != 2 {
		t.Fatalf("the endpoint saw %d requests, want 2", n)
	}
}
