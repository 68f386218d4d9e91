// Package sep10 implements Stellar Web Authentication (SEP-10): building and verifying challenge
// transactions on the server side, and reading and signing them on the wallet side.
//
// Unlike txnbuild's helpers it supports the client_domain operation (SEP-10 "Verifying the
// Client Domain") and works on the XDR directly, which keeps a challenge to a few microseconds.
package sep10

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// Operation keys and sizes fixed by SEP-10.
const (
	WebAuthDomainKey = "web_auth_domain"
	ClientDomainKey  = "client_domain"
	// NonceRawBytes random bytes, base64-encoded to NonceEncodedBytes, are the first op's value.
	NonceRawBytes     = 48
	NonceEncodedBytes = 64
	baseFee           = 100
)

// AuthKey is the first operation's key for a home domain.
func AuthKey(homeDomain string) string { return homeDomain + " auth" }

// ChallengeSigner signs challenges for the server account. *keypair.Full is one; a server may wrap it,
// e.g. to remember signatures (Ed25519 signatures are deterministic).
type ChallengeSigner interface {
	Address() string
	Hint() [4]byte
	Sign(message []byte) ([]byte, error)
}

var _ ChallengeSigner = (*keypair.Full)(nil)

// ChallengeParams describe one challenge (SEP-10 "Challenge" response).
type ChallengeParams struct {
	Server        ChallengeSigner
	ClientAccount string  // G... or M...
	Memo          *uint64 // id memo; only with a G... account
	HomeDomain    string
	WebAuthDomain string
	// ClientDomain and ClientDomainAccount add the client_domain operation when set.
	ClientDomain        string
	ClientDomainAccount string
	Network             string
	Now                 time.Time
	Lifetime            time.Duration
}

// InputError is a problem with what the client sent; servers answer it with 400.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// BaseAccount returns the G... account of a G... or M... (muxed) address, and anything else as
// it is: what a wallet controls, whatever memo or muxed id it names.
func BaseAccount(a string) string {
	if strings.HasPrefix(a, "M") {
		if m, err := xdr.AddressToMuxedAccount(a); err == nil {
			return m.ToAccountId().Address()
		}
	}
	return a
}

// ParseClientAccount checks a client account (G... or M...) and memo as the challenge endpoint
// receives them, and returns the account as XDR.
func ParseClientAccount(account string, memo *uint64) (xdr.MuxedAccount, error) {
	if account == "" {
		return xdr.MuxedAccount{}, inputErr("account is required")
	}
	switch account[0] {
	case 'G':
		raw, err := strkey.Decode(strkey.VersionByteAccountID, account)
		if err != nil {
			return xdr.MuxedAccount{}, inputErr("account %q is not a valid Stellar account", account)
		}
		var key xdr.Uint256
		copy(key[:], raw)
		return xdr.MuxedAccount{Type: xdr.CryptoKeyTypeKeyTypeEd25519, Ed25519: &key}, nil
	case 'M':
		if memo != nil {
			return xdr.MuxedAccount{}, inputErr("memo is not allowed with a muxed account (M...)")
		}
		m, err := xdr.AddressToMuxedAccount(account)
		if err != nil {
			return xdr.MuxedAccount{}, inputErr("account %q is not a valid muxed account", account)
		}
		return m, nil
	default:
		return xdr.MuxedAccount{}, inputErr("account %q is not a Stellar account (G...) or muxed account (M...)", account)
	}
}

