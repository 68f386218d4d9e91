package treasury

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/txnbuild"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// Envelope is what a signer is shown before signing an envelope: what it does, from which
// account, until when.
type Envelope struct {
	Hash       string    `json:"hash"`
	Source     string    `json:"source"`
	Seq        int64     `json:"seq"`
	MaxTime    time.Time `json:"max_time"`
	Operations []string  `json:"operations"`
	Signatures int       `json:"signatures"`
	tx         *txnbuild.Transaction
}

// ReadEnvelope decodes an envelope for passphrase's network.
func ReadEnvelope(envelope, passphrase string) (*Envelope, error) {
	gt, err := txnbuild.TransactionFromXDR(strings.TrimSpace(envelope))
	if err != nil {
		return nil, inputErr("not a base64 transaction envelope")
	}
	tx, ok := gt.Transaction()
	if !ok {
		return nil, inputErr("fee bump envelopes are not supported")
	}
	hash, err := tx.HashHex(passphrase)
	if err != nil {
		return nil, err
	}
	e := &Envelope{Hash: hash, Source: tx.SourceAccount().AccountID, Seq: tx.SequenceNumber(), Signatures: len(tx.Signatures()), tx: tx}
	if tb := tx.Timebounds(); tb.MaxTime > 0 {
		e.MaxTime = time.Unix(tb.MaxTime, 0).UTC()
	}
	for _, op := range tx.Operations() {
		e.Operations = append(e.Operations, describe(op))
	}
	return e, nil
}

// Sign adds kp's signature to the envelope, offline: nothing is contacted. Signing twice with
// the same key is refused (the network rejects duplicate signatures).
func (e *Envelope) Sign(passphrase string, kp *keypair.Full) (string, error) {
	for _, s := range e.tx.Signatures() {
		if s.Hint == kp.Hint() {
			return "", inputErr("the envelope is already signed by %s", kp.Address())
		}
	}
	tx, err := e.tx.Sign(passphrase, kp)
	if err != nil {
		return "", err
	}
	return tx.Base64()
}

// SignerWeight is one signer of an account and whether the envelope carries its signature.
type SignerWeight struct {
	Key    string `json:"key"`
	Weight int    `json:"weight"`
	Signed bool   `json:"signed"`
}

// AccountWeights is what one account must authorize in an envelope: the weight its threshold
// (the strictest its operations need) asks for, and the weight the signatures present carry.
type AccountWeights struct {
	Account string         `json:"account"`
	Level   string         `json:"level"`
	Needed  int            `json:"needed"`
	Present int            `json:"present"`
	Signers []SignerWeight `json:"signers"`
}

// Weights is the signature report of an envelope.
type Weights struct {
	Hash     string           `json:"hash"`
	Accounts []AccountWeights `json:"accounts"`
	// Unknown counts signatures that match no signer (the network refuses them: tx_bad_auth_extra).
	Unknown int  `json:"unknown_signatures"`
	Enough  bool `json:"enough"`
}

// Short says, in one line, what the envelope still lacks ("" when it has enough).
func (w *Weights) Short() string {
	var parts []string
	for _, a := range w.Accounts {
		if a.Present >= a.Needed {
			continue
		}
		var missing []string
		for _, s := range a.Signers {
			if !s.Signed && s.Weight > 0 {
				missing = append(missing, fmt.Sprintf("%s (weight %d)", s.Key, s.Weight))
			}
		}
		parts = append(parts, fmt.Sprintf("%s needs weight %d (%s threshold) and has %d; not yet signed by %s", a.Account, a.Needed, a.Level, a.Present, strings.Join(missing, ", ")))
	}
	if w.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d signature(s) match no signer", w.Unknown))
	}
	return strings.Join(parts, "; ")
}

// Weights reads the signers and thresholds of every account the envelope needs authorization
// from (Horizon) and weighs the signatures it carries, as the network will: the source at its
// low threshold, each operation's source at medium (high for signer or threshold changes).
func (t *Treasury) Weights(ctx context.Context, envelope string) (*Weights, error) {
	e, err := ReadEnvelope(envelope, t.Config.NetworkPassphrase)
	if err != nil {
		return nil, err
	}
	hashBytes, _ := hex.DecodeString(e.Hash)
	needs := map[string]int{e.Source: 0} // account → 0 low, 1 medium, 2 high
	for _, op := range e.tx.Operations() {
		src := e.Source
		if s := op.GetSourceAccount(); s != "" {
			src = s
		}
		level := 1
		if so, ok := op.(*txnbuild.SetOptions); ok && (so.Signer != nil || so.MasterWeight != nil || so.LowThreshold != nil || so.MediumThreshold != nil || so.HighThreshold != nil) {
			level = 2
		}
		if cur, ok := needs[src]; !ok || level > cur {
			needs[src] = level
		}
	}
	sigs := e.tx.Signatures()
	used := make([]bool, len(sigs))
	w := &Weights{Hash: e.Hash, Enough: true}
	accounts := make([]string, 0, len(needs))
	for a := range needs {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	for _, id := range accounts {
		acct, err := t.Horizon.Account(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", id, err)
		}
		th := []int{int(acct.Thresholds.LowThreshold), int(acct.Thresholds.MedThreshold), int(acct.Thresholds.HighThreshold)}
		aw := AccountWeights{Account: id, Level: []string{"low", "medium", "high"}[needs[id]], Needed: max(th[needs[id]], 1)}
		for _, s := range acct.Signers {
			sw := SignerWeight{Key: s.Key, Weight: int(s.Weight)}
			if raw, err := strkey.Decode(strkey.VersionByteAccountID, s.Key); err == nil && s.Weight > 0 {
				for i, sig := range sigs {
					if matches(raw, hashBytes, sig) {
						sw.Signed, used[i] = true, true
						aw.Present += int(s.Weight)
						break
					}
				}
			}
			aw.Signers = append(aw.Signers, sw)
		}
		w.Enough = w.Enough && aw.Present >= aw.Needed
		w.Accounts = append(w.Accounts, aw)
	}
	for _, u := range used {
		if !u {
			w.Unknown++
		}
	}
	w.Enough = w.Enough && w.Unknown == 0
	return w, nil
}

func matches(pub, hash []byte, sig xdr.DecoratedSignature) bool {
	return len(pub) == ed25519.PublicKeySize && [4]byte(sig.Hint) == [4]byte(pub[28:]) && ed25519.Verify(pub, hash, sig.Signature)
}

// Passphrase returns the network passphrase a name stands for (testnet, public) or the
// passphrase itself.
func Passphrase(name string) (string, error) {
	switch name {
	case "testnet":
		return network.TestNetworkPassphrase, nil
	case "public":
		return network.PublicNetworkPassphrase, nil
	case "":
		return "", errors.New("no network: give --network testnet|public|PASSPHRASE")
	}
	return name, nil
}
