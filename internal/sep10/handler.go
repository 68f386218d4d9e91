// Package sep10 serves SEP-10 web authentication: GET /auth issues challenges and POST /auth
// exchanges signed challenges for session JWTs. The protocol rules live in pkg/sep10.
package sep10

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// MaxBodyBytes bounds a POST /auth body; a signed challenge with 20 signatures is under 4 KB.
const MaxBodyBytes = 64 << 10

// Deps are what the SEP-10 handlers need.
type Deps struct {
	Server *keypair.Full
	// Signer signs challenges with Server's key; Server itself when nil. Give both handlers the
	// same MemoSigner so POST /auth finds the signatures GET /auth made.
	Signer        sep10.ChallengeSigner
	PreviousKeys  []string
	Network       string
	HomeDomain    string
	WebAuthDomain string
	// WebAuthEndpoint is this endpoint's URL, which a request JWT's web_auth_endpoint names.
	WebAuthEndpoint   string
	ChallengeLifetime time.Duration
	Tokens            *Tokens
	Challenges        ChallengeStore
	// Horizon is nil when none is configured: every account is then treated as new.
	Horizon horizon.Client
	// TolerateUnreachableHorizon treats accounts as new when Horizon cannot be reached at all
	// (development mode only; production answers 503).
	TolerateUnreachableHorizon bool
	Domains                    *DomainResolver
	Now                        func() time.Time
	// Observe, when set, is told each challenge and token request's outcome: step is
	// "challenge" or "token", reason "ok" or one of a fixed set (never request data).
	Observe func(step, reason string)
}

func (d *Deps) observe(step, reason string) {
	if d.Observe != nil {
		d.Observe(step, reason)
	}
}

