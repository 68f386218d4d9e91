package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestDSNNeverPrintsItsPassword: a database_url prints (String, %v, %#v, JSON, slog) with its
// password replaced, whatever form carries it, and Reveal gives it back whole.
func TestDSNNeverPrintsItsPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://anchor:s3cret@db.internal:5432/anchor?sslmode=require", "postgres://anchor:REDACTED@db.internal:5432/anchor?sslmode=require"},
		{"postgresql://anchor@db/anchor", "postgresql://anchor@db/anchor"},
		{"postgres:///anchor?host=/run/postgresql&password=s3cret", "postgres:///anchor?host=%2Frun%2Fpostgresql&password=REDACTED"},
		{"host=db user=anchor password=s3cret dbname=anchor", "host=db user=anchor password=REDACTED dbname=anchor"},
		{"host=db password='s3 cret' dbname=anchor", "host=db password=REDACTED dbname=anchor"},
		{"", ""},
	} {
		d := DSN(tc.in)
		if got := d.String(); got != tc.want {
			t.Errorf("%q prints %q, want %q", tc.in, got, tc.want)
		}
		var sb strings.Builder
		slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "database_url", d)
		js, _ := d.MarshalText()
		for _, out := range []string{fmt.Sprint(d), fmt.Sprintf("%#v", d), string(js), sb.String()} {
			if strings.Contains(out, "s3cret") || strings.Contains(out, "s3 cret") {
				t.Errorf("%q leaks its password: %s", tc.in, out)
			}
		}
		if d.Reveal() != tc.in {
			t.Errorf("Reveal changed %q", tc.in)
		}
	}
}

// TestFrameAncestorsValidation: sep24.frame_ancestors takes CSP sources, and nothing that could
// end the Content-Security-Policy directive.
func TestFrameAncestorsValidation(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"https://wallet.example", true}, {"https://*.example.com:8443", true}, {"'self'", true}, {"*", true}, {"https:", true},
		{"https://a.example; script-src *", false}, {"https://a.example, https://b", false}, {"'unsafe-inline'", false}, {"", false},
	} {
		c := &Config{SEP24: SEP24{FrameAncestors: []string{tc.v}}}
		err := c.Validate()
		bad := err != nil && strings.Contains(err.Error(), "sep24.frame_ancestors")
		if bad == tc.ok {
			t.Errorf("%q: %v", tc.v, err)
		}
	}
}
