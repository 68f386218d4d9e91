package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/anchorkit/anchor/internal/httpx"
)

// Proxies are the reverse proxies (trusted_proxies) allowed to name the client.
type Proxies []netip.Prefix

func (p Proxies) trusted(a netip.Addr) bool {
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client address of r: the connection's peer, unless the peer is a trusted
// proxy; then the right-most address of Forwarded (RFC 7239 for=) or, without it,
// X-Forwarded-For that is not itself a trusted proxy. Anything a client wrote to the left of
// that is ignored, so a client cannot choose its own address; an unreadable entry stops the walk
// at the last address a trusted proxy vouched for.
func (p Proxies) Client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || len(p) == 0 || !p.trusted(peer.Unmap()) {
		return host
	}
	chain := forwardedFor(r.Header.Values("Forwarded"))
	if chain == nil {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, s := range strings.Split(v, ",") {
				chain = append(chain, strings.TrimSpace(s))
			}
		}
	}
	client := peer.Unmap()
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseNode(chain[i])
		if !ok {
			break
		}
		client = a
		if !p.trusted(a) {
			break
		}
	}
	return client.String()
}

// forwardedFor returns the for= values of Forwarded headers, in order (nil when none).
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(val, `"`))
				}
			}
		}
	}
	return out
}

// parseNode reads an address as proxies write it: 192.0.2.1, 192.0.2.1:4711, [2001:db8::1]:4711
// or 2001:db8::1.
func parseNode(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// clientAddr puts the client address (Proxies.Client) in the request's context, for rate limits
// and logs.
func clientAddr(p Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(httpx.WithClientAddr(r.Context(), p.Client(r))))
	})
}