func (d *Deps) signer() sep10.ChallengeSigner {
	if d.Signer != nil {
		return d.Signer
	}
	return d.Server
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// ChallengeHandler serves GET /auth.
type ChallengeHandler struct {
	d *Deps
	// tail closes the response after the transaction: the JSON-escaped network passphrase.
	tail []byte
}

// TokenHandler serves POST /auth.
type TokenHandler struct {
	d        *Deps
	keys     []string
	warnOnce sync.Once
}

// NewChallengeHandler returns the GET /auth handler.
func NewChallengeHandler(d *Deps) *ChallengeHandler {
	pass, _ := json.Marshal(d.Network)
	return &ChallengeHandler{d: d, tail: append(append([]byte(`","network_passphrase":`), pass...), '}')}
}

// NewTokenHandler returns the POST /auth handler.
func NewTokenHandler(d *Deps) *TokenHandler {
	return &TokenHandler{d: d, keys: append([]string{d.Server.Address()}, d.PreviousKeys...)}
}

func (h *ChallengeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	account := q.Get("account")
	var memo *uint64
	if m := q.Get("memo"); m != "" {
		id, err := strconv.ParseUint(m, 10, 64)
		if err != nil {
			h.d.observe("challenge", "bad_memo")
			httpx.Error(w, http.StatusBadRequest, "memo must be an id memo: a decimal integer up to 18446744073709551615")
			return
		}
		memo = &id
	}
	if hd := q.Get("home_domain"); hd != "" && hd != h.d.HomeDomain {
		h.d.observe("challenge", "wrong_home_domain")
		httpx.Error(w, http.StatusBadRequest, "home_domain "+strconv.Quote(hd)+" is not served here; this server's home domain is "+strconv.Quote(h.d.HomeDomain))
		return
	}
	if _, err := sep10.ParseClientAccount(account, memo); err != nil {
		h.d.observe("challenge", "bad_account")
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		// SEP-10 3.4.0: an Authorization header is validated, and an invalid one is a 400.
		if msg := h.checkRequestJWT(r.Context(), auth, q); msg != "" {
			h.d.observe("challenge", "bad_request_jwt")
			httpx.Error(w, http.StatusBadRequest, msg)
			return
		}
	}
	p := sep10.ChallengeParams{
		Server: h.d.signer(), ClientAccount: account, Memo: memo,
		HomeDomain: h.d.HomeDomain, WebAuthDomain: h.d.WebAuthDomain,
		Network: h.d.Network, Now: h.d.now(), Lifetime: h.d.ChallengeLifetime,
	}
	if cd := q.Get("client_domain"); cd != "" {
		key, err := h.d.Domains.SigningKey(r.Context(), cd)
		if err != nil {
			// SEP-10: a server unable to fetch the client domain's SIGNING_KEY answers 400.
			httpx.Logger(r.Context()).Info("client_domain lookup failed", "client_domain", cd, "err", err)
			h.d.observe("challenge", "client_domain")
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		p.ClientDomain, p.ClientDomainAccount = cd, key
	}
	tx, err := sep10.BuildChallenge(p)
	if err != nil {
		if sep10.IsInputError(err) {
			h.d.observe("challenge", "bad_request")
			httpx.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		h.d.observe("challenge", "internal")
		httpx.Internal(w, r, err)
		return
	}
	h.d.observe("challenge", "ok")
	// The transaction is base64, which needs no JSON escaping: frame the response directly.
	body := make([]byte, 0, len(`{"transaction":"`)+len(tx)+len(h.tail))
	body = append(append(append(body, `{"transaction":"`...), tx...), h.tail...)
	httpx.WriteRawJSON(w, http.StatusOK, body)
}

// ChallengeStore is what SEP-10 needs of the store: the used-challenge marks (both backends
// implement it; store.ChallengeStore is their contract, storetest its suite).
type ChallengeStore interface {
	// UseChallenge records the challenge hash and reports whether this was its first use, or
	// fault.ErrSharedMismatch when the account's mode (shared or not) differs from before.
	UseChallenge(ctx context.Context, hash [32]byte, expires time.Time, account string, shared bool) (first bool, err error)
	// IssuedNotBefore is when challenges must have been issued, at the earliest, to be
	// exchanged (zero: any time).
	IssuedNotBefore() time.Time
}

// EarlyMarker is a ChallengeStore whose marks take a round trip to the database (PostgreSQL):
// SEP-10 can then send a challenge's mark while it checks the challenge's signatures, and take
// it back when they fail, so that a round waits for the slower of the two instead of both.
type EarlyMarker interface {
	// MarkEarly starts marking the challenge and returns what UseChallenge would, to be waited
	// for. ok is false, and nothing is sent, unless the account's mode (shared or not) is
	// already recorded and is shared's: a mode is recorded only once a challenge's signatures
	// are verified, so that nobody records another's.
	MarkEarly(hash [32]byte, expires time.Time, account string, shared bool) (wait func() (first bool, err error), ok bool)
	// Unmark forgets a mark that MarkEarly made for a challenge whose signatures then failed,
	// so that the wallet can send it again, signed as it should be.
	Unmark(ctx context.Context, hash [32]byte) error
}

func (h *TokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	txB64, err := readTransaction(w, r)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		h.d.observe("token", "bad_request")
		httpx.Error(w, status, err.Error())
		return
	}
	d := h.d
	ch, err := sep10.ReadChallenge(txB64, sep10.VerifyParams{
		ServerKeys: h.keys, Network: d.Network, HomeDomains: []string{d.HomeDomain},
		WebAuthDomain: d.WebAuthDomain, Now: d.now(), MaxLifetime: d.ChallengeLifetime + time.Minute,
		Signer: d.signer(),
	})
	if err != nil {
		d.observe("token", "invalid_challenge")
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	// After an unclean stop the marks of the last moments may be lost: a challenge issued
	// before this start could have been exchanged already, so none is.
	if nb := d.Challenges.IssuedNotBefore(); !nb.IsZero() && ch.MinTime.Before(nb) {
		d.observe("token", "issued_before_restart")
		httpx.Error(w, http.StatusBadRequest, "challenge was issued before the server restarted; request a new one")
		return
	}
	// SEP-12 Shared Accounts: "an account previously authenticated with a memo should not be
	// authenticated later without a memo", nor the reverse.
	shared := ch.Memo != nil || strings.HasPrefix(ch.ClientAccount, "M")
	// A store whose mark is a round trip marks a known account's challenge while the account
	// is read from Horizon and the signatures are checked, and takes the mark back if they
	// fail. Without a Horizon there is no wait to share: the goroutine and wake-ups of an early
	// mark then cost more than the signature check they would overlap (PostgreSQL rounds at 1
	// client, six pairs: median 771 early against 853 rounds/s after; docs/benchmarks.md).
	var early func() (bool, error)
	if em, ok := d.Challenges.(EarlyMarker); ok && d.Horizon != nil {
		early, _ = em.MarkEarly(ch.Hash, ch.MaxTime, ch.AccountID, shared)
	}
	acct, err := h.account(r, ch.AccountID)
	if err != nil {
		h.unmark(r, early, ch.Hash)
		httpx.Logger(r.Context()).Warn("horizon account lookup failed", "account", ch.AccountID, "err", err)
		d.observe("token", "horizon_unavailable")
		httpx.Error(w, http.StatusServiceUnavailable, "cannot read the account's signers from Horizon; try again later")
		return
	}
	if _, err := ch.VerifySignatures(acct); err != nil {
		h.unmark(r, early, ch.Hash)
		d.observe("token", "signatures")
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	var first bool
	if early != nil {
		first, err = early()
	} else {
		first, err = d.Challenges.UseChallenge(r.Context(), ch.Hash, ch.MaxTime, ch.AccountID, shared)
	}
	if errors.Is(err, fault.ErrSharedMismatch) {
		d.observe("token", "shared_account_mismatch")
		if shared {
			httpx.Error(w, http.StatusBadRequest, "this account authenticated without a memo before, so it is not a shared account; authenticate without a memo or muxed id")
		} else {
			httpx.Error(w, http.StatusBadRequest, "this account authenticated with a memo (or muxed id) before, so it is a shared account; authenticate with the memo of the user")
		}
		return
	}
	if err != nil {
		d.observe("token", "internal")
		httpx.Internal(w, r, err)
		return
	}
	if !first {
		d.observe("token", "replayed")
		httpx.Error(w, http.StatusBadRequest, "challenge has already been used; request a new one")
		return
	}
	// Again now that the store was reached: a database that restarted since the first check
	// (PostgreSQL, which may have lost its last marks) has told the store so.
	if nb := d.Challenges.IssuedNotBefore(); !nb.IsZero() && ch.MinTime.Before(nb) {
		d.observe("token", "issued_before_restart")
		httpx.Error(w, http.StatusBadRequest, "challenge was issued before the server restarted; request a new one")
		return
	}
	token, _, err := d.Tokens.Issue(ch.Subject(), hex.EncodeToString(ch.Hash[:]), ch.ClientDomain, ch.HomeDomain)
	if err != nil {
		d.observe("token", "internal")
		httpx.Internal(w, r, err)
		return
	}
	d.observe("token", "ok")
	// A JWT is base64url and dots, which need no JSON escaping.
	httpx.WriteRawJSON(w, http.StatusOK, []byte(`{"token":"`+token+`"}`))
}

// unmark takes back an early mark of a challenge that was not exchanged (its signatures failed
// or could not be read), so that the wallet can send it again. The mark is waited for first: a
// replay, which found the challenge used, has nothing to take back.
func (h *TokenHandler) unmark(r *http.Request, early func() (bool, error), hash [32]byte) {
	if early == nil {
		return
	}
	if first, err := early(); err != nil || !first {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := h.d.Challenges.(EarlyMarker).Unmark(ctx, hash); err != nil {
		// The challenge stays used: the wallet requests a new one.
		httpx.Logger(r.Context()).Warn("taking back the mark of a refused challenge failed", "err", err)
	}
}

// account returns the client account's signers, nil when it does not exist.
func (h *TokenHandler) account(r *http.Request, id string) (*sep10.Account, error) {
	if h.d.Horizon == nil {
		return nil, nil
	}
	a, err := h.d.Horizon.Signers(r.Context(), id)
	if errors.Is(err, horizon.ErrNotFound) {
		return nil, nil
	}
	var ue *horizon.UnreachableError
	if err != nil && h.d.TolerateUnreachableHorizon && errors.As(err, &ue) {
		h.warnOnce.Do(func() {
			httpx.Logger(r.Context()).Warn("development mode: Horizon is unreachable, treating accounts as new (production answers 503)", "err", err)
		})
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &sep10.Account{MediumThreshold: a.Thresholds.MedThreshold}
	for _, s := range a.Signers {
		if s.Type == "" || s.Type == "ed25519_public_key" {
			out.Signers = append(out.Signers, sep10.Signer{Key: s.Key, Weight: s.Weight})
		}
	}
	return out, nil
}

// readTransaction reads the transaction from a JSON or form body (SEP-10 Token request).
func readTransaction(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	var body []byte
	var err error
	if r.ContentLength > 0 && r.ContentLength <= MaxBodyBytes {
		// net/http stops the body at Content-Length, so one exact read does.
		body = make([]byte, r.ContentLength)
		if _, err = io.ReadFull(r.Body, body); err != nil {
			return "", errors.New("request body is shorter than its Content-Length")
		}
	} else if body, err = io.ReadAll(r.Body); err != nil {
		return "", err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := strings.TrimSpace(string(body))
	switch {
	case mt == "application/json" || (mt == "" && strings.HasPrefix(trimmed, "{")):
		var req struct {
			Transaction string `json:"transaction"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return "", errors.New("request body is not valid JSON")
		}
		if req.Transaction == "" {
			return "", errors.New("transaction is required")
		}
		return req.Transaction, nil
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" || mt == "":
		vals, err := parseForm(r, mt, body)
		if err != nil {
			return "", errors.New("request body is not a valid form")
		}
		if vals == "" {
			return "", errors.New("transaction is required")
		}
		return vals, nil
	default:
		return "", errors.New("Content-Type must be application/json or application/x-www-form-urlencoded")
	}
}

func parseForm(r *http.Request, mt string, body []byte) (string, error) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(string(body)))
	if mt == "" {
		r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if mt == "multipart/form-data" {
		if err := r2.ParseMultipartForm(MaxBodyBytes); err != nil {
			return "", err
		}
	} else if err := r2.ParseForm(); err != nil {
		return "", err
	}
	return r2.PostForm.Get("transaction"), nil
}
