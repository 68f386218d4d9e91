package sep10

import (
	"encoding/base64"
	"testing"
	"time"
)

// FuzzReadChallenge: no input makes the challenge reader or signature check panic.
func FuzzReadChallenge(f *testing.F) {
	fx := newFixture()
	p := fx.params()
	tx, _ := BuildChallenge(p)
	signed, _ := SignChallenge(tx, testNet, fx.client)
	f.Add(signed)
	f.Add(tx)
	f.Add("")
	f.Add("AAAA")
	raw, _ := base64.StdEncoding.DecodeString(signed)
	f.Add(base64.StdEncoding.EncodeToString(raw[:len(raw)/2]))
	vp := fx.verifyParams()
	f.Fuzz(func(t *testing.T, s string) {
		vp.Now = fx.now.Add(time.Minute)
		c, err := ReadChallenge(s, vp)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		_, _ = c.VerifySignatures(nil)
		_, _ = c.VerifySignatures(&Account{MediumThreshold: 1, Signers: []Signer{{fx.client.Address(), 1}}})
	})
}

// FuzzParseClientAccount: no account or memo makes it panic.
func FuzzParseClientAccount(f *testing.F) {
	fx := newFixture()
	f.Add(fx.client.Address(), uint64(0), false)
	f.Add("MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAGZFQ", uint64(5), true)
	f.Add("", uint64(0), false)
	f.Add("GBAD", uint64(1), true)
	f.Fuzz(func(t *testing.T, account string, memo uint64, withMemo bool) {
		var m *uint64
		if withMemo {
			m = &memo
		}
		ParseClientAccount(account, m)
	})
}

// FuzzSignChallenge: no envelope makes the wallet-side signer panic.
func FuzzSignChallenge(f *testing.F) {
	fx := newFixture()
	tx, _ := BuildChallenge(fx.params())
	f.Add(tx)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, env string) {
		SignChallenge(env, testNet, fx.client)
	})
}
