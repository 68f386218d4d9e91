package sep10

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// SignChallenge adds the signatures of kps to a challenge, as a wallet does before POSTing it.
func SignChallenge(txB64, networkPassphrase string, kps ...*keypair.Full) (string, error) {
	var env xdr.TransactionEnvelope
	if err := xdr.SafeUnmarshalBase64(txB64, &env); err != nil {
		return "", fmt.Errorf("decode challenge: %w", err)
	}
	if env.V1 == nil {
		return "", fmt.Errorf("challenge is not a v1 transaction envelope")
	}
	hash, err := network.HashTransactionInEnvelope(env, networkPassphrase)
	if err != nil {
		return "", err
	}
	for _, kp := range kps {
		sig, err := kp.SignDecorated(hash[:])
		if err != nil {
			return "", err
		}
		env.V1.Signatures = append(env.V1.Signatures, sig)
	}
	return xdr.MarshalBase64(env)
}

// Client is the wallet side of SEP-10 over HTTP.
type Client struct {
	HTTP *http.Client
	// Endpoint is the WEB_AUTH_ENDPOINT; ServerKey the SIGNING_KEY from the same stellar.toml.
	Endpoint      string
	ServerKey     string
	Network       string
	HomeDomain    string
	WebAuthDomain string // default: the Endpoint's host
	// ClockSkew is how far the server's clock may be from this one when reading a challenge's
	// time bounds: DefaultClockSkew when 0, none when negative.
	ClockSkew time.Duration
	// Now is the wallet's clock (time.Now when nil).
	Now func() time.Time
}

// DefaultClockSkew is the clock difference a Client tolerates by default, as wallets do.
const DefaultClockSkew = 5 * time.Minute

// ChallengeResponse is the body of GET <WEB_AUTH_ENDPOINT>.
type ChallengeResponse struct {
	Transaction       string `json:"transaction"`
	NetworkPassphrase string `json:"network_passphrase"`
}

// HTTPError is a non-200 answer from the server.
type HTTPError struct {
	Status int
	Msg    string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Msg) }

// Challenge requests a challenge for account (and memo, client domain when set).
func (c *Client) Challenge(ctx context.Context, account string, memo *uint64, clientDomain string) (*ChallengeResponse, error) {
	q := url.Values{"account": {account}}
	if memo != nil {
		q.Set("memo", strconv.FormatUint(*memo, 10))
	}
	if c.HomeDomain != "" {
		q.Set("home_domain", c.HomeDomain)
	}
	if clientDomain != "" {
		q.Set("client_domain", clientDomain)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var out ChallengeResponse
	if err := c.do(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Read checks a challenge the way a wallet must before signing it (server, network, domains,
// time bounds within ClockSkew); Check also checks that it is for the account asked for.
func (c *Client) Read(txB64 string) (*Challenge, error) {
	wad := c.WebAuthDomain
	if wad == "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil {
			return nil, err
		}
		wad = u.Host
	}
	skew := c.ClockSkew
	switch {
	case skew == 0:
		skew = DefaultClockSkew
	case skew < 0:
		skew = 0
	}
	var now time.Time
	if c.Now != nil {
		now = c.Now()
	}
	return ReadChallenge(txB64, VerifyParams{
		ServerKeys: []string{c.ServerKey}, Network: c.Network,
		HomeDomains: []string{c.HomeDomain}, WebAuthDomain: wad, Now: now, ClockSkew: skew,
	})
}

// Check reads a challenge (Read) and refuses it unless it names the account (G... or M...) and
// memo the wallet asked for: signing a challenge for another account would hand its token over.
func (c *Client) Check(txB64, account string, memo *uint64) (*Challenge, error) {
	ch, err := c.Read(txB64)
	if err != nil {
		return nil, err
	}
	if ch.ClientAccount != account {
		return nil, fmt.Errorf("the challenge is for account %s, not %s", ch.ClientAccount, account)
	}
	switch {
	case (memo == nil) != (ch.Memo == nil):
		return nil, errors.New("the challenge's memo is not the one asked for")
	case memo != nil && *memo != *ch.Memo:
		return nil, fmt.Errorf("the challenge is for memo %d, not %d", *ch.Memo, *memo)
	}
	return ch, nil
}

// Token exchanges a signed challenge for a JWT.
func (c *Client) Token(ctx context.Context, signedTx string) (string, error) {
	body, _ := json.Marshal(map[string]string{"transaction": signedTx})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(req, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// Authenticate runs the whole flow: challenge, check, sign with signers, token.
func (c *Client) Authenticate(ctx context.Context, account string, memo *uint64, signers ...*keypair.Full) (string, error) {
	ch, err := c.Challenge(ctx, account, memo, "")
	if err != nil {
		return "", err
	}
	if _, err := c.Check(ch.Transaction, account, memo); err != nil {
		return "", fmt.Errorf("challenge rejected: %w", err)
	}
	signed, err := SignChallenge(ch.Transaction, c.Network, signers...)
	if err != nil {
		return "", err
	}
	return c.Token(ctx, signed)
}

func (c *Client) do(req *http.Request, out any) error {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return &HTTPError{Status: resp.StatusCode, Msg: e.Error}
	}
	return json.Unmarshal(b, out)
}
