package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/quotes"
)

// QuoteTerms are what a firm quote fixed, copied onto the transaction that uses it when it is
// created (a quote never changes): pricing the money's arrival then reads nothing else.
// Amounts are in stroops of their assets: SellAmount is what the user sends, BuyAmount what
// they get, Fee is in the off-chain asset.
type QuoteTerms struct {
	ID         string             `json:"id"`
	ExpiresAt  time.Time          `json:"expires_at"`
	SellAmount int64              `json:"sell_amount"`
	BuyAmount  int64              `json:"buy_amount"`
	Fee        int64              `json:"fee"`
	Price      string             `json:"price"`
	FeeDetails []quotes.FeeDetail `json:"fee_details,omitempty"`
}

// Exchange reports whether t exchanges its token for another asset (SEP-6 deposit-exchange or
// withdrawal-exchange, SEP-24 with source_asset / destination_asset or a quote).
func (t *Transaction) Exchange() bool { return t.Offchain != "" }

// Token is t's Stellar asset in SEP-38's Asset Identification Format.
func (t *Transaction) Token() string { return quotes.StellarAsset(t.AssetCode, t.AssetIssuer) }

// Assets are the SEP-38 assets amount_in, amount_out and amount_fee are in.
func (t *Transaction) Assets() (in, out, fee string) {
	tok := t.Token()
	switch {
	case !t.Exchange():
		return tok, tok, tok
	case t.Kind == Deposit:
		return t.Offchain, tok, t.Offchain
	}
	return tok, t.Offchain, t.Offchain
}

// WireKind is the kind SEP-6 shows: deposit-exchange or withdrawal-exchange for an exchange
// (SEP-24 knows only deposit and withdrawal).
func (t *Transaction) WireKind() Kind {
	if t.Exchange() && t.Protocol == "" {
		return t.Kind + "-exchange"
	}
	return t.Kind
}

// QuoteNamespace is where quotes are claimed by the transaction that uses them (ReserveMemo): a
// quote serves at most one transaction, on either store backend, by a unique claim.
const QuoteNamespace = "quote"

// offchainParam names the request parameter that carries the off-chain asset.
func offchainParam(k Kind) string {
	if k == Deposit {
		return "source_asset"
	}
	return "destination_asset"
}

func contextOf(protocol string) string {
	if protocol == ProtocolSEP24 {
		return "sep24"
	}
	return "sep6"
}

