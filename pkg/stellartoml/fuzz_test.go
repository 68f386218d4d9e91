package stellartoml

import (
	"net/url"
	"testing"
)

// FuzzDecode: no input makes Decode panic, and what it decodes encodes again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "VERSION=\"2.0.0\"\n", "[[CURRENCIES]]\ncode=1\n", "ACCOUNTS=[1,2]", "[DOCUMENTATION]\nORG_URL=\"https://x\"", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(data)
		if err != nil {
			return
		}
		if _, err := Encode(st); err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
	})
}

// FuzzResolveURL: no target makes ResolveURL panic, and what it returns is an http(s) URL.
func FuzzResolveURL(f *testing.F) {
	for _, s := range []string{"example.com", "https://example.com", "http://localhost:8000/", "ftp://x", "", "a b", "https://", "http://[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got, err := ResolveURL(target)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			t.Fatalf("ResolveURL(%q) = %q", target, got)
		}
	})
}
