package loadtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/anchorkit/anchor/internal/httpx"
)

// SDKAuthOptions configure NewSDKAuth.
type SDKAuthOptions struct {
	// Domain is the home domain and web auth domain of the challenges (the host:port the
	// server is reached at, as the load generator takes it from the stellar.toml).
	Domain string
	// HorizonURL is where token requests look the client account up; empty: no Horizon, every
	// account is treated as new (verified against its master key), as anchor serve does with
	// horizon_url none.
	HorizonURL string
	// Log receives the log lines (text, one per step, written as they come).
	Log io.Writer
}

// SDKAuth is the baseline of the SEP-10 benchmarks: a server that does the work the Go SDK's
// former stand-alone SEP-10 service (webauth, in github.com/stellar/go exp/services, since
// removed) did per request, written here with the same SDK calls, so that anchor's figures
// compare with it on the same machine in the same minute rather than with numbers from another
// day. Per challenge: txnbuild.BuildChallengeTx (a new server key signature), the hash for the
// log, base64. Per token: txnbuild.ReadChallengeTx, the account read with horizonclient
// (http.Client with Go's default transport, as webauth had), VerifyChallengeTxThreshold or, for a
// new account, VerifyChallengeTxSigners, and an ES256 JWT (webauth's generated key type). It logs
// a line per step and a line at each request's start and end, as webauth's logging middleware
// did, and keeps no record of used challenges: a replay gets a second token, which is the
// difference anchor's replay marks pay for. It is a benchmark stand-in, not a server to deploy.
type SDKAuth struct {
	o        SDKAuthOptions
	kp       *keypair.Full
	jwtKey   *ecdsa.PrivateKey
	horizon  *horizonclient.Client
	log      *slog.Logger
	toml     []byte
	expires  time.Duration
	issuer   string
	network  string
	endpoint string
}

// NewSDKAuth makes the baseline server with a fresh signing key and JWT key (held in memory only).
func NewSDKAuth(o SDKAuthOptions) (*SDKAuth, error) {
	if o.Domain == "" {
		return nil, errors.New("sdk-auth: no domain")
	}
	kp, err := keypair.Random()
	if err != nil {
		return nil, err
	}
	jk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	s := &SDKAuth{
		o: o, kp: kp, jwtKey: jk, log: slog.New(slog.NewTextHandler(logw, nil)),
		expires: 5 * time.Minute, issuer: "https://" + o.Domain + "/auth", network: network.TestNetworkPassphrase,
		endpoint: "http://" + o.Domain + "/auth",
	}
	if o.HorizonURL != "" {
		s.horizon = &horizonclient.Client{HorizonURL: strings.TrimSuffix(o.HorizonURL, "/") + "/", HTTP: &http.Client{Timeout: time.Minute}}
		// Set before the client is shared: left unset, horizonclient sets its default on each
		// request, a data race between concurrent requests (webauth set it at start too).
		s.horizon.SetHorizonTimeout(time.Minute)
	}
	s.toml = fmt.Appendf(nil, "NETWORK_PASSPHRASE = %q\nSIGNING_KEY = %q\nWEB_AUTH_ENDPOINT = %q\n", s.network, kp.Address(), s.endpoint)
	return s, nil
}

