// Package quotes prices the exchange of the anchor's tokens against off-chain assets (SEP-38):
// indicative prices and firm quotes, from the configured pairs (quotes.pairs), computed in
// exact decimals (math/big: no float) to the Price Formulas of SEP-38, always rounded in the
// anchor's favour by less than one unit of the last decimal.
package quotes

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/kyc"
)

// TokenDecimals are the decimals of a Stellar asset.
const TokenDecimals = 7

// Fee is what an exchange costs, in one of its assets.
type Fee struct {
	Total   string      `json:"total"`
	Asset   string      `json:"asset"`
	Details []FeeDetail `json:"details,omitempty"`
}

// FeeDetail is one part of a fee.
type FeeDetail struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Amount      string `json:"amount"`
}

// Price is an indicative price (GET /price).
type Price struct {
	TotalPrice string `json:"total_price"`
	Price      string `json:"price"`
	SellAmount string `json:"sell_amount"`
	BuyAmount  string `json:"buy_amount"`
	Fee        Fee    `json:"fee"`
}

// Quote is a firm quote, bound to the account that asked for it.
type Quote struct {
	V                  int       `json:"v"`
	ID                 string    `json:"id"`
	ExpiresAt          time.Time `json:"expires_at"`
	TotalPrice         string    `json:"total_price"`
	Price              string    `json:"price"`
	SellAsset          string    `json:"sell_asset"`
	SellAmount         string    `json:"sell_amount"`
	SellDeliveryMethod string    `json:"sell_delivery_method,omitempty"`
	BuyAsset           string    `json:"buy_asset"`
	BuyAmount          string    `json:"buy_amount"`
	BuyDeliveryMethod  string    `json:"buy_delivery_method,omitempty"`
	Fee                Fee       `json:"fee"`
	Context            string    `json:"context"`
	CountryCode        string    `json:"country_code,omitempty"`
	Account            string    `json:"account"`
	Memo               string    `json:"memo,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	// TransferID is the transaction that used the quote (at most one).
	TransferID string `json:"transfer_id,omitempty"`
}

// Store keeps firm quotes (both backends).
type Store interface {
	PutQuote(ctx context.Context, q *Quote) error
	// Quote returns a quote by id, or ErrNotFound.
	Quote(ctx context.Context, id string) (*Quote, error)
}

// ErrNotFound: no such quote (or not the caller's).
var ErrNotFound = fault.NotFound("quote not found")

// InputError is a refused request (400), its message for the wallet (the shared fault type).
type InputError = fault.InputError

func bad(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

// pair is one direction of an exchange: selling sell for buy at price (sell per buy).
type pair struct {
	sell, buy       string
	sellDec, buyDec int
	price           *big.Rat // units of sell for one of buy, spread included
	fee             *big.Rat // in the off-chain asset
	feeInSell       bool     // the off-chain asset is sold (a deposit): the fee is in the sell asset
	offchain        config.QuoteAsset
}

// Service answers SEP-38 from the configuration's pairs and keeps firm quotes in Store.
type Service struct {
	Config *config.Config
	Store  Store
	// Source prices the requests; nil: the pairs' static prices.
	Source Source
	Now    func() time.Time
	pairs  []pair
	tokens map[string]bool // stellar:CODE:ISSUER of the priced assets
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// Code is an asset's code for people: EUR for iso4217:EUR, USDX for stellar:USDX:G...
func Code(asset string) string {
	if parts := strings.Split(asset, ":"); len(parts) > 1 {
		return parts[1]
	}
	return asset
}

// StellarAsset is a token in SEP-38's Asset Identification Format.
func StellarAsset(code, issuer string) string { return "stellar:" + code + ":" + issuer }

// NewService builds the pairs of a (validated) configuration.
func NewService(cfg *config.Config, st Store) *Service {
	s := &Service{Config: cfg, Store: st, tokens: map[string]bool{}}
	offchain := map[string]config.QuoteAsset{}
	for _, a := range cfg.Quotes.Assets {
		offchain[a.Asset] = a
	}
	issuers := map[string]string{}
	for _, a := range cfg.Assets {
		issuers[a.Code] = a.Issuer
	}
	hundred := big.NewRat(100, 1)
	for _, p := range cfg.Quotes.Pairs {
		fa := offchain[p.Offchain]
		token := StellarAsset(p.Asset, issuers[p.Asset])
		s.tokens[token] = true
		spread := new(big.Rat).Add(big.NewRat(1, 1), new(big.Rat).Quo(rat(p.SpreadPercent), hundred))
		mid := rat(p.Price)
		fee := rat(p.Fee)
		inv := new(big.Rat) // a url source's pairs have no price of their own
		if mid.Sign() > 0 {
			inv.Inv(mid)
		}
		// Selling the off-chain asset for tokens: the price of a token in it, spread added.
		s.pairs = append(s.pairs, pair{sell: p.Offchain, buy: token, sellDec: fa.Decimals, buyDec: TokenDecimals,
			price: new(big.Rat).Mul(mid, spread), fee: fee, feeInSell: true, offchain: fa})
		// Selling tokens for the off-chain asset: the price of one unit of it in tokens.
		s.pairs = append(s.pairs, pair{sell: token, buy: p.Offchain, sellDec: TokenDecimals, buyDec: fa.Decimals,
			price: new(big.Rat).Mul(inv, spread), fee: fee, feeInSell: false, offchain: fa})
	}
	return s
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Enabled says whether any pair is priced.
func (s *Service) Enabled() bool { return len(s.pairs) > 0 }

// InfoAsset is one asset of GET /info.
type InfoAsset struct {
	Asset               string                  `json:"asset"`
	CountryCodes        []string                `json:"country_codes,omitempty"`
	SellDeliveryMethods []config.DeliveryMethod `json:"sell_delivery_methods,omitempty"`
	BuyDeliveryMethods  []config.DeliveryMethod `json:"buy_delivery_methods,omitempty"`
}

// Info is GET /info: the tokens priced, then the off-chain assets.
func (s *Service) Info() []InfoAsset {
	var out []InfoAsset
	seen := map[string]bool{}
	for _, p := range s.pairs {
		if !p.feeInSell && !seen[p.sell] {
			seen[p.sell] = true
			out = append(out, InfoAsset{Asset: p.sell})
		}
	}
	for _, a := range s.Config.Quotes.Assets {
		out = append(out, InfoAsset{Asset: a.Asset, CountryCodes: a.CountryCodes, SellDeliveryMethods: a.SellDeliveryMethods, BuyDeliveryMethods: a.BuyDeliveryMethods})
	}
	return out
}

// Request is what GET /price, GET /prices and POST /quote ask.
type Request struct {
	SellAsset, BuyAsset                   string
	SellAmount, BuyAmount                 string
	SellDeliveryMethod, BuyDeliveryMethod string
	CountryCode                           string
	Context                               string
	ExpireAfter                           time.Time
}

var amountRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// amount parses a positive amount with at most dec decimals.
func amount(name, v string, dec int) (*big.Rat, error) {
	if !amountRE.MatchString(v) {
		return nil, bad("%s %q is not a positive decimal amount", name, v)
	}
	if _, frac, ok := strings.Cut(v, "."); ok && len(strings.TrimRight(frac, "0")) > dec {
		return nil, bad("%s %q has more than %d decimals", name, v, dec)
	}
	r := rat(v)
	if r.Sign() <= 0 {
		return nil, bad("%s must be positive", name)
	}
	return r, nil
}

// known reports whether an asset is priced at all.
func (s *Service) known(asset string) bool {
	return slices.ContainsFunc(s.pairs, func(p pair) bool { return p.sell == asset || p.buy == asset })
}

func (s *Service) find(sell, buy string) (*pair, error) {
	for i := range s.pairs {
		if s.pairs[i].sell == sell && s.pairs[i].buy == buy {
			return &s.pairs[i], nil
		}
	}
	for _, a := range []string{sell, buy} {
		if !s.known(a) {
			return nil, bad("%s is not an asset this anchor quotes; see GET /info", a)
		}
	}
	return nil, bad("this anchor does not exchange %s for %s; see GET /prices", sell, buy)
}

// checkMethods checks the delivery methods and country of a request against the pair's
// off-chain asset; firm requires a method when the asset lists more than one (and fills in the
// only one).
func (p *pair) checkMethods(r *Request, firm bool) error {
	sellSide := p.feeInSell // the off-chain asset is sold
	given, other := r.SellDeliveryMethod, r.BuyDeliveryMethod
	methods, name, otherName := p.offchain.SellDeliveryMethods, "sell_delivery_method", "buy_delivery_method"
	if !sellSide {
		given, other = r.BuyDeliveryMethod, r.SellDeliveryMethod
		methods, name, otherName = p.offchain.BuyDeliveryMethods, "buy_delivery_method", "sell_delivery_method"
	}
	if other != "" {
		return bad("%s applies to the off-chain asset you send or receive; give %s", otherName, name)
	}
	switch {
	case given != "" && !slices.ContainsFunc(methods, func(m config.DeliveryMethod) bool { return m.Name == given }):
		return bad("%s %q is not one of %s's; see GET /info", name, given, p.offchain.Asset)
	case given == "" && firm && len(methods) > 1:
		return bad("give %s: %s has several (GET /info)", name, p.offchain.Asset)
	case given == "" && firm && len(methods) == 1:
		if sellSide {
			r.SellDeliveryMethod = methods[0].Name
		} else {
			r.BuyDeliveryMethod = methods[0].Name
		}
	}
	if r.CountryCode != "" && len(p.offchain.CountryCodes) > 0 && !slices.Contains(p.offchain.CountryCodes, r.CountryCode) &&
		!slices.ContainsFunc(p.offchain.CountryCodes, func(c string) bool {
			return strings.HasPrefix(c, r.CountryCode+"-") || strings.HasPrefix(r.CountryCode, c+"-")
		}) {
		return bad("country_code %q: %s is offered in %s", r.CountryCode, p.offchain.Asset, strings.Join(p.offchain.CountryCodes, ", "))
	}
	return nil
}

// scale is 10^dec.
func scale(dec int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil) }

// round rounds r to dec decimals, up or down.
func round(r *big.Rat, dec int, up bool) *big.Rat {
	n := new(big.Int).Mul(r.Num(), scale(dec))
	q, m := new(big.Int).QuoRem(n, r.Denom(), new(big.Int))
	if up && m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(q, scale(dec))
}

// Format writes r with exactly dec decimals (r already rounded to them).
func Format(r *big.Rat, dec int) string { return r.FloatString(dec) }

// PriceDecimals are the decimals prices are given with.
const PriceDecimals = 7

// compute prices a request on p: the amounts, the fee and both prices.
func (p *pair) compute(r *Request, o *Offer) (*Price, error) {
	price, fee := o.Price, o.Fee
	haveSell, haveBuy := r.SellAmount != "", r.BuyAmount != ""
	if haveSell == haveBuy {
		return nil, bad("give sell_amount or buy_amount, not both")
	}
	var sell, buy *big.Rat
	var err error
	if haveSell {
		if sell, err = amount("sell_amount", r.SellAmount, p.sellDec); err != nil {
			return nil, err
		}
		if p.feeInSell { // sell - fee = price × buy
			net := new(big.Rat).Sub(sell, fee)
			buy = round(new(big.Rat).Quo(net, price), p.buyDec, false)
		} else { // sell = price × (buy + fee)
			buy = round(new(big.Rat).Sub(new(big.Rat).Quo(sell, price), fee), p.buyDec, false)
		}
		if buy.Sign() <= 0 {
			return nil, bad("sell_amount %s does not cover the fee of %s %s", r.SellAmount, Format(fee, p.offchain.Decimals), p.offchain.Asset)
		}
	} else {
		if buy, err = amount("buy_amount", r.BuyAmount, p.buyDec); err != nil {
			return nil, err
		}
		if p.feeInSell {
			sell = round(new(big.Rat).Add(new(big.Rat).Mul(price, buy), fee), p.sellDec, true)
		} else {
			sell = round(new(big.Rat).Mul(price, new(big.Rat).Add(buy, fee)), p.sellDec, true)
		}
	}
	total := new(big.Rat).Quo(sell, buy)
	return &Price{
		TotalPrice: Format(round(total, PriceDecimals, true), PriceDecimals),
		Price:      Format(round(price, PriceDecimals, true), PriceDecimals),
		SellAmount: Format(sell, p.sellDec),
		BuyAmount:  Format(buy, p.buyDec),
		Fee:        Fee{Total: Format(fee, p.offchain.Decimals), Asset: p.offchain.Asset, Details: o.Details},
	}, nil
}

func checkContext(c string) error {
	switch c {
	case "sep6", "sep24":
		return nil
	case "sep31":
		return bad("context sep31: this anchor has no SEP-31 server")
	case "":
		return bad("give context: sep6 or sep24")
	}
	return bad("context %q: give sep6 or sep24", c)
}

// Price answers GET /price.
func (s *Service) Price(ctx context.Context, r Request) (*Price, error) {
	pr, _, err := s.price(ctx, &r, false)
	return pr, err
}

// price checks a pair's request (firm: the delivery method required or filled in) and prices it
// with the source's offer.
func (s *Service) price(ctx context.Context, r *Request, firm bool) (*Price, *Offer, error) {
	if r.SellAsset == "" || r.BuyAsset == "" {
		return nil, nil, bad("give sell_asset and buy_asset")
	}
	if err := checkContext(r.Context); err != nil {
		return nil, nil, err
	}
	p, err := s.find(r.SellAsset, r.BuyAsset)
	if err != nil {
		return nil, nil, err
	}
	if err := p.checkMethods(r, firm); err != nil {
		return nil, nil, err
	}
	if err := p.checkAmount(r); err != nil {
		return nil, nil, err
	}
	o, err := s.offer(ctx, p, r, firm)
	if err != nil {
		return nil, nil, err
	}
	pr, err := p.compute(r, o)
	return pr, o, err
}

// offer asks the source for the pair's price.
func (s *Service) offer(ctx context.Context, p *pair, r *Request, firm bool) (*Offer, error) {
	if s.Source == nil {
		return &Offer{Price: p.price, Fee: p.fee}, nil
	}
	return s.Source.Offer(ctx, Ask{Request: *r, Offchain: p.offchain.Asset, Decimals: p.offchain.Decimals, Firm: firm})
}

// checkAmount refuses a request without exactly one well-formed amount before a source is asked.
func (p *pair) checkAmount(r *Request) error {
	switch {
	case (r.SellAmount != "") == (r.BuyAmount != ""):
		return bad("give sell_amount or buy_amount, not both")
	case r.SellAmount != "":
		_, err := amount("sell_amount", r.SellAmount, p.sellDec)
		return err
	}
	_, err := amount("buy_amount", r.BuyAmount, p.buyDec)
	return err
}

// PricesAsset is one asset of GET /prices.
type PricesAsset struct {
	Asset    string `json:"asset"`
	Price    string `json:"price"`
	Decimals int    `json:"decimals"`
}

// Prices answers GET /prices: the assets the given one exchanges for, each at its price for
// the amount (the fee included: the total price).
func (s *Service) Prices(ctx context.Context, r Request) (buyAssets, sellAssets []PricesAsset, err error) {
	switch {
	case (r.SellAsset == "") == (r.BuyAsset == ""):
		return nil, nil, bad("give sell_asset with sell_amount, or buy_asset with buy_amount")
	case r.SellAsset != "" && (r.SellAmount == "" || r.BuyAmount != ""):
		return nil, nil, bad("sell_asset takes sell_amount (and no buy_amount)")
	case r.BuyAsset != "" && (r.BuyAmount == "" || r.SellAmount != ""):
		return nil, nil, bad("buy_asset takes buy_amount (and no sell_amount)")
	}
	asset := r.SellAsset + r.BuyAsset
	if !s.known(asset) {
		return nil, nil, bad("%s is not an asset this anchor quotes; see GET /info", asset)
	}
	buyAssets, sellAssets = []PricesAsset{}, []PricesAsset{}
	for i := range s.pairs {
		p := &s.pairs[i]
		if (r.SellAsset != "" && p.sell != r.SellAsset) || (r.BuyAsset != "" && p.buy != r.BuyAsset) {
			continue
		}
		req := r
		if err := p.checkMethods(&req, false); err != nil {
			return nil, nil, err
		}
		if err := p.checkAmount(&req); err != nil {
			return nil, nil, err
		}
		o, err := s.offer(ctx, p, &req, false)
		if err != nil {
			return nil, nil, err
		}
		pr, err := p.compute(&req, o)
		if err != nil {
			return nil, nil, err
		}
		if r.SellAsset != "" {
			buyAssets = append(buyAssets, PricesAsset{Asset: p.buy, Price: pr.TotalPrice, Decimals: p.buyDec})
		} else {
			sellAssets = append(sellAssets, PricesAsset{Asset: p.sell, Price: pr.TotalPrice, Decimals: p.sellDec})
		}
	}
	return buyAssets, sellAssets, nil
}

// Owner is the SEP-10 account (and memo) a firm quote is bound to.
type Owner struct{ Account, Memo string }

// Create makes a firm quote for owner, stored before it is answered.
func (s *Service) Create(ctx context.Context, o Owner, r Request) (*Quote, error) {
	pr, offer, err := s.price(ctx, &r, true)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	expires := now.Add(s.Config.Quotes.Expiry)
	if !offer.Expires.IsZero() {
		expires = offer.Expires // the source's, checked against the bounds
	}
	if !r.ExpireAfter.IsZero() {
		if r.ExpireAfter.After(now.Add(s.Config.Quotes.MaxExpiry)) {
			return nil, bad("expire_after %s: quotes last at most %s", r.ExpireAfter.UTC().Format(time.RFC3339), s.Config.Quotes.MaxExpiry)
		}
		if r.ExpireAfter.After(expires) {
			if !offer.Expires.IsZero() {
				return nil, bad("expire_after %s: the price holds until %s", r.ExpireAfter.UTC().Format(time.RFC3339), expires.Format(time.RFC3339))
			}
			expires = r.ExpireAfter.UTC()
		}
	}
	q := &Quote{V: 1, ID: kyc.NewID(), ExpiresAt: expires.Truncate(time.Second), TotalPrice: pr.TotalPrice, Price: pr.Price,
		SellAsset: r.SellAsset, SellAmount: pr.SellAmount, SellDeliveryMethod: r.SellDeliveryMethod,
		BuyAsset: r.BuyAsset, BuyAmount: pr.BuyAmount, BuyDeliveryMethod: r.BuyDeliveryMethod,
		Fee: pr.Fee, Context: r.Context, CountryCode: r.CountryCode, Account: o.Account, Memo: o.Memo, CreatedAt: now}
	if q.ExpiresAt.Before(expires) {
		q.ExpiresAt = q.ExpiresAt.Add(time.Second) // never earlier than asked
	}
	if err := s.Store.PutQuote(ctx, q); err != nil {
		return nil, err
	}
	return q, nil
}

// Get returns a firm quote of owner (ErrNotFound for another's: it is never shown).
func (s *Service) Get(ctx context.Context, o Owner, id string) (*Quote, error) {
	q, err := s.Store.Quote(ctx, id)
	if err != nil {
		return nil, err
	}
	if q.Account != o.Account || q.Memo != o.Memo {
		return nil, ErrNotFound
	}
	return q, nil
}

// Convert prices an exchange now as firmly as a quote (a url source is asked with firm set) but
// keeps no quote: the rate a transaction without a usable quote gets when its money arrives.
func (s *Service) Convert(ctx context.Context, r Request) (*Price, error) {
	pr, _, err := s.price(ctx, &r, true)
	return pr, err
}

// Exchange describes the off-chain side of an offered pair for SEP-6 and SEP-24.
type Exchange struct {
	// Methods deliver the off-chain asset: the ways the anchor receives it when the user sells
	// it (a deposit), or pays it out when the user buys it (a withdrawal). Empty: not named.
	Methods  []string
	Decimals int
}

// Exchange reports whether offchain is exchanged for token (stellar:CODE:ISSUER) in the
// direction sell (the user sells offchain: a deposit), and how.
func (s *Service) Exchange(offchain, token string, sell bool) (Exchange, bool) {
	for _, p := range s.pairs {
		if p.feeInSell != sell || p.offchain.Asset != offchain || (sell && p.buy != token) || (!sell && p.sell != token) {
			continue
		}
		ms := p.offchain.BuyDeliveryMethods
		if sell {
			ms = p.offchain.SellDeliveryMethods
		}
		ex := Exchange{Decimals: p.offchain.Decimals}
		for _, m := range ms {
			ex.Methods = append(ex.Methods, m.Name)
		}
		return ex, true
	}
	return Exchange{}, false
}

// Offchains lists the off-chain assets token is exchanged with, in configuration order.
func (s *Service) Offchains(token string) []string {
	var out []string
	for _, p := range s.pairs {
		if p.feeInSell && p.buy == token {
			out = append(out, p.sell)
		}
	}
	return out
}

// ForConfig is the quotes service of a configuration: its pairs, priced by the business's URL
// when quotes.source is url.
func ForConfig(cfg *config.Config, st Store) *Service {
	s := NewService(cfg, st)
	if cfg.Quotes.Source == "url" {
		s.Source = &URLSource{URL: cfg.Quotes.URL, Secret: cfg.QuotesURLSecret(), MaxLife: cfg.Quotes.MaxExpiry,
			Client: &http.Client{Timeout: cfg.Quotes.URLTimeout}}
	}
	return s
}

// Lister lists the stored quotes (both backends), in no particular order, until fn returns
// false.
type Lister interface {
	EachQuote(ctx context.Context, fn func(*Quote) bool) error
}

// Filter selects quotes for `anchor quote list`.
type Filter struct {
	Account string
	Limit   int
}

// List returns the quotes matching f, newest first (at most f.Limit; 0: all).
func List(ctx context.Context, l Lister, f Filter) ([]*Quote, error) {
	out := []*Quote{}
	err := l.EachQuote(ctx, func(q *Quote) bool {
		if f.Account == "" || q.Account == f.Account {
			out = append(out, q)
		}
		return true
	})
	slices.SortFunc(out, func(a, b *Quote) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}
