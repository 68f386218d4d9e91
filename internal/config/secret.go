package config

import "log/slog"

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