// ServeHTTP routes stellar.toml, /health and /auth, logging each request's start and end.
func (s *SDKAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	s.log.Info("starting request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	sw := &httpx.StatusWriter{ResponseWriter: w}
	switch {
	case r.URL.Path == "/.well-known/stellar.toml" && r.Method == http.MethodGet:
		sw.Header().Set("Content-Type", "text/plain")
		sw.Write(s.toml)
	case r.URL.Path == "/health" && r.Method == http.MethodGet:
		sw.Write([]byte(`{"status":"pass"}`))
	case r.URL.Path == "/auth" && r.Method == http.MethodGet:
		s.challenge(sw, r)
	case r.URL.Path == "/auth" && r.Method == http.MethodPost:
		s.token(sw, r)
	default:
		sdkAuthError(sw, http.StatusNotFound, "not found")
	}
	s.log.Info("finished request", "method", r.Method, "path", r.URL.Path, "status", sw.Status, "duration", time.Since(t0))
}

func sdkAuthError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func sdkAuthJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *SDKAuth) challenge(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	account := q.Get("account")
	if !strkey.IsValidEd25519PublicKey(account) {
		sdkAuthError(w, http.StatusBadRequest, "account is not a G... address")
		return
	}
	if hd := strings.TrimSuffix(q.Get("home_domain"), "."); hd != "" && hd != s.o.Domain {
		sdkAuthError(w, http.StatusBadRequest, "home_domain is not served here")
		return
	}
	tx, err := txnbuild.BuildChallengeTx(s.kp.Seed(), account, s.o.Domain, s.o.Domain, s.network, s.expires, nil)
	if err != nil {
		s.log.Error("building the challenge", "err", err)
		sdkAuthError(w, http.StatusInternalServerError, "internal error")
		return
	}
	hash, err := tx.HashHex(s.network)
	if err != nil {
		sdkAuthError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.log.Info("Generated challenge transaction for account.", "tx", hash, "account", account, "serversigner", s.kp.Address(), "homedomain", s.o.Domain)
	b64, err := tx.Base64()
	if err != nil {
		sdkAuthError(w, http.StatusInternalServerError, "internal error")
		return
	}
	sdkAuthJSON(w, map[string]string{"transaction": b64, "network_passphrase": s.network})
}

func (s *SDKAuth) token(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Transaction string `json:"transaction"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			sdkAuthError(w, http.StatusBadRequest, "the body is not JSON")
			return
		}
	} else {
		req.Transaction = r.PostFormValue("transaction")
	}
	homeDomains := []string{s.o.Domain}
	server := s.kp.Address()
	tx, account, _, memo, err := txnbuild.ReadChallengeTx(req.Transaction, server, s.network, s.o.Domain, homeDomains)
	if err != nil {
		sdkAuthError(w, http.StatusBadRequest, "the challenge is not valid")
		return
	}
	hash, err := tx.HashHex(s.network)
	if err != nil {
		sdkAuthError(w, http.StatusInternalServerError, "internal error")
		return
	}
	l := s.log.With("tx", hash, "account", account, "serversigner", server, "homedomain", s.o.Domain)
	l.Info("Start verifying challenge transaction.")
	muxed, err := xdr.AddressToMuxedAccount(account)
	if err != nil {
		sdkAuthError(w, http.StatusBadRequest, "the account is not valid")
		return
	}
	base := account
	if muxed.Type == xdr.CryptoKeyTypeKeyTypeMuxedEd25519 {
		base = muxed.ToAccountId().Address()
	}
	var found []string
	high, signers, exists, err := s.lookUp(base)
	switch {
	case err != nil:
		l.Error("looking the account up", "err", err)
		sdkAuthError(w, http.StatusServiceUnavailable, "Horizon is unavailable")
		return
	case exists:
		l.Info("Account exists.")
		found, err = txnbuild.VerifyChallengeTxThreshold(req.Transaction, server, s.network, s.o.Domain, homeDomains, high, signers)
	default:
		l.Info("Account does not exist.")
		found, err = txnbuild.VerifyChallengeTxSigners(req.Transaction, server, s.network, s.o.Domain, homeDomains, base)
	}
	if err != nil {
		l.Info("Failed to verify the challenge's signatures.", "err", err)
		sdkAuthError(w, http.StatusUnauthorized, "the signatures do not meet the account's threshold")
		return
	}
	l.Info("Successfully verified challenge transaction.", "signers", strings.Join(found, ","))
	sub := account
	if muxed.Type == xdr.CryptoKeyTypeKeyTypeEd25519 && memo != nil {
		sub += ":" + strconv.FormatUint(uint64(*memo), 10)
	}
	tb := tx.Timebounds()
	issued := time.Unix(tb.MinTime, 0)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: s.issuer, Subject: sub, IssuedAt: jwt.NewNumericDate(issued), ExpiresAt: jwt.NewNumericDate(issued.Add(s.expires)),
	}).SignedString(s.jwtKey)
	if err != nil {
		sdkAuthError(w, http.StatusInternalServerError, "internal error")
		return
	}
	sdkAuthJSON(w, map[string]string{"token": tok})
}

// lookUp reads the account's high threshold and signers from Horizon; without a Horizon every
// account is new.
func (s *SDKAuth) lookUp(id string) (high txnbuild.Threshold, signers txnbuild.SignerSummary, exists bool, err error) {
	if s.horizon == nil {
		return 0, nil, false, nil
	}
	a, err := s.horizon.AccountDetail(horizonclient.AccountRequest{AccountID: id})
	switch {
	case err == nil:
		return txnbuild.Threshold(a.Thresholds.HighThreshold), a.SignerSummary(), true, nil
	case horizonclient.IsNotFoundError(err):
		return 0, nil, false, nil
	default:
		return 0, nil, false, err
	}
}

// JWTPublicKey is the key the baseline's tokens verify with (for tests).
func (s *SDKAuth) JWTPublicKey() *ecdsa.PublicKey { return &s.jwtKey.PublicKey }
