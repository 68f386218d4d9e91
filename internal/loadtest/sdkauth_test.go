package loadtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// startSDKAuth serves the baseline on a loopback port, reading accounts from horizonURL ("" for
// none).
func startSDKAuth(t *testing.T, horizonURL string) (*SDKAuth, *sep10.Client) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	h, err := NewSDKAuth(SDKAuthOptions{Domain: ts.Listener.Addr().String(), HorizonURL: horizonURL})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return h, &sep10.Client{HTTP: ts.Client(), Endpoint: ts.URL + "/auth", ServerKey: h.kp.Address(),
		Network: h.network, HomeDomain: h.o.Domain, WebAuthDomain: h.o.Domain}
}

// TestSDKAuthVerifies: the baseline does the work it stands for — a challenge signed by a key
// that is not the account's signer is refused (401) with and without Horizon, the account's own
// signature gets an ES256 token naming it — and, as the SDK's former service, keeps no replay
// marks: the same signed challenge gets a second token.
func TestSDKAuthVerifies(t *testing.T) {
	hz := standin.New()
	defer hz.Close()
	for _, tc := range []struct{ name, horizon string }{{"no Horizon", ""}, {"Horizon", hz.URL()}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h, c := startSDKAuth(t, tc.horizon)
			kp, other := keypair.MustRandom(), keypair.MustRandom()
			hz.CreateAccount(kp.Address(), 1, [3]byte{0, 0, 1})
			ch, err := c.Challenge(ctx, kp.Address(), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Check(ch.Transaction, kp.Address(), nil); err != nil {
				t.Fatalf("the baseline's challenge does not pass a wallet's checks: %v", err)
			}
			wrong, err := sep10.SignChallenge(ch.Transaction, c.Network, other)
			if err != nil {
				t.Fatal(err)
			}
			var herr *sep10.HTTPError
			if _, err := c.Token(ctx, wrong); !errors.As(err, &herr) || herr.Status != http.StatusUnauthorized {
				t.Fatalf("signed by another key: %v, want 401", err)
			}
			signed, err := sep10.SignChallenge(ch.Transaction, c.Network, kp)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				tok, err := c.Token(ctx, signed)
				if err != nil {
					t.Fatal(err)
				}
				claims := &jwt.RegisteredClaims{}
				if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return h.JWTPublicKey(), nil },
					jwt.WithValidMethods([]string{"ES256"})); err != nil || claims.Subject != kp.Address() {
					t.Fatalf("token %v, subject %q", err, claims.Subject)
				}
			}
		})
	}
}

// TestSDKAuthUnderLoad: the load generator's rounds all succeed against the baseline, with the
// look-up (one Horizon request per round) and without.
func TestSDKAuthUnderLoad(t *testing.T) {
	hz := standin.New()
	defer hz.Close()
	for _, tc := range []struct{ name, horizon string }{{"no Horizon", ""}, {"Horizon", hz.URL()}} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := startSDKAuth(t, tc.horizon)
			before := hz.Requests()
			res, err := Run(context.Background(), Options{BaseURL: c.Endpoint[:len(c.Endpoint)-len("/auth")], Mode: "round", Clients: 2,
				Duration: 500 * time.Millisecond, NewAccount: func(id string) { hz.CreateAccount(id, 1, [3]byte{}) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Requests == 0 {
				t.Fatalf("%d rounds, %d errors (%s)", res.Requests, res.Errors, res.FirstError)
			}
			lookups := hz.Requests() - before
			if tc.horizon == "" && lookups != 0 || tc.horizon != "" && lookups < int64(res.Requests) {
				t.Fatalf("%d Horizon requests for %d rounds", lookups, res.Requests)
			}
		})
	}
}
