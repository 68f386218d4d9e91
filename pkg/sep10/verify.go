package sep10

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/anchorkit/anchor/internal/edsig"
)

// VerifyParams are what a challenge is checked against.
type VerifyParams struct {
	// ServerKeys are the accepted SIGNING_KEYs (G...): the current one and any still honoured
	// after a rotation. A wallet passes the one from the home domain's stellar.toml.
	ServerKeys    []string
	Network       string
	HomeDomains   []string
	WebAuthDomain string
	Now           time.Time
	// MaxLifetime, when set, refuses challenges whose time bounds span more than it.
	MaxLifetime time.Duration
	// ClockSkew widens the time bounds by this much on each side, for a reader whose clock
	// may differ from the server's (wallets; see Client.ClockSkew). Servers leave it 0.
	ClockSkew time.Duration
	// Signer, when set, is the secret of ServerKeys[0]. The server signature of challenges it
	// signed is then checked by signing again and comparing: Ed25519 signatures are
	// deterministic (RFC 8032 §5.1.6), and signing costs about a third of a verification.
	Signer ChallengeSigner
}

// Challenge is a decoded challenge that passed the structural checks and carries a valid
// server signature.
type Challenge struct {
	Envelope  xdr.TransactionEnvelope
	Hash      [32]byte
	ServerKey string
	// ClientAccount is the first operation's source as given (G... or M...); AccountID is the
	// G... account behind it.
	ClientAccount       string
	AccountID           string
	Memo                *uint64
	HomeDomain          string
	ClientDomain        string
	ClientDomainAccount string
	MinTime, MaxTime    time.Time
	// serverSig is the index of the server's signature; clientKey the client's raw public key.
	serverSig int
	clientKey xdr.Uint256
}

// Subject is the JWT sub for the challenge (SEP-10 Token): M..., G...:memo or G....
func (c *Challenge) Subject() string {
	if c.Memo != nil {
		return fmt.Sprintf("%s:%d", c.AccountID, *c.Memo)
	}
	return c.ClientAccount
}

