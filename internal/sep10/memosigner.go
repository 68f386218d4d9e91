package sep10

import (
	"crypto/subtle"
	"encoding/binary"
	"sync"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"

	"github.com/anchorkit/anchor/internal/edsig"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// MemoSigner signs with a key and remembers its signatures of recent 32-byte hashes in a fixed
// direct-mapped table. Ed25519 signatures are deterministic (RFC 8032 §5.1.6), so a remembered
// signature is exactly what signing again would give: when POST /auth checks the server's
// signature on a challenge that GET /auth signed, it finds it here instead of signing again.
// A slot reused by another hash just means signing again. Memory is fixed: 96 bytes a slot.
type MemoSigner struct {
	kp   *keypair.Full
	key  *edsig.Key // kp's key, signing faster than keypair's (package edsig)
	mask uint64

	mu    sync.Mutex
	valid []bool
	keys  [][32]byte
	sigs  [][64]byte
}

var _ sep10.ChallengeSigner = (*MemoSigner)(nil)

// NewMemoSigner returns a MemoSigner with slots (a power of two) entries.
func NewMemoSigner(kp *keypair.Full, slots int) *MemoSigner {
	if slots <= 0 || slots&(slots-1) != 0 {
		panic("sep10: MemoSigner slots must be a power of two")
	}
	return &MemoSigner{kp: kp, key: edsig.NewKey([32]byte(strkey.MustDecode(strkey.VersionByteSeed, kp.Seed()))), mask: uint64(slots - 1), valid: make([]bool, slots),
		keys: make([][32]byte, slots), sigs: make([][64]byte, slots)}
}

// Address is the signing key's public address.
func (m *MemoSigner) Address() string { return m.kp.Address() }

// Hint is the signing key's signature hint.
func (m *MemoSigner) Hint() [4]byte { return m.kp.Hint() }

// Sign returns the key's signature of message, from the table when message is a hash it signed.
func (m *MemoSigner) Sign(message []byte) ([]byte, error) {
	if len(message) != 32 {
		return m.key.Sign(message), nil
	}
	i := binary.LittleEndian.Uint64(message[:8]) & m.mask
	m.mu.Lock()
	if m.valid[i] && subtle.ConstantTimeCompare(m.keys[i][:], message) == 1 {
		sig := m.sigs[i]
		m.mu.Unlock()
		return sig[:], nil
	}
	m.mu.Unlock()
	sig := m.key.Sign(message)
	m.mu.Lock()
	m.valid[i] = true
	copy(m.keys[i][:], message)
	copy(m.sigs[i][:], sig)
	m.mu.Unlock()
	return sig, nil
}
