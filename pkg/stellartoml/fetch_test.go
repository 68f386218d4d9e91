package stellartoml

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFetchChecksHowTheFileIsServed(t *testing.T) {
	body := "VERSION = \"2.7.0\"\n"
	cases := []struct {
		name     string
		status   int
		ctype    string
		cors     string
		body     string
		wantKeys []string // keys of the findings
		wantErr  bool     // could not read
	}{
		{"well served", 200, "text/plain; charset=utf-8", "*", body, nil, false},
		{"application/toml", 200, "application/toml", "*", body, nil, false},
		{"wrong content type", 200, "text/html", "*", body, []string{"Content-Type"}, false},
		{"no CORS", 200, "text/plain", "", body, []string{"Access-Control-Allow-Origin"}, false},
		{"CORS for one origin", 200, "text/plain", "https://x.example", body, []string{"Access-Control-Allow-Origin"}, false},
		{"too large", 200, "text/plain", "*", strings.Repeat("#", MaxSize+10), []string{""}, false},
		{"not found", 404, "text/plain", "*", "", nil, true},
		{"server error", 500, "text/plain", "*", "", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != WellKnownPath {
					t.Errorf("path %q", r.URL.Path)
				}
				w.Header().Set("Content-Type", c.ctype)
				if c.cors != "" {
					w.Header().Set("Access-Control-Allow-Origin", c.cors)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			domain := strings.Replace(strings.TrimPrefix(srv.URL, "http://"), "127.0.0.1", "localhost", 1)
			f, err := Fetch(context.Background(), srv.Client(), domain)
			if c.wantErr {
				var fe *FetchError
				if !errors.As(err, &fe) {
					t.Fatalf("err %v, want FetchError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, x := range f.Findings {
				// SEP-1 recommends text/plain; the other rules are requirements.
				if want := map[bool]Severity{true: SeverityWarning, false: SeverityError}[x.Key == "Content-Type"]; x.Severity != want {
					t.Errorf("%s: severity %s, want %s", x.Key, x.Severity, want)
				}
				keys = append(keys, x.Key)
			}
			if strings.Join(keys, ",") != strings.Join(c.wantKeys, ",") {
				t.Fatalf("finding keys %q, want %q", keys, c.wantKeys)
			}
		})
	}
}

func TestResolveURL(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":                        "https://example.com/.well-known/stellar.toml",
		"localhost:8000":                     "http://localhost:8000/.well-known/stellar.toml",
		"https://example.com":                "https://example.com/.well-known/stellar.toml",
		"http://127.0.0.1:9000/":             "http://127.0.0.1:9000/.well-known/stellar.toml",
		"https://example.com/x/stellar.toml": "https://example.com/x/stellar.toml",
	} {
		if got, err := ResolveURL(in); err != nil || got != want {
			t.Errorf("ResolveURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://example.com", "ftp://example.com", "", "exa mple.com", "example.com/path"} {
		if _, err := ResolveURL(bad); err == nil {
			t.Errorf("ResolveURL(%q) succeeded", bad)
		}
	}
}

// TestFetchORGURLOnTheSameDomain: ORG_URL on another registrable domain than the one serving
// the stellar.toml is a warning (SEP-1: the file "must be hosted on the same domain").
func TestFetchORGURLOnTheSameDomain(t *testing.T) {
	var body string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	for org, warn := range map[string]bool{"https://www.example.com/": false, "https://example.com": false, "https://www.other.org": true} {
		body = "VERSION = \"2.7.0\"\n[DOCUMENTATION]\nORG_URL = \"" + org + "\"\n"
		f, err := Fetch(context.Background(), client, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(f.Findings) == 1 && f.Findings[0].Key == "DOCUMENTATION.ORG_URL" && f.Findings[0].Severity == SeverityWarning; got != warn || (!warn && len(f.Findings) != 0) {
			t.Errorf("ORG_URL %s: findings %v", org, f.Findings)
		}
	}
}

func TestRegistrableDomain(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.example.com/x": "example.com", "anchor.example.co.uk": "example.co.uk", "https://a.b.example.com:8443": "example.com",
		"localhost:8000": "", "https://127.0.0.1/": "", "": "",
	} {
		if got := RegistrableDomain(in); got != want {
			t.Errorf("RegistrableDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
