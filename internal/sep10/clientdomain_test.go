package sep10

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
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
