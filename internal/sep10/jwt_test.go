package sep10

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// failingBody fails the test if the handler chain reads it.
type failingBody struct{ t *testing.T }

func (b failingBody) Read([]byte) (int, error) {
	b.t.Error("body was read before authentication")
	return 0, io.EOF
}

func TestMiddleware(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tokens := NewTokens(key, "http://localhost:8000/auth", time.Hour)
	good, _, _ := tokens.Issue("GABC:42", "jti", "wallet.example", "localhost:8000")
	expired := NewTokens(key, "http://localhost:8000/auth", -time.Hour)
	old, _, _ := expired.Issue("GABC", "jti", "", "")
	otherIssuer, _, _ := NewTokens(key, "https://evil.example/auth", time.Hour).Issue("GABC", "jti", "", "")
	otherKey, _, _ := NewTokens([]byte("ffffffffffffffffffffffffffffffff"), "http://localhost:8000/auth", time.Hour).Issue("GABC", "jti", "", "")
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "GABC", "iss": "http://localhost:8000/auth", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)

	var seen *Auth
	h := tokens.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
		w.WriteHeader(204)
	}))
	cases := []struct {
		name, header string
		status       int
		errHas       string
	}{
		{"missing", "", 401, "missing Authorization"},
		{"not bearer", "Basic abc", 401, "Bearer"},
		{"empty bearer", "Bearer ", 401, "Bearer"},
		{"garbage", "Bearer abc.def.ghi", 401, "invalid"},
		{"expired", "Bearer " + old, 401, "expired"},
		{"other issuer", "Bearer " + otherIssuer, 401, "not issued by this server"},
		{"other key", "Bearer " + otherKey, 401, "invalid"},
		{"alg none", "Bearer " + none, 401, "invalid"},
		{"valid", "Bearer " + good, 204, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen = nil
			req := httptest.NewRequest("PUT", "/customer", failingBody{t})
			if c.status != 204 {
				req.Body = io.NopCloser(failingBody{t})
			} else {
				req.Body = io.NopCloser(strings.NewReader(""))
			}
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.errHas) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if c.status == 204 {
				if seen == nil || seen.Account != "GABC" || seen.Memo != "42" || seen.ClientDomain != "wallet.example" {
					t.Fatalf("auth %+v", seen)
				}
			} else if seen != nil {
				t.Fatal("handler ran without a valid token")
			}
		})
	}
}
