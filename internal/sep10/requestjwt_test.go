package sep10

import (
	"crypto/ed25519"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"
)

func edKey(t *testing.T, kp *keypair.Full) ed25519.PrivateKey {
	seed, err := strkey.Decode(strkey.VersionByteSeed, kp.Seed())
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// TestRequestJWT: GET /auth with the optional Authorization header (SEP-10 3.4.0): a valid
// token is accepted, an invalid one is a 400 saying why; no header is still fine.
func TestRequestJWT(t *testing.T) {
	d := testDeps(t)
	d.WebAuthEndpoint = "http://localhost:8000/auth"
	h := NewChallengeHandler(d)
	client, other := keypair.MustRandom(), keypair.MustRandom()
	q := url.Values{"account": {client.Address()}, "memo": {"42"}}
	token := func(kp *keypair.Full, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(edKey(t, kp))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	good := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "web_auth_endpoint": d.WebAuthEndpoint, "account": client.Address(), "memo": "42"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	for _, tc := range []struct {
		name, header, want string
		code               int
	}{
		{"no header", "", "", 200},
		{"valid", "Bearer " + token(client, good), "", 200},
		{"expired", "Bearer " + token(client, with("exp", now.Add(-time.Hour).Unix())), "expired", 400},
		{"signed by another key", "Bearer " + token(other, good), "not signed by", 400},
		{"another endpoint", "Bearer " + token(client, with("web_auth_endpoint", "https://evil.example/auth")), "web_auth_endpoint", 400},
		{"another memo", "Bearer " + token(client, with("memo", "43")), "memo claim", 400},
		{"not bearer", "Basic abc", "Bearer", 400},
		{"garbage", "Bearer abc.def.ghi", "not valid", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/auth?"+q.Encode(), nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d %q", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
}