// ReadChallenge decodes a challenge and checks every rule of SEP-10's verification list that
// does not depend on the client account's signers, including the server's signature.
func ReadChallenge(txB64 string, p VerifyParams) (*Challenge, error) {
	if txB64 == "" {
		return nil, inputErr("transaction is required")
	}
	raw, err := base64.StdEncoding.DecodeString(txB64)
	if err != nil {
		return nil, inputErr("transaction is not a base64 XDR transaction envelope")
	}
	var env xdr.TransactionEnvelope
	if err := xdr.SafeUnmarshal(raw, &env); err != nil {
		return nil, inputErr("transaction is not a base64 XDR transaction envelope")
	}
	if env.Type != xdr.EnvelopeTypeEnvelopeTypeTx || env.V1 == nil {
		return nil, inputErr("transaction must be a v1 transaction envelope, not a fee bump or v0 envelope")
	}
	tx := env.V1.Tx
	c := &Challenge{Envelope: env}

	src := tx.SourceAccount
	if src.Type != xdr.CryptoKeyTypeKeyTypeEd25519 {
		return nil, inputErr("transaction source account must be the server account, not a muxed account")
	}
	c.ServerKey = src.ToAccountId().Address()
	if !contains(p.ServerKeys, c.ServerKey) {
		return nil, inputErr("transaction source account is not the server's signing key")
	}
	if tx.SeqNum != 0 {
		return nil, inputErr("transaction sequence number must be 0")
	}
	tb := env.TimeBounds()
	if tb == nil || tb.MaxTime == 0 {
		return nil, inputErr("transaction must have time bounds with a maximum time")
	}
	if pc := env.Preconditions(); pc.Type == xdr.PreconditionTypePrecondV2 {
		v2 := pc.V2
		if v2.LedgerBounds != nil || v2.MinSeqNum != nil || v2.MinSeqAge != 0 || v2.MinSeqLedgerGap != 0 || len(v2.ExtraSigners) > 0 {
			return nil, inputErr("transaction must have only time bounds as preconditions")
		}
	}
	c.MinTime = time.Unix(int64(tb.MinTime), 0)
	c.MaxTime = time.Unix(int64(tb.MaxTime), 0)
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	if now.Add(p.ClockSkew).Before(c.MinTime) {
		return nil, inputErr("transaction is not yet valid (time bounds start in the future)")
	}
	if now.Add(-p.ClockSkew).After(c.MaxTime) {
		return nil, inputErr("transaction has expired")
	}
	if p.MaxLifetime > 0 && c.MaxTime.Sub(c.MinTime) > p.MaxLifetime {
		return nil, inputErr("transaction time bounds are longer than the challenge lifetime")
	}

	switch tx.Memo.Type {
	case xdr.MemoTypeMemoNone:
	case xdr.MemoTypeMemoId:
		id := uint64(*tx.Memo.Id)
		c.Memo = &id
	default:
		return nil, inputErr("transaction memo must be an id memo or none")
	}

	ops := tx.Operations
	if len(ops) == 0 {
		return nil, inputErr("transaction has no operations")
	}
	for i, op := range ops {
		if op.Body.Type != xdr.OperationTypeManageData || op.Body.ManageDataOp == nil {
			return nil, inputErr("operation %d is not a manage_data operation", i)
		}
		if op.SourceAccount == nil {
			return nil, inputErr("operation %d has no source account", i)
		}
	}
	first := ops[0]
	c.ClientAccount = first.SourceAccount.Address()
	c.AccountID = c.ClientAccount
	if first.SourceAccount.Type != xdr.CryptoKeyTypeKeyTypeEd25519 {
		c.AccountID = first.SourceAccount.ToAccountId().Address()
	}
	c.clientKey = *first.SourceAccount.ToAccountId().Ed25519
	if first.SourceAccount.Type == xdr.CryptoKeyTypeKeyTypeMuxedEd25519 && c.Memo != nil {
		return nil, inputErr("transaction has a memo and a muxed client account; only one is allowed")
	}
	name := string(first.Body.ManageDataOp.DataName)
	for _, d := range p.HomeDomains {
		if name == AuthKey(d) {
			c.HomeDomain = d
		}
	}
	if c.HomeDomain == "" {
		return nil, inputErr("first operation key %q does not name this server's home domain", name)
	}
	nonce := first.Body.ManageDataOp.DataValue
	if nonce == nil || len(*nonce) != NonceEncodedBytes {
		return nil, inputErr("first operation value must be a %d-byte nonce", NonceEncodedBytes)
	}
	if raw, err := base64.StdEncoding.DecodeString(string(*nonce)); err != nil || len(raw) != NonceRawBytes {
		return nil, inputErr("first operation value must be a base64-encoded %d-byte nonce", NonceRawBytes)
	}

	seen := map[string]bool{}
	for i, op := range ops[1:] {
		md := op.Body.ManageDataOp
		key := string(md.DataName)
		opSrc := op.SourceAccount
		if opSrc.Type != xdr.CryptoKeyTypeKeyTypeEd25519 {
			return nil, inputErr("operation %d source account must not be muxed", i+1)
		}
		fromServer := *opSrc.Ed25519 == *src.Ed25519
		if seen[key] && (key == WebAuthDomainKey || key == ClientDomainKey) {
			return nil, inputErr("operation %d repeats the %s key", i+1, key)
		}
		seen[key] = true
		switch key {
		case ClientDomainKey:
			if md.DataValue == nil || len(*md.DataValue) == 0 {
				return nil, inputErr("client_domain operation has no value")
			}
			c.ClientDomain = string(*md.DataValue)
			c.ClientDomainAccount = opSrc.Address()
		case WebAuthDomainKey:
			if !fromServer {
				return nil, inputErr("web_auth_domain operation source must be the server account")
			}
			if md.DataValue == nil || string(*md.DataValue) != p.WebAuthDomain {
				return nil, inputErr("web_auth_domain operation value does not match %q", p.WebAuthDomain)
			}
		default:
			if !fromServer {
				return nil, inputErr("operation %d (%s) source must be the server account", i+1, key)
			}
		}
	}

	// Hash the transaction bytes as received, rather than encoding the decoded form again.
	txRaw, err := xdr.Try(func() []byte { return xdr.TransactionEnvelopeView(raw).MustV1().MustTx().MustRaw() })
	if err != nil {
		return nil, inputErr("transaction cannot be hashed")
	}
	hash := txHash(p.Network, txRaw)
	c.Hash = hash
	if p.Signer != nil && p.Signer.Address() == c.ServerKey {
		c.serverSig = findOwnSignature(env.V1.Signatures, p.Signer, hash[:])
	} else {
		c.serverSig = findSignature(env.V1.Signatures, nil, c.ServerKey, hash[:])
	}
	if c.serverSig < 0 {
		return nil, inputErr("transaction is not signed by the server")
	}
	return c, nil
}

