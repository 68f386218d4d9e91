package quotes

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/pkg/webhooksig"
)

// Offer is what a price source says of a request: the price (units of the sell asset for one
// of the buy asset, the margin included), the fee in the off-chain asset, and, for a firm quote,
// until when the price holds (zero: quotes.expiry).
type Offer struct {
	Price   *big.Rat
	Fee     *big.Rat
	Details []FeeDetail
	Expires time.Time
}

// Ask is a request as a source sees it.
type Ask struct {
	Request
	Offchain string // the pair's off-chain asset: the fee's
	Decimals int    // its decimals
	Firm     bool
}

// Source prices requests (the business's pricing URL).
type Source interface {
	Offer(ctx context.Context, a Ask) (*Offer, error)
}

// ErrUnavailable: the price source failed, was slow or answered what cannot be a price. The
// wallet gets 503: never a made-up price.
var ErrUnavailable = errors.New("prices are unavailable")

// URLSource asks the business's pricing endpoint: a signed POST (pkg/webhooksig, as events) of
// the request, answered with {"price", "fee": {"total", "asset", "details"}, "expires_at"}.
type URLSource struct {
	URL     string
	Secret  []byte
	Client  *http.Client // with the timeout (quotes.url_timeout)
	Now     func() time.Time
	MaxLife time.Duration // quotes.max_expiry
	// InFlight bounds the requests to the endpoint at once (0: maxPricingInFlight).
	InFlight int

	once  sync.Once
	slots *semaphore.Weighted
}

// maxPricingInFlight bounds the requests to the business's pricing endpoint at once, whatever
// the wallets ask: a price that finds none free waits for one within url_timeout, and is then
// a 503, so that a flood of prices never becomes a flood at the business.
const maxPricingInFlight = 32

// urlRequest is what the business's endpoint receives.
type urlRequest struct {
	SellAsset          string `json:"sell_asset"`
	BuyAsset           string `json:"buy_asset"`
	SellAmount         string `json:"sell_amount,omitempty"`
	BuyAmount          string `json:"buy_amount,omitempty"`
	SellDeliveryMethod string `json:"sell_delivery_method,omitempty"`
	BuyDeliveryMethod  string `json:"buy_delivery_method,omitempty"`
	CountryCode        string `json:"country_code,omitempty"`
	Context            string `json:"context"`
	Firm               bool   `json:"firm"`
	ExpireAfter        string `json:"expire_after,omitempty"`
}

type urlAnswer struct {
	Price     string `json:"price"`
	Fee       *Fee   `json:"fee"`
	ExpiresAt string `json:"expires_at"`
}

var priceRE = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,20})?$`)

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: the pricing service %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

// Offer implements Source.
func (u *URLSource) Offer(ctx context.Context, a Ask) (*Offer, error) {
	q := urlRequest{SellAsset: a.SellAsset, BuyAsset: a.BuyAsset, SellAmount: a.SellAmount, BuyAmount: a.BuyAmount,
		SellDeliveryMethod: a.SellDeliveryMethod, BuyDeliveryMethod: a.BuyDeliveryMethod, CountryCode: a.CountryCode,
		Context: a.Context, Firm: a.Firm}
	if !a.ExpireAfter.IsZero() {
		q.ExpireAfter = a.ExpireAfter.UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	// One deadline (url_timeout) for the wait for a slot and the answer together.
	if u.Client.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, u.Client.Timeout)
		defer cancel()
	}
	slots := cmp.Or(u.InFlight, maxPricingInFlight)
	u.once.Do(func() { u.slots = semaphore.NewWeighted(int64(slots)) })
	if err := u.slots.Acquire(ctx, 1); err != nil {
		return nil, unavailable("is busy: %d requests to it are in flight already", slots)
	}
	defer u.slots.Release(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooksig.Header, webhooksig.Sign(u.Secret, body, now()))
	resp, err := u.Client.Do(req)
	if err != nil {
		// By its address: the URL's path or query may hold a token.
		return nil, unavailable("at %s did not answer: %v", req.URL.Host, fault.WithoutURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, unavailable("answer was cut: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable("answered %s", resp.Status)
	}
	var ans urlAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, unavailable("answered something that is not a price (JSON: %v)", err)
	}
	if !priceRE.MatchString(ans.Price) || rat(ans.Price).Sign() <= 0 {
		return nil, unavailable("answered price %q, not a positive decimal", ans.Price)
	}
	o := &Offer{Price: rat(ans.Price), Fee: new(big.Rat)}
	if ans.Fee != nil {
		if ans.Fee.Asset != a.Offchain {
			return nil, unavailable("gave its fee in %q; fees are in the off-chain asset %s", ans.Fee.Asset, a.Offchain)
		}
		if !amountRE.MatchString(ans.Fee.Total) || rat(ans.Fee.Total).Sign() != 0 { // not a zero fee
			fee, err := amount("fee", ans.Fee.Total, a.Decimals)
			if err != nil {
				return nil, unavailable("answered fee %q: %v", ans.Fee.Total, err)
			}
			o.Fee = fee
		}
		sum := new(big.Rat)
		for _, d := range ans.Fee.Details {
			v, err := amount("fee detail", d.Amount, a.Decimals)
			if err != nil || d.Name == "" {
				return nil, unavailable("answered a fee detail %q %q that is not a named amount", d.Name, d.Amount)
			}
			sum.Add(sum, v)
		}
		if len(ans.Fee.Details) > 0 && sum.Cmp(o.Fee) != 0 {
			return nil, unavailable("answered fee details that do not add up to its total %s", ans.Fee.Total)
		}
		o.Details = ans.Fee.Details
	}
	if a.Firm {
		if ans.ExpiresAt == "" {
			return o, nil // the anchor's own expiry
		}
		t, err := time.Parse(time.RFC3339, ans.ExpiresAt)
		n := now()
		switch {
		case err != nil:
			return nil, unavailable("answered expires_at %q, not an ISO 8601 time", ans.ExpiresAt)
		case !t.After(n.Add(time.Second)):
			return nil, unavailable("answered expires_at %s, already past", ans.ExpiresAt)
		case u.MaxLife > 0 && t.After(n.Add(u.MaxLife)):
			return nil, unavailable("answered expires_at %s, beyond quotes.max_expiry", ans.ExpiresAt)
		case !a.ExpireAfter.IsZero() && t.Before(a.ExpireAfter):
			return nil, bad("expire_after %s: the price holds until %s", a.ExpireAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
		}
		o.Expires = t.UTC()
	}
	return o, nil
}
