package stellartoml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// WellKnownPath is where SEP-1 puts the file.
const WellKnownPath = "/.well-known/stellar.toml"

// URLFor returns the stellar.toml URL of a domain (host[:port]): https, or http for localhost.
func URLFor(domain string) string {
	scheme := "https"
	if isLocal("http://" + domain) {
		scheme = "http"
	}
	return scheme + "://" + domain + WellKnownPath
}

// ResolveURL turns "DOMAIN", "https://DOMAIN" or a full URL into the URL to fetch.
func ResolveURL(target string) (string, error) {
	if !strings.Contains(target, "://") {
		if strings.ContainsAny(target, "/?# ") || target == "" {
			return "", fmt.Errorf("%q is not a domain", target)
		}
		if u, err := url.Parse(URLFor(target)); err != nil || u.Host != target || u.Hostname() == "" {
			return "", fmt.Errorf("%q is not a domain", target)
		}
		return URLFor(target), nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an http(s) URL", target)
	}
	if u.Scheme == "http" && !isLocal(target) {
		return "", fmt.Errorf("%q: SEP-1 requires https (http only for localhost)", target)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = WellKnownPath
	}
	return u.String(), nil
}

// FetchError means the file could not be read at all (network, status, size). Unreachable is
// set when no HTTP answer came (DNS, connection, timeout); Status when the answer was not 200.
type FetchError struct {
	Msg         string
	Unreachable bool
	Status      int
}

func (e *FetchError) Error() string { return e.Msg }

// Fetched is a stellar.toml read over HTTP, with the findings about how it was served.
type Fetched struct {
	URL      string
	Body     []byte
	Findings []Finding
}

// Fetch GETs the stellar.toml of target (a domain or URL) with client, reading at most
// MaxSize+1 bytes, and checks how it is served: status 200, content type text/plain or
// application/toml, and Access-Control-Allow-Origin: * (SEP-1).
func Fetch(ctx context.Context, client *http.Client, target string) (*Fetched, error) {
	u, err := ResolveURL(target)
	if err != nil {
		return nil, &FetchError{Msg: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &FetchError{Msg: err.Error()}
	}
	req.Header.Set("Accept", "text/plain, application/toml")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &FetchError{Msg: fmt.Sprintf("GET %s: %v", u, err), Unreachable: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &FetchError{Msg: fmt.Sprintf("GET %s: status %s, want 200 OK", u, resp.Status), Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, &FetchError{Msg: fmt.Sprintf("GET %s: %v", u, err)}
	}
	f := &Fetched{URL: u, Body: body}
	if len(body) > MaxSize {
		f.Body = nil
		f.Findings = append(f.Findings, Finding{Severity: SeverityError, Message: fmt.Sprintf("file is larger than %d bytes (SEP-1 limit)", MaxSize)})
		return f, nil
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "text/plain" && mt != "application/toml" {
		// SEP-1 recommends text/plain ("should"); clients read the file whatever its type.
		f.Findings = append(f.Findings, Finding{Severity: SeverityWarning, Key: "Content-Type",
			Message: fmt.Sprintf("served as %q; SEP-1 recommends text/plain", ct)})
	}
	// SEP-1: "Your stellar.toml must be hosted on the same domain" as ORG_URL.
	var doc struct {
		Documentation struct {
			OrgURL any `toml:"ORG_URL"`
		} `toml:"DOCUMENTATION"`
	}
	if toml.Unmarshal(body, &doc) == nil {
		if org, ok := doc.Documentation.OrgURL.(string); ok {
			if want, got := RegistrableDomain(u), RegistrableDomain(org); want != "" && got != "" && want != got {
				f.Findings = append(f.Findings, Finding{Severity: SeverityWarning, Key: "DOCUMENTATION.ORG_URL",
					Message: fmt.Sprintf("is on %s, but this stellar.toml is served from %s; SEP-1 wants them on the same domain", got, want)})
			}
		}
	}
	if acao := resp.Header.Get("Access-Control-Allow-Origin"); acao != "*" {
		f.Findings = append(f.Findings, Finding{Severity: SeverityError, Key: "Access-Control-Allow-Origin",
			Message: fmt.Sprintf("header is %q; SEP-1 requires \"*\" so that web wallets can read the file", acao)})
	}
	return f, nil
}
