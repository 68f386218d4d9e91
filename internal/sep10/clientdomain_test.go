package sep10

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
)

// TestResolverDoesNotCacheACallersCancellation: the first caller of a slow client domain gives
// up; the fetch it started still serves the callers waiting for it, and later ones, with the
// domain's real key, never with the first caller's "context canceled".
func TestResolverDoesNotCacheACallersCancellation(t *testing.T) {
	key := keypair.MustRandom().Address()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(`SIGNING_KEY="` + key + `"` + "\n"))
	}))
	defer srv.Close()
	defer close(release)
	domain := strings.TrimPrefix(srv.URL, "http://")
	d := NewDomainResolver(5*time.Second, true)

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := d.SigningKey(ctx, domain); first <- err }()
	time.Sleep(50 * time.Millisecond) // the first call is fetching
	second := make(chan string, 1)
	go func() { k, _ := d.SigningKey(context.Background(), domain); second <- k }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	release <- struct{}{}
	<-first
	if k := <-second; k != key {
		t.Fatalf("the waiting caller got %q, want the domain's key", k)
	}
	if k, err := d.SigningKey(context.Background(), domain); k != key || err != nil {
		t.Fatalf("a later caller got %q, %v from the cache", k, err)
	}
}

// TestClientDomainLength: client_domain is a manage_data value (up to 64 bytes), not a key
// with " auth" appended: 60 to 64 bytes are fine, 65 are not.
func TestClientDomainLength(t *testing.T) {
	for n, ok := range map[int]bool{59: true, 60: true, 64: true, 65: false} {
		d := strings.Repeat("a", n-len(".example")) + ".example"
		err := config.ValidateClientDomain(d)
		if (err == nil) != ok {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

// TestClientDomainSigningKeyIsReadLeniently: a client domain's stellar.toml whose other fields
// have unexpected types still yields its SIGNING_KEY; a missing or invalid one, or a file that
// is not TOML, is refused with a message that says which.
func TestClientDomainSigningKeyIsReadLeniently(t *testing.T) {
	key := keypair.MustRandom().Address()
	for body, want := range map[string]string{
		"VERSION = 2.0\nSIGNING_KEY = \"" + key + "\"\n[[CURRENCIES]]\ncode = \"USD\"\ndisplay_decimals = \"2\"\n": "",
		"VERSION = \"2.0.0\"\n":                 "no valid SIGNING_KEY",
		"SIGNING_KEY = \"GBAD\"\n":              "no valid SIGNING_KEY",
		"SIGNING_KEY = 5\n":                     "no valid SIGNING_KEY",
		"SIGNING_KEY = \"" + key + "\"\n[[[[\n": "not valid TOML",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(body))
		}))
		got, err := NewDomainResolver(5*time.Second, true).SigningKey(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
		srv.Close()
		if want == "" && (err != nil || got != key) || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %q %v, want %q", body, got, err, want)
		}
	}
}