// Signer is one signer of an account.
type Signer struct {
	Key    string // G...; other signer kinds are ignored
	Weight int32
}

// Account is what Horizon says of the client account. A nil *Account means it does not exist.
type Account struct {
	Signers         []Signer
	MediumThreshold uint8
}

// VerifySignatures checks the client's signatures (SEP-10 Token verification): with acct nil
// (the account does not exist) exactly one more signature, from the master key; otherwise
// signatures only from the account's signers, whose weights must meet the medium threshold
// (or be positive when it is 0). The server key never counts for the client. When the challenge
// has a client_domain operation, its source must have signed. No other signature is allowed.
// It returns the client signers that signed.
func (c *Challenge) VerifySignatures(acct *Account) ([]string, error) {
	sigs := c.Envelope.V1.Signatures
	used := make([]bool, len(sigs))
	hash := c.Hash[:]
	used[c.serverSig] = true
	cdSigned := false
	if c.ClientDomain != "" {
		i := findSignature(sigs, used, c.ClientDomainAccount, hash)
		if i < 0 {
			return nil, inputErr("transaction is not signed by the client domain's signing key")
		}
		used[i], cdSigned = true, true
	}
	if acct == nil {
		if cdSigned && c.ClientDomainAccount == c.AccountID {
			// The client domain's key is the account's own master key: one signature is both.
			if n := countUnused(used); n > 0 {
				return nil, inputErr("transaction has %d unrecognized signature(s)", n)
			}
			return []string{c.AccountID}, nil
		}
		i := findSignatureRaw(sigs, used, c.clientKey[:], hash)
		if i < 0 {
			return nil, inputErr("transaction is not signed by the client account's master key")
		}
		used[i] = true
		if n := countUnused(used); n > 0 {
			return nil, inputErr("transaction has %d unrecognized signature(s)", n)
		}
		return []string{c.AccountID}, nil
	}
	var signed []string
	var weight int64
	for _, s := range acct.Signers {
		if s.Weight <= 0 || s.Key == c.ServerKey || !strings.HasPrefix(s.Key, "G") {
			continue
		}
		if cdSigned && s.Key == c.ClientDomainAccount {
			// Its one signature, taken by the client_domain check, counts for the account too.
			weight += int64(s.Weight)
			signed = append(signed, s.Key)
			continue
		}
		if i := findSignature(sigs, used, s.Key, hash); i >= 0 {
			used[i] = true
			weight += int64(s.Weight)
			signed = append(signed, s.Key)
		}
	}
	if n := countUnused(used); n > 0 {
		return nil, inputErr("transaction has %d signature(s) that are not from signers of the client account", n)
	}
	if len(signed) == 0 {
		return nil, inputErr("transaction is not signed by any signer of the client account")
	}
	threshold := int64(acct.MediumThreshold)
	if threshold == 0 {
		threshold = 1
	}
	if weight < threshold {
		return nil, inputErr("signers' weight %d does not meet the account's medium threshold %d", weight, threshold)
	}
	return signed, nil
}

// findOwnSignature returns the index of kp's signature over hash, or -1, by signing again.
func findOwnSignature(sigs []xdr.DecoratedSignature, kp ChallengeSigner, hash []byte) int {
	want, err := kp.Sign(hash)
	if err != nil {
		return -1
	}
	hint := kp.Hint()
	for i, s := range sigs {
		if s.Hint == hint && subtle.ConstantTimeCompare(s.Signature, want) == 1 {
			return i
		}
	}
	return -1
}

// findSignature returns the index of an unused signature by key over hash, or -1.
func findSignature(sigs []xdr.DecoratedSignature, used []bool, key string, hash []byte) int {
	raw, err := strkey.Decode(strkey.VersionByteAccountID, key)
	if err != nil {
		return -1
	}
	return findSignatureRaw(sigs, used, raw, hash)
}

// findSignatureRaw is findSignature for a raw 32-byte public key.
func findSignatureRaw(sigs []xdr.DecoratedSignature, used []bool, raw []byte, hash []byte) int {
	hint := raw[len(raw)-4:]
	for i, s := range sigs {
		if used != nil && used[i] {
			continue
		}
		if !bytes.Equal(s.Hint[:], hint) || len(s.Signature) != edsig.SignatureSize {
			continue
		}
		if edsig.Verify(raw, hash, s.Signature) {
			return i
		}
	}
	return -1
}

func countUnused(used []bool) int {
	n := 0
	for _, u := range used {
		if !u {
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
