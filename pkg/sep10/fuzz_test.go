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
