package sep10

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/anchorkit/anchor/internal/httpx"
)

// Claims are the claims of an anchor session JWT (SEP-10 Token).
type Claims struct {
	jwt.RegisteredClaims
	ClientDomain string `json:"client_domain,omitempty"`
	HomeDomain   string `json:"home_domain,omitempty"`
}

// Auth is the authenticated client of a request, derived from its JWT.
type Auth struct {
	// Subject is the JWT sub: G..., G...:memo or M....
	Subject string
	// Account is the G... or M... account, Memo the id memo for shared G... accounts ("" if none).
	Account      string
	Memo         string
	ClientDomain string
	HomeDomain   string
	ExpiresAt    time.Time
}

// Tokens issues and checks session JWTs (HS256).
type Tokens struct {
	key      []byte
	issuer   string
	lifetime time.Duration
	parser   *jwt.Parser
	now      func() time.Time
	checked  *checkedTokens
}

// jwtLeeway is the clock skew allowed on a token's expiry and issue time.
const jwtLeeway = 5 * time.Second

// NewTokens returns a Tokens signing with key, for the issuer URL (WEB_AUTH_ENDPOINT).
func NewTokens(key []byte, issuer string, lifetime time.Duration) *Tokens {
	t := &Tokens{key: key, issuer: issuer, lifetime: lifetime, now: time.Now, checked: newCheckedTokens(1 << 12)}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t
}

// jwtHeader is the encoded header of every token: {"alg":"HS256","typ":"JWT"}.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// Issue signs a token for sub, with jti the challenge hash. The header never changes, so it is
// encoded once; the claims are encoded and signed (HS256) by golang-jwt as usual.
func (t *Tokens) Issue(sub, jti, clientDomain, homeDomain string) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.lifetime)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.issuer, Subject: sub, ID: jti,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
		ClientDomain: clientDomain, HomeDomain: homeDomain,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, err
	}
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := jwt.SigningMethodHS256.Sign(signing, t.key)
	if err != nil {
		return "", time.Time{}, err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), exp, nil
}

// Parse checks a token's signature, algorithm, issuer and expiry and returns its Auth. A token
// that passed is remembered (checkedTokens), so that a wallet's next requests with it cost a
// look-up and the expiry check instead of decoding and verifying it again.
func (t *Tokens) Parse(token string) (*Auth, error) {
	if a, ok := t.checked.get(token); ok {
		if t.now().Before(a.ExpiresAt.Add(jwtLeeway)) {
			return &a, nil
		}
		// expired: the full check below says so
	}
	var c Claims
	if _, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil }); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, errors.New("token has expired")
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			return nil, errors.New("token was not issued by this server")
		default:
			return nil, errors.New("token is invalid")
		}
	}
	a := &Auth{Subject: c.Subject, ClientDomain: c.ClientDomain, HomeDomain: c.HomeDomain, ExpiresAt: c.ExpiresAt.Time}
	acct, memo, _ := strings.Cut(c.Subject, ":")
	a.Account, a.Memo = acct, memo
	if acct == "" || (memo != "" && !isUint(memo)) {
		return nil, errors.New("token subject is invalid")
	}
	t.checked.put(token, *a)
	return a, nil
}

func isUint(s string) bool { _, err := strconv.ParseUint(s, 10, 64); return err == nil }

type authKey struct{}

// FromContext returns the request's Auth, set by Middleware.
func FromContext(ctx context.Context) (*Auth, bool) {
	a, ok := ctx.Value(authKey{}).(*Auth)
	return a, ok
}

// WithAuth returns ctx carrying a (for tests of handlers behind Middleware).
func WithAuth(ctx context.Context, a *Auth) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

// Reject writes the answer to a request without a valid token. Protocols differ: SEP-12 says
// 401, SEP-6 says 403 with {"type": "authentication_required"}.
type Reject func(w http.ResponseWriter, r *http.Request, msg string)

// Reject401 answers 401 {"error": msg}.
func Reject401(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="anchor"`)
	httpx.Error(w, http.StatusUnauthorized, msg)
}

// Middleware requires a valid bearer JWT. It decides from the header alone, so a request
// without a valid token is refused before its body is read.
func (t *Tokens) Middleware(reject Reject) func(http.Handler) http.Handler {
	if reject == nil {
		reject = Reject401
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			scheme, token, ok := strings.Cut(h, " ")
			if h == "" {
				reject(w, r, "missing Authorization header; authenticate with SEP-10 first")
				return
			}
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				reject(w, r, "Authorization header must be \"Bearer <token>\"")
				return
			}
			a, err := t.Parse(strings.TrimSpace(token))
			if err != nil {
				reject(w, r, fmt.Sprintf("%s; authenticate with SEP-10 again", err))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, a)))
		})
	}
}