// prepareExchange checks the exchange side of a request: its quote (the owner's, made for this
// protocol, unexpired, for these assets, amount and method; SEP-6: "If the values of
// destination_asset, source_asset, amount and funding_method conflict with the ones used to
// create the [SEP-38] quote, this request should be rejected with a 400") and that the off-chain
// asset is exchanged for the token in this direction. It fills in what the quote fixes and what
// checkRequest needs, and returns the quote's terms (nil without a quote).
func (s *Service) prepareExchange(ctx context.Context, p Principal, r *Request, asset *config.Asset, dir *config.Direction, protocol string) (*QuoteTerms, error) {
	param := offchainParam(r.Kind)
	if s.Quotes == nil || !s.Quotes.Enabled() {
		given := param
		if r.QuoteID != "" {
			given = "quote_id"
		}
		return nil, inputErr("%s: this anchor does not exchange assets (it offers no SEP-38 quotes); leave it out, or use /deposit or /withdraw", given)
	}
	token := quotes.StellarAsset(asset.Code, asset.Issuer)
	sell := r.Kind == Deposit // the user sells the off-chain asset
	var q *quotes.Quote
	if r.QuoteID != "" {
		var err error
		q, err = s.Quotes.Get(ctx, quotes.Owner{Account: p.Account, Memo: p.Memo}, r.QuoteID)
		if errors.Is(err, quotes.ErrNotFound) {
			return nil, inputErr("quote_id %q is not a quote of this account; ask SEP-38 POST /quote", r.QuoteID)
		}
		if err != nil {
			return nil, err
		}
		offchain, onchain, method := q.SellAsset, q.BuyAsset, q.SellDeliveryMethod
		if !sell {
			offchain, onchain, method = q.BuyAsset, q.SellAsset, q.BuyDeliveryMethod
		}
		switch want := contextOf(protocol); {
		case q.Context != want:
			return nil, inputErr("quote %s was made for context %s, not %s", q.ID, q.Context, want)
		case onchain != token:
			return nil, inputErr("quote %s exchanges %s, not %s", q.ID, onchain, token)
		case r.Offchain != "" && r.Offchain != offchain:
			return nil, inputErr("%s %s conflicts with quote %s, which exchanges %s", param, r.Offchain, q.ID, offchain)
		case r.FundingMethod != "" && method != "" && !strings.EqualFold(r.FundingMethod, method):
			return nil, inputErr("funding_method %s conflicts with quote %s, made for %s", r.FundingMethod, q.ID, method)
		case !s.now().Before(q.ExpiresAt):
			return nil, inputErr("quote %s expired at %s; ask for a new one", q.ID, q.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if r.Amount != "" {
			v, err := ParseAmount(r.Amount)
			if want, _ := money.Parse(q.SellAmount); err != nil || v != want {
				return nil, inputErr("amount %s conflicts with quote %s, which sells %s", r.Amount, q.ID, q.SellAmount)
			}
		}
		r.Offchain, r.Amount = offchain, q.SellAmount
		if r.FundingMethod == "" {
			r.FundingMethod = method
		}
	}
	if r.Offchain == "" {
		return nil, inputErr("%s is required (an off-chain asset such as iso4217:EUR; see SEP-38 GET /info)", param)
	}
	ex, ok := s.Quotes.Exchange(r.Offchain, token, sell)
	if !ok {
		return nil, inputErr("%s %s is not exchanged for %s by this anchor; see SEP-38 GET /prices", param, r.Offchain, asset.Code)
	}
	r.methods = ex.Methods
	r.offchainAmount, r.offchainDecimals = sell, ex.Decimals
	if q == nil {
		return nil, nil
	}
	terms := &QuoteTerms{ID: q.ID, ExpiresAt: q.ExpiresAt, Price: q.Price, FeeDetails: q.Fee.Details}
	if err := parseAmounts("quote "+q.ID, amountInto{&terms.SellAmount, q.SellAmount}, amountInto{&terms.BuyAmount, q.BuyAmount}, amountInto{&terms.Fee, q.Fee.Total}); err != nil {
		return nil, err
	}
	if sell { // the token's limits apply to the tokens the quote buys
		if st, why := limits(dir, terms.BuyAmount); st != "" {
			return nil, inputErr("quote %s buys %s %s, %s", q.ID, FormatAmount(terms.BuyAmount), asset.Code, why)
		}
	}
	return terms, nil
}

// claimQuote claims t's quote for t in the store transaction that creates t.
func claimQuote(tx Tx, t *Transaction) error {
	if t.Quote == nil {
		return nil
	}
	ok, err := tx.ReserveMemo(QuoteNamespace, t.Quote.ID, t.ID)
	if err != nil {
		return err
	}
	if !ok {
		return inputErr("quote %s was used by another transaction already; ask for a new one", t.Quote.ID)
	}
	return nil
}

// limits checks an amount of tokens against a direction's minimum and maximum: too_small or
// too_large with why ("below the minimum 1"), or "".
func limits(dir *config.Direction, tokens int64) (Status, string) {
	if dir.MinAmount != "" {
		if min, _ := ParseAmount(dir.MinAmount); tokens < min {
			return TooSmall, "below the minimum " + dir.MinAmount
		}
	}
	if dir.MaxAmount != "" {
		if max, _ := ParseAmount(dir.MaxAmount); tokens > max {
			return TooLarge, "above the maximum " + dir.MaxAmount
		}
	}
	return "", ""
}

// conversion is an exchange priced: in (received), fee and out, in stroops of t's assets.
type conversion struct {
	id           string
	in, fee, out int64
	price        string
	details      []quotes.FeeDetail
	quote        string // the quote whose terms these are
}

// quoted is the conversion t's quote fixed, when it holds for v received at `at` (SEP-6: the
// quote's rate is respected when the funds arrive before it expires); else why it does not.
func quoted(t *Transaction, v int64, at time.Time) (*conversion, string) {
	q := t.Quote
	switch {
	case q == nil:
		return nil, ""
	case !at.Before(q.ExpiresAt):
		return nil, "quote " + q.ID + " expired at " + q.ExpiresAt.UTC().Format(time.RFC3339) + " before the funds arrived"
	case v != q.SellAmount:
		return nil, "received " + FormatAmount(v) + ", not the " + FormatAmount(q.SellAmount) + " of quote " + q.ID
	}
	return &conversion{id: t.ID, in: v, fee: q.Fee, out: q.BuyAmount, price: q.Price, details: q.FeeDetails, quote: q.ID}, ""
}

// market prices v received for t at the price source's current rate.
func (s *Service) market(ctx context.Context, t *Transaction, v int64) (*conversion, error) {
	if s.Quotes == nil || !s.Quotes.Enabled() {
		return nil, errors.New("no price source is configured (quotes)")
	}
	tok, sell := t.Token(), t.Kind == Deposit
	r := quotes.Request{Context: contextOf(t.Protocol), SellAmount: FormatAmount(v)}
	method := ""
	if ex, _ := s.Quotes.Exchange(t.Offchain, tok, sell); len(ex.Methods) > 0 {
		method = t.FundingMethod
	}
	if sell {
		r.SellAsset, r.BuyAsset, r.SellDeliveryMethod = t.Offchain, tok, method
	} else {
		r.SellAsset, r.BuyAsset, r.BuyDeliveryMethod = tok, t.Offchain, method
	}
	pr, err := s.Quotes.Convert(ctx, r)
	if err != nil {
		return nil, err
	}
	c := &conversion{id: t.ID, in: v, price: pr.Price, details: pr.Fee.Details}
	if err := parseAmounts("price of "+t.ID, amountInto{&c.fee, pr.Fee.Total}, amountInto{&c.out, pr.BuyAmount}); err != nil {
		return nil, err
	}
	return c, nil
}

// amountInto is a decimal amount (a quote's or a price's) and the stroops it is read into.
type amountInto struct {
	to *int64
	v  string
}

// parseAmounts reads each amount into its place; what names their source in an error.
func parseAmounts(what string, amounts ...amountInto) error {
	for _, a := range amounts {
		v, err := money.Parse(a.v)
		if err != nil {
			return fmt.Errorf("%s: amount %q: %w", what, a.v, err)
		}
		*a.to = v
	}
	return nil
}

// PriceReceipt prices, before the store transaction that records it, the money an action
// records for an exchange (received, withdraw-received, price): by its quote when that holds,
// else at the price source's current rate. Asking a business's pricing URL inside a store
// transaction would hold the store for a network call, so it is asked here; a failure is kept
// in a (the receipt is then recorded unpriced, or a price action refused).
func (s *Service) PriceReceipt(ctx context.Context, t *Transaction, a Action) Action {
	if !t.Exchange() {
		return a
	}
	var v int64
	if a.Name == ActPrice {
		if t.AmountIn == nil {
			return a
		}
		v = *t.AmountIn
	} else {
		var err error
		if v, err = ParseAmount(a.Amount); err != nil {
			return a
		}
		if c, _ := quoted(t, v, a.receivedAt(s.now())); c != nil {
			a.priced = c
			return a
		}
	}
	a.priced, a.priceErr = s.market(ctx, t, v)
	return a
}

// PricePayment is PriceReceipt for a payment matched by its memo (the withdrawal watcher, before
// its store transaction): a unchanged when the memo is no exchange's.
func (s *Service) PricePayment(ctx context.Context, namespace, memo string, a Action) Action {
	if s.Quotes == nil || !s.Quotes.Enabled() {
		return a
	}
	var t *Transaction
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		id, err := tx.MemoOwner(namespace, memo)
		if err != nil {
			return err
		}
		t, err = tx.Get(id)
		return err
	})
	if err != nil || !t.Exchange() || t.Status != PendingUserTransferStart {
		return a
	}
	return s.PriceReceipt(ctx, t, a)
}

