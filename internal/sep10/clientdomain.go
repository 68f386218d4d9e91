package sep10

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/stellar/go-stellar-sdk/strkey"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// DomainResolver reads a client domain's SIGNING_KEY from its stellar.toml (SEP-10 "Verifying
// the Client Domain"). Outbound fetches are what an attacker controls the target of, so they
// are bounded: a timeout, at most stellartoml.MaxSize bytes, no proxies, at most 3 redirects,
// no private, loopback or link-local addresses (checked on the dialled IP, so DNS rebinding does
// not help) unless allowPrivate, one fetch in flight per domain, and a cache of results.
type DomainResolver struct {
	client   *http.Client
	ttl      time.Duration
	errTTL   time.Duration
	maxItems int

	mu       sync.Mutex
	cache    map[string]domainEntry
	inflight map[string]*domainCall
}

type domainEntry struct {
	key     string
	err     error
	expires time.Time
}

type domainCall struct {
	done chan struct{}
	key  string
	err  error
}

// ErrForbiddenAddress is returned when a fetch would reach a private or loopback address.
var ErrForbiddenAddress = errors.New("address is private, loopback or otherwise not public")

// NewDomainResolver returns a resolver whose fetches time out after timeout.
func NewDomainResolver(timeout time.Duration, allowPrivate bool) *DomainResolver {
	return &DomainResolver{
		client:   NewOutboundClient(timeout, allowPrivate),
		ttl:      10 * time.Minute,
		errTTL:   30 * time.Second,
		maxItems: 4096,
		cache:    map[string]domainEntry{},
		inflight: map[string]*domainCall{},
	}
}

// NewOutboundClient returns an http.Client for requests whose target a client chooses.
func NewOutboundClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !PublicIP(ip) {
				return fmt.Errorf("%s: %w", host, ErrForbiddenAddress)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// PublicIP reports whether ip is a globally routable unicast address.
func PublicIP(ip net.IP) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !cgnat.Contains(ip)
}

// SigningKey returns the SIGNING_KEY of domain's stellar.toml.
func (d *DomainResolver) SigningKey(ctx context.Context, domain string) (string, error) {
	if err := config.ValidateClientDomain(domain); err != nil {
		return "", fmt.Errorf("client_domain %w", err)
	}
	now := time.Now()
	d.mu.Lock()
	if e, ok := d.cache[domain]; ok && now.Before(e.expires) {
		d.mu.Unlock()
		return e.key, e.err
	}
	if c, ok := d.inflight[domain]; ok {
		d.mu.Unlock()
		select {
		case <-c.done:
			return c.key, c.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	c := &domainCall{done: make(chan struct{})}
	d.inflight[domain] = c
	d.mu.Unlock()

	// The fetch serves every caller waiting for it, so the first caller's cancellation must not
	// become everyone's answer: it runs detached from that caller, bounded by the client's
	// timeout, and an error of the context is never cached.
	c.key, c.err = d.fetch(context.WithoutCancel(ctx), domain)
	close(c.done)

	d.mu.Lock()
	delete(d.inflight, domain)
	if len(d.cache) >= d.maxItems {
		for k, e := range d.cache {
			if now.After(e.expires) || len(d.cache) >= d.maxItems {
				delete(d.cache, k)
			}
		}
	}
	ttl := d.ttl
	if c.err != nil {
		ttl = d.errTTL
	}
	if !errors.Is(c.err, context.Canceled) && !errors.Is(c.err, context.DeadlineExceeded) {
		d.cache[domain] = domainEntry{key: c.key, err: c.err, expires: now.Add(ttl)}
	}
	d.mu.Unlock()
	return c.key, c.err
}

func (d *DomainResolver) fetch(ctx context.Context, domain string) (string, error) {
	f, err := stellartoml.Fetch(ctx, d.client, domain)
	if err != nil {
		return "", fmt.Errorf("cannot read the stellar.toml of client_domain %s: %w", domain, err)
	}
	if f.Body == nil {
		return "", fmt.Errorf("the stellar.toml of client_domain %s is too large", domain)
	}
	key, err := stellartoml.SigningKey(f.Body)
	var se *stellartoml.SyntaxError
	if errors.As(err, &se) {
		return "", fmt.Errorf("the stellar.toml of client_domain %s is not valid TOML (%v)", domain, err)
	}
	if err != nil || !strkey.IsValidEd25519PublicKey(key) {
		return "", fmt.Errorf("the stellar.toml of client_domain %s has no valid SIGNING_KEY", domain)
	}
	return key, nil
}