// BuildChallenge returns the base64 XDR envelope of a new challenge signed by p.Server.
func BuildChallenge(p ChallengeParams) (string, error) {
	client, err := ParseClientAccount(p.ClientAccount, p.Memo)
	if err != nil {
		return "", err
	}
	key := AuthKey(p.HomeDomain)
	if len(key) > 64 {
		return "", inputErr("home domain %q is too long", p.HomeDomain)
	}
	if len(p.WebAuthDomain) > 64 || len(p.ClientDomain) > 64 {
		return "", inputErr("domain is longer than 64 characters")
	}
	raw := make([]byte, NonceRawBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	nonce := make([]byte, NonceEncodedBytes)
	base64.StdEncoding.Encode(nonce, raw)

	server, err := xdr.AddressToMuxedAccount(p.Server.Address())
	if err != nil {
		return "", err
	}
	ops := []xdr.Operation{
		manageData(&client, key, nonce),
		manageData(&server, WebAuthDomainKey, []byte(p.WebAuthDomain)),
	}
	if p.ClientDomain != "" {
		cd, err := xdr.AddressToMuxedAccount(p.ClientDomainAccount)
		if err != nil {
			return "", fmt.Errorf("client domain account: %w", err)
		}
		ops = append(ops, manageData(&cd, ClientDomainKey, []byte(p.ClientDomain)))
	}
	memo := xdr.Memo{Type: xdr.MemoTypeMemoNone}
	if p.Memo != nil {
		id := xdr.Uint64(*p.Memo)
		memo = xdr.Memo{Type: xdr.MemoTypeMemoId, Id: &id}
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	tx := xdr.Transaction{
		SourceAccount: server,
		Fee:           xdr.Uint32(baseFee * len(ops)),
		SeqNum:        0,
		Cond: xdr.Preconditions{Type: xdr.PreconditionTypePrecondTime, TimeBounds: &xdr.TimeBounds{
			MinTime: xdr.TimePoint(now.Unix()),
			MaxTime: xdr.TimePoint(now.Add(p.Lifetime).Unix()),
		}},
		Memo:       memo,
		Operations: ops,
	}
	// Encode the transaction once: its bytes are both hashed and sent, inside an envelope
	// that is the envelope type, the transaction and one decorated signature.
	txBytes, err := tx.MarshalBinary()
	if err != nil {
		return "", err
	}
	hash := txHash(p.Network, txBytes)
	sig, err := p.Server.Sign(hash[:])
	if err != nil {
		return "", err
	}
	hint := p.Server.Hint()
	env := make([]byte, 0, 4+len(txBytes)+4+4+4+len(sig))
	env = binary.BigEndian.AppendUint32(env, uint32(xdr.EnvelopeTypeEnvelopeTypeTx))
	env = append(env, txBytes...)
	env = binary.BigEndian.AppendUint32(env, 1)
	env = append(env, hint[:]...)
	env = binary.BigEndian.AppendUint32(env, uint32(len(sig)))
	env = append(env, sig...) // 64 bytes: no XDR padding
	return base64.StdEncoding.EncodeToString(env), nil
}

var networkIDs sync.Map // passphrase → [32]byte

// networkID is network.ID, remembered: a server uses one or two passphrases for its lifetime.
func networkID(passphrase string) [32]byte {
	if id, ok := networkIDs.Load(passphrase); ok {
		return id.([32]byte)
	}
	id := network.ID(passphrase)
	networkIDs.Store(passphrase, id)
	return id
}

// txHash is the hash a v1 transaction is signed over: SHA-256 of the network id, the
// ENVELOPE_TYPE_TX tag and the transaction's XDR.
func txHash(passphrase string, txXDR []byte) [32]byte {
	id := networkID(passphrase)
	h := sha256.New()
	h.Write(id[:])
	var tag [4]byte
	binary.BigEndian.PutUint32(tag[:], uint32(xdr.EnvelopeTypeEnvelopeTypeTx))
	h.Write(tag[:])
	h.Write(txXDR)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func manageData(source *xdr.MuxedAccount, name string, value []byte) xdr.Operation {
	v := xdr.DataValue(value)
	return xdr.Operation{SourceAccount: source, Body: xdr.OperationBody{
		Type:         xdr.OperationTypeManageData,
		ManageDataOp: &xdr.ManageDataOp{DataName: xdr.String64(name), DataValue: &v},
	}}
}