// receivedAt is when the action's money arrived: ReceivedAt, or now when it is not given.
func (a Action) receivedAt(now time.Time) time.Time {
	if a.ReceivedAt.IsZero() {
		return now
	}
	return a.ReceivedAt
}

func setConversion(t *Transaction, c *conversion) {
	fee, out := c.fee, c.out
	t.AmountFee, t.AmountOut, t.Price, t.FeeDetails = &fee, &out, c.price, c.details
}

// exchangeReceived records v received for an exchange: priced by its quote or the conversion
// the action carries (PriceReceipt), checked against the token's limits; without a price the
// receipt is still recorded (the money did arrive) with no amount_out, which nothing pays out
// until `anchor tx price` prices it.
func (s *Service) exchangeReceived(tx Tx, t *Transaction, a Action, v int64, dir *config.Direction, now time.Time) error {
	reason := nonEmpty(a.Reason, "funds received")
	c, why := quoted(t, v, a.receivedAt(now))
	if c == nil && a.priced != nil && a.priced.id == t.ID && a.priced.in == v {
		c = a.priced
	}
	switch {
	case c == nil:
		t.AmountFee, t.AmountOut, t.Price, t.FeeDetails = nil, nil, "", nil
		e := "no price was asked"
		if a.priceErr != nil {
			e = a.priceErr.Error()
		}
		reason += "; not priced (" + strings.TrimPrefix(why+"; ", "; ") + e + "): price it with anchor tx price " + t.ID
	case c.quote != "":
		reason += "; at the price of quote " + c.quote
	default:
		if why != "" {
			reason += "; " + why
		}
		reason += "; priced at the current rate " + c.price
	}
	if c != nil {
		setConversion(t, c)
		tokens := c.out
		if t.Kind == Withdrawal {
			tokens = v
		}
		if st, why := limits(dir, tokens); st != "" {
			in, _, _ := t.Assets()
			return t.MoveTo(st, a.By, "received "+FormatAmount(v)+" "+quotes.Code(in)+" for "+FormatAmount(tokens)+" "+t.AssetCode+", "+why, now)
		}
	}
	if t.Kind == Withdrawal {
		return t.MoveTo(PendingAnchor, a.By, reason, now)
	}
	return s.depositReceived(tx, t, a.By, reason, now)
}

