package callbacksig

import (
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
)

func TestSignVerify(t *testing.T) {
	kp := keypair.MustRandom()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"1"}`)
	h, err := Sign(kp, "wallet.example", body, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(h, "wallet.example", body, kp.Address(), now.Add(time.Second), time.Minute); err != nil {
		t.Fatalf("valid header: %v", err)
	}
	for name, tc := range map[string]struct {
		header, host string
		body         []byte
		key          string
		at           time.Time
		want         string
	}{
		"other host":   {h, "evil.example", body, kp.Address(), now, "does not verify"},
		"other body":   {h, "wallet.example", []byte("{}"), kp.Address(), now, "does not verify"},
		"other key":    {h, "wallet.example", body, keypair.MustRandom().Address(), now, "does not verify"},
		"too old":      {h, "wallet.example", body, kp.Address(), now.Add(time.Hour), "away from now"},
		"bad key":      {h, "wallet.example", body, "GBAD", now, "signing key"},
		"empty":        {"", "wallet.example", body, kp.Address(), now, "t=<timestamp>"},
		"s without =":  {"t=1, s", "wallet.example", body, kp.Address(), now, "t=<timestamp>"},
		"s first":      {"s, t=1", "wallet.example", body, kp.Address(), now, "t=<timestamp>"},
		"bare s=":      {"t=1, s=", "wallet.example", body, kp.Address(), now, "t=<timestamp>"},
		"bad base64":   {"t=1800000000, s=!!", "wallet.example", body, kp.Address(), now, "base64"},
		"bad ts":       {"t=x, s=AAAA", "wallet.example", body, kp.Address(), now, "timestamp"},
		"short prefix": {"s,t", "wallet.example", body, kp.Address(), now, "t=<timestamp>"},
	} {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.header, tc.host, tc.body, tc.key, tc.at, time.Minute)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify(%q): %v, want %q", tc.header, err, tc.want)
			}
		})
	}
}

// FuzzVerify: Verify never panics, whatever the header, and accepts nothing but the signed body.
func FuzzVerify(f *testing.F) {
	kp := keypair.MustRandom()
	now := time.Unix(1_800_000_000, 0)
	good, _ := Sign(kp, "h", []byte("b"), now)
	for _, s := range []string{good, "t=1, s", "s", "t=", ",,,", "s=, t=1", "t=1800000000, s=AAAA", "t=99999999999999999999, s=x"} {
		f.Add(s, []byte("b"))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if err := Verify(header, "h", body, kp.Address(), now, time.Minute); err == nil && string(body) != "b" {
			t.Fatalf("accepted %q over %q", header, body)
		}
	})
}
