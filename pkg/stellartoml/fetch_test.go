package stellartoml

import (
	"context"
	"errors"
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
				if x.Severity != SeverityError {
					t.Errorf("severity %s", x.Severity)
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
