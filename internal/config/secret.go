package config

import (
	"log/slog"
	"net/url"
	"regexp"
)

// Secret holds a value that must never be printed: its String, GoString, JSON and slog forms
// all say REDACTED, so a Config can be logged or dumped without leaking keys.
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "REDACTED"

// Reveal returns the secret value itself; call it only where the secret is used.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps encoders (JSON, YAML) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// DSN is a database URL: it may hold a password, which it never prints (String replaces it).
type DSN string

// Reveal returns the URL itself, password included; call it only to connect.
func (d DSN) Reveal() string { return string(d) }

func (d DSN) String() string {
	raw := string(d)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		// A keyword DSN (host=... password=...): drop the password's value.
		return dsnPassword.ReplaceAllString(raw, "${1}"+Redacted)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Redacted)
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", Redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// GoString keeps %#v from printing the password.
func (d DSN) GoString() string { return d.String() }

// MarshalText keeps encoders (JSON, YAML) from printing the password.
func (d DSN) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// LogValue keeps slog from printing the password.
func (d DSN) LogValue() slog.Value { return slog.StringValue(d.String()) }

var dsnPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