// priceLater prices an exchange whose receipt was recorded unpriced (ActPrice).
func (s *Service) priceLater(t *Transaction, a Action, now time.Time) error {
	if !t.Exchange() || t.AmountIn == nil || t.AmountOut != nil || Terminal(t.Status) {
		return inputErr("%s %s has no price to set: only an exchange whose money arrived unpriced has", t.Kind, t.ID)
	}
	c := a.priced
	if c == nil || c.id != t.ID || c.in != *t.AmountIn {
		msg := "no price source answered"
		if a.priceErr != nil {
			msg = a.priceErr.Error()
		}
		return fmt.Errorf("price %s: %s", t.ID, msg)
	}
	setConversion(t, c)
	t.Note(a.By, nonEmpty(a.Reason, "priced at the current rate "+c.price), now)
	return nil
}

// exchangeAmount prepares the check of an amount the user gives an exchange later (SEP-24's
// amount page): in the off-chain asset for a deposit, and the quote's own when there is one.
func (s *Service) exchangeAmount(t *Transaction, r *Request) error {
	if !t.Exchange() {
		return nil
	}
	if t.Quote != nil {
		if v, err := ParseAmount(r.Amount); err != nil || v != t.Quote.SellAmount {
			return inputErr("amount %s conflicts with quote %s, which sells %s", r.Amount, t.Quote.ID, FormatAmount(t.Quote.SellAmount))
		}
	}
	if s.Quotes == nil {
		return inputErr("this anchor no longer exchanges assets")
	}
	ex, ok := s.Quotes.Exchange(t.Offchain, t.Token(), t.Kind == Deposit)
	if !ok {
		return inputErr("%s is no longer exchanged for %s", t.Offchain, t.AssetCode)
	}
	r.Offchain, r.methods, r.offchainAmount, r.offchainDecimals = t.Offchain, ex.Methods, t.Kind == Deposit, ex.Decimals
	return nil
}

// QuoteUser returns the transaction that used a quote ("" if none has).
func (s *Service) QuoteUser(ctx context.Context, quoteID string) (string, error) {
	var id string
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		var err error
		id, err = tx.MemoOwner(QuoteNamespace, quoteID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	return id, err
}
