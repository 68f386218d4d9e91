package sep10

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/strkey"

	"github.com/anchorkit/anchor/pkg/sep10"
)

// checkRequestJWT validates the optional Authorization header of GET <WEB_AUTH_ENDPOINT>
// (SEP-10 v3.4.0, "Verifying request header"): an EdDSA JWT signed by the client domain's
// SIGNING_KEY when client_domain is given, else by the client account's key, whose
// web_auth_endpoint claim is this endpoint and whose claims repeat every query parameter of the
// request. It returns the reason when the token is invalid ("" when it is valid).
func (h *ChallengeHandler) checkRequestJWT(ctx context.Context, header string, q url.Values) string {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return "the Authorization header must be Bearer <JWT>"
	}
	signer := sep10.BaseAccount(q.Get("account"))
	if cd := q.Get("client_domain"); cd != "" {
		key, err := h.d.Domains.SigningKey(ctx, cd)
		if err != nil {
			return err.Error()
		}
		signer = key
	}
	pub, err := strkey.Decode(strkey.VersionByteAccountID, signer)
	if err != nil {
		return "account is not a Stellar account, so the request token cannot be checked"
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second), jwt.WithTimeFunc(h.d.now)).
		ParseWithClaims(strings.TrimSpace(raw), claims, func(*jwt.Token) (any, error) { return ed25519.PublicKey(pub), nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the authorization JWT has expired"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the authorization JWT is not signed by " + signer
	case err != nil:
		return "the authorization JWT is not valid: " + err.Error()
	}
	if ep, _ := claims["web_auth_endpoint"].(string); ep != h.d.WebAuthEndpoint {
		return fmt.Sprintf("the authorization JWT's web_auth_endpoint %q is not %q", ep, h.d.WebAuthEndpoint)
	}
	for name := range q {
		if got, _ := claims[name].(string); got != q.Get(name) {
			return fmt.Sprintf("the authorization JWT's %s claim does not match the request's %s", name, name)
		}
	}
	return ""
}
