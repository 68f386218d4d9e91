package sep10

import (
	"crypto/subtle"
	"hash/maphash"
	"sync"
)

// checkedTokens remembers the Auth of tokens that passed every check, in a fixed direct-mapped
// table (a slot reused by another token just means checking that one again). Whether a token
// is valid depends only on its exact bytes and the time: the signature, algorithm, issuer and
// subject are in them, and the table belongs to one Tokens (one key and issuer). So a token
// found here needs only its expiry checked. Decoding and verifying one took about 20 µs of a
// SEP-12 PUT's CPU. Memory is bounded by the slots and the tokens' size.
type checkedTokens struct {
	seed  maphash.Seed
	mask  uint64
	mu    sync.Mutex
	slots []checkedToken
}

type checkedToken struct {
	token string
	auth  Auth
}

func newCheckedTokens(slots int) *checkedTokens {
	if slots <= 0 || slots&(slots-1) != 0 {
		panic("sep10: checkedTokens slots must be a power of two")
	}
	return &checkedTokens{seed: maphash.MakeSeed(), mask: uint64(slots - 1), slots: make([]checkedToken, slots)}
}

func (c *checkedTokens) slot(token string) *checkedToken {
	return &c.slots[maphash.String(c.seed, token)&c.mask]
}

// get returns a copy of the Auth remembered for token. The comparison takes the same time
// wherever the two differ, so that a caller cannot learn another client's token, byte by byte,
// from how long a refusal takes.
func (c *checkedTokens) get(token string) (Auth, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slot(token)
	if s.token == "" || !sameString(s.token, token) {
		return Auth{}, false
	}
	return s.auth, true
}

// sameString is subtle.ConstantTimeCompare for strings, without copying them to byte slices.
func sameString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

func (c *checkedTokens) put(token string, a Auth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.slot(token) = checkedToken{token: token, auth: a}
}
