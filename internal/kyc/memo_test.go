package kyc

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

// TestMemoRules: a SEP-12 memo follows its type's rules (id: uint64; text: at most 28 bytes;
// hash: base64 of 32 bytes), and no memo is longer than those allow.
func TestMemoRules(t *testing.T) {
	p := Principal{Account: keypair.MustRandom().Address()}
	hash := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		memo, typ string
		ok        bool
	}{
		{"42", "", true}, {"42", "id", true}, {"x", "id", false}, {"18446744073709551616", "id", false},
		{"hello", "text", true}, {strings.Repeat("a", 28), "text", true}, {strings.Repeat("a", 29), "text", false},
		{hash, "hash", true}, {"aGVsbG8=", "hash", false}, {"!!", "hash", false},
		{"not-a-number", "", true}, {strings.Repeat("a", 29), "", false}, {strings.Repeat("9", 32<<10), "", false},
		{"1", "return", false},
	} {
		_, _, err := key(p, "", tc.memo, tc.typ)
		if (err == nil) != tc.ok {
			t.Errorf("memo %.40q type %q: %v, want ok=%v", tc.memo, tc.typ, err, tc.ok)
		}
	}
}
