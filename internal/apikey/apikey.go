// Package apikey keeps the operator API's keys and the results of its idempotent calls. A key
// is shown once when created and stored only as a SHA-256 hash of its secret (the secret is
// 256 random bits: a slow hash would add nothing); it carries one role, may expire, and is
// revoked by name. Both backends implement Store; the rules live here, once.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/fault"
)

// Role is what a key may do.
type Role string

// Roles, as the admin socket's groups: reads need any role; compliance decides KYC,
// treasury moves money, operator moves transactions (and takes backups).
const (
	ReadOnly   Role = "read-only"
	Compliance Role = "compliance"
	Treasury   Role = "treasury"
	Operator   Role = "operator"
)

// Roles lists the roles, in the order help shows them.
var Roles = []Role{Compliance, Treasury, Operator, ReadOnly}

// Key is one API key. Its secret is never stored, only Hash.
type Key struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"hash"` // hex SHA-256 of the secret
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// State is "active", "expired" or "revoked" at now.
func (k *Key) State(now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Actor is how the audit trail names a call made with the key.
func (k *Key) Actor() string { return "apikey:" + k.Name }

// Idem is the record of one call made with an Idempotency-Key: while Done is false the call is
// running (until Until, after which a crashed call's key may be taken again); once done, the
// answer is kept to be given again to a retry of the same request.
type Idem struct {
	V int `json:"v"`
	// Scope is the key's id: idempotency keys of different API keys never meet.
	Scope string `json:"scope"`
	Key   string `json:"key"`
	// Request is a digest of the method, path and body: the same key with another request is
	// refused.
	Request     string    `json:"request"`
	CreatedAt   time.Time `json:"created_at"`
	Until       time.Time `json:"until"`
	Done        bool      `json:"done"`
	Status      int       `json:"status,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Body        []byte    `json:"body,omitempty"`
}

// Tx is one store transaction over keys and idempotency records.
type Tx interface {
	// Key returns the key of an id, or ErrNotFound.
	Key(id string) (*Key, error)
	Keys() ([]Key, error)
	PutKey(k *Key) error
	// Idem returns a call's record, or ErrNotFound.
	Idem(scope, key string) (*Idem, error)
	PutIdem(r *Idem) error
	// DeleteIdemBefore deletes the records created before t and says how many.
	DeleteIdemBefore(t time.Time) (int, error)
}

// Store runs transactions; updates are serializable and re-run on conflicts by the backend.
type Store interface {
	APIKeyUpdate(ctx context.Context, fn func(Tx) error) error
	APIKeyView(ctx context.Context, fn func(Tx) error) error
}

var (
	// ErrNotFound: no such key (or record).
	ErrNotFound = fault.NotFound("no such API key")
	// ErrUnauthorized: the presented key is malformed, unknown, revoked or expired.
	ErrUnauthorized = errors.New("invalid API key")
)

// InputError is a refused request (400 / exit 2; the shared fault type).
type InputError = fault.InputError

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Service is the key rules over a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// tokenPrefix starts every key: secret scanners (and people) can tell it for what it is.
const tokenPrefix = "anchor_"

// Created is a new key with its secret, shown once.
type Created struct {
	Key
	Secret string `json:"secret"`
}

// Create makes a key: a name no active key has, a role, and an optional lifetime.
func (s *Service) Create(ctx context.Context, name string, role Role, ttl time.Duration, by string) (*Created, error) {
	if !nameRE.MatchString(name) {
		return nil, inputErr("name %q: give 1 to 64 letters, digits, dots, dashes or underscores", name)
	}
	if !slices.Contains(Roles, role) {
		return nil, inputErr("role %q: give one of compliance, treasury, operator, read-only", role)
	}
	if ttl < 0 {
		return nil, inputErr("expiry %s: give a positive duration", ttl)
	}
	var idb [8]byte
	var secret [32]byte
	rand.Read(idb[:])
	rand.Read(secret[:])
	now := s.now().UTC()
	k := Key{V: 1, ID: hex.EncodeToString(idb[:]), Name: name, Role: role, CreatedAt: now, CreatedBy: by}
	if ttl > 0 {
		k.ExpiresAt = now.Add(ttl)
	}
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(sec))
	k.Hash = hex.EncodeToString(sum[:])
	err := s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		keys, err := tx.Keys()
		if err != nil {
			return err
		}
		for _, o := range keys {
			if o.Name == name && o.State(now) == "active" {
				return inputErr("an active key is named %q already (revoke it first, or choose another name)", name)
			}
		}
		return tx.PutKey(&k)
	})
	if err != nil {
		return nil, err
	}
	return &Created{Key: k, Secret: tokenPrefix + k.ID + "_" + sec}, nil
}

// Authenticate returns the active key a presented token is, or ErrUnauthorized (wrapped with
// why when the token is a real key that was revoked or has expired).
func (s *Service) Authenticate(ctx context.Context, token string) (*Key, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	id, sec, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || sec == "" {
		return nil, ErrUnauthorized
	}
	var k *Key
	err := s.Store.APIKeyView(ctx, func(tx Tx) error {
		var err error
		k, err = tx.Key(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(sec))
	want, _ := hex.DecodeString(k.Hash)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, ErrUnauthorized
	}
	if st := k.State(s.now()); st != "active" {
		return nil, fmt.Errorf("%w: the key %q was %s", ErrUnauthorized, k.Name, st)
	}
	return k, nil
}

// List returns every key, active ones first, each group by name.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	var out []Key
	err := s.Store.APIKeyView(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Keys()
		return err
	})
	now := s.now()
	slices.SortFunc(out, func(a, b Key) int {
		if sa, sb := a.State(now) == "active", b.State(now) == "active"; sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, err
}

// Revoke revokes the active key of a name (or the key of an id) at once: its next call is
// refused, on every replica. Revoking a revoked key is an error.
func (s *Service) Revoke(ctx context.Context, nameOrID, by string) (*Key, error) {
	var out *Key
	now := s.now().UTC()
	err := s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		keys, err := tx.Keys()
		if err != nil {
			return err
		}
		var match *Key
		for i := range keys {
			k := &keys[i]
			if k.ID == nameOrID || (k.Name == nameOrID && k.RevokedAt.IsZero() && (match == nil || k.CreatedAt.After(match.CreatedAt))) {
				match = k
			}
		}
		if match == nil {
			return ErrNotFound
		}
		if !match.RevokedAt.IsZero() {
			return inputErr("the key %q (%s) was revoked already, at %s", match.Name, match.ID, match.RevokedAt.Format(time.RFC3339))
		}
		match.RevokedAt, match.RevokedBy = now, by
		out = match
		return tx.PutKey(match)
	})
	return out, err
}
