package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestProxiesClient(t *testing.T) {
	trusted := Proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		name    string
		proxies Proxies
		peer    string
		xff     []string
		fwd     []string
		want    string
	}{
		{"no proxies: the peer, whatever the header says", nil, "203.0.113.9:5000", []string{"1.2.3.4"}, nil, "203.0.113.9"},
		{"untrusted peer: header ignored", trusted, "203.0.113.9:5000", []string{"1.2.3.4"}, nil, "203.0.113.9"},
		{"trusted peer, one hop", trusted, "127.0.0.1:5000", []string{"198.51.100.7"}, nil, "198.51.100.7"},
		{"a spoofed left part is ignored", trusted, "127.0.0.1:5000", []string{"6.6.6.6, 198.51.100.7"}, nil, "198.51.100.7"},
		{"two trusted hops", trusted, "127.0.0.1:5000", []string{"198.51.100.7, 10.1.2.3"}, nil, "198.51.100.7"},
		{"several header lines", trusted, "127.0.0.1:5000", []string{"6.6.6.6", "198.51.100.7"}, nil, "198.51.100.7"},
		{"garbage stops the walk", trusted, "127.0.0.1:5000", []string{"198.51.100.7, garbage, 10.1.2.3"}, nil, "10.1.2.3"},
		{"no header: the proxy", trusted, "127.0.0.1:5000", nil, nil, "127.0.0.1"},
		{"Forwarded wins", trusted, "127.0.0.1:5000", []string{"6.6.6.6"}, []string{`for=192.0.2.60;proto=https;by=10.0.0.1`}, "192.0.2.60"},
		{"Forwarded IPv6 with port", trusted, "127.0.0.1:5000", nil, []string{`for=6.6.6.6, for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"Forwarded unknown", trusted, "127.0.0.1:5000", nil, []string{`for=unknown`}, "127.0.0.1"},
		{"IPv4-mapped peer", trusted, "[::ffff:127.0.0.1]:5000", []string{"198.51.100.7"}, nil, "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/auth", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.fwd {
				r.Header.Add("Forwarded", v)
			}
			if got := tc.proxies.Client(r); got != tc.want {
				t.Fatalf("Client = %q, want %q", got, tc.want)
			}
		})
	}
}
