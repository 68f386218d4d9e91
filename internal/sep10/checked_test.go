package sep10

import (
	"strings"
	"testing"
	"time"
)

// A token that passed is taken again from the table until it expires, then refused as expired;
// a token one byte away from it is checked in full and refused; what a caller changes in the
// Auth it gets does not reach the next request.
func TestParseRemembersCheckedTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tokens := NewTokens(key, "http://localhost:8000/auth", time.Minute)
	now := time.Now()
	tokens.now = func() time.Time { return now }
	good, exp, err := tokens.Issue("GABC:42", "jti", "wallet.example", "localhost:8000")
	if err != nil {
		t.Fatal(err)
	}
	a, err := tokens.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tokens.checked.get(good); !ok {
		t.Fatal("a checked token was not remembered")
	}
	a.Account, a.Memo = "GEVIL", ""
	again, err := tokens.Parse(good)
	if err != nil || again.Account != "GABC" || again.Memo != "42" || again.ClientDomain != "wallet.example" {
		t.Fatalf("remembered token: %+v, %v", again, err)
	}

	// One byte of the signature changed: a different token, checked in full.
	i := strings.LastIndexByte(good, '.') + 3
	bad := good[:i] + string(good[i]^1) + good[i+1:]
	if _, err := tokens.Parse(bad); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("tampered token: %v", err)
	}

	now = exp.Add(jwtLeeway - time.Second)
	if _, err := tokens.Parse(good); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	now = exp.Add(jwtLeeway)
	if _, err := tokens.Parse(good); err == nil || err.Error() != "token has expired" {
		t.Fatalf("expired remembered token: %v", err)
	}
}

// Only tokens that passed are remembered, and a slot holds one token: another token in it is a
// miss, whatever the two have in common.
func TestCheckedTokensSlots(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tokens := NewTokens(key, "http://localhost:8000/auth", time.Minute)
	otherIssuer, _, _ := NewTokens(key, "https://evil.example/auth", time.Minute).Issue("GABC", "jti", "", "")
	if _, err := tokens.Parse(otherIssuer); err == nil {
		t.Fatal("other issuer accepted")
	}
	if _, ok := tokens.checked.get(otherIssuer); ok {
		t.Fatal("a refused token was remembered")
	}

	c := newCheckedTokens(1)
	c.put("aaaa.bbbb.cccc", Auth{Account: "GA"})
	for _, other := range []string{"aaaa.bbbb.cccd", "aaaa.bbbb.ccc", "aaaa.bbbb.cccc.", ""} {
		if _, ok := c.get(other); ok {
			t.Fatalf("%q found in the slot of another token", other)
		}
	}
	if a, ok := c.get("aaaa.bbbb.cccc"); !ok || a.Account != "GA" {
		t.Fatal("the slot's own token was not found")
	}
	c.put("xxxx.yyyy.zzzz", Auth{Account: "GX"})
	if _, ok := c.get("aaaa.bbbb.cccc"); ok {
		t.Fatal("a replaced token was still found")
	}
}
