package cmd

import (
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
)

// TestIssuerKeyMalformedIsAnError: a malformed issuer secret is an error naming the key (not
// its value), never the same as a secret that is not set.
func TestIssuerKeyMalformedIsAnError(t *testing.T) {
	kp := keypair.MustRandom()
	for _, tc := range []struct {
		secret  string
		wantKey bool
		wantErr bool
	}{{"", false, false}, {kp.Seed(), true, false}, {"SNOTASEED", false, true}, {"S" + strings.Repeat("A", 55), false, true}} {
		got, err := issuerKey(&config.Config{IssuerSecret: config.Secret(tc.secret)})
		if (got != nil) != tc.wantKey || (err != nil) != tc.wantErr {
			t.Fatalf("%q: key %v err %v", tc.secret, got, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "issuer_secret") || strings.Contains(err.Error(), tc.secret)) {
			t.Fatalf("error %q", err)
		}
	}
}
