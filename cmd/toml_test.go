package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/pkg/stellartoml"
)

func TestTOMLValidateExitCodes(t *testing.T) {
	td := filepath.Join("..", "testdata", "toml")
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"valid file", []string{filepath.Join(td, "valid", "anchor.toml")}, 0},
		{"invalid file", []string{filepath.Join(td, "invalid", "signing_key_invalid.toml")}, 1},
		{"warnings only", []string{filepath.Join(td, "warnings", "unknown_keys.toml")}, 0},
		{"warnings with --strict", []string{filepath.Join(td, "warnings", "unknown_keys.toml"), "--strict"}, 1},
		{"missing file", []string{filepath.Join(td, "nope.toml")}, 2},
		{"unreachable domain", []string{"http://127.0.0.1:1", "--timeout", "2s"}, 3},
		{"no argument", nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, context.Background(), nil, append([]string{"toml", "validate"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
				t.Errorf("error is not short: %q", stderr)
			}
		})
	}
}

func TestTOMLValidateJSON(t *testing.T) {
	path := filepath.Join("..", "testdata", "toml", "invalid", "display_decimals_too_big.toml")
	out, _, code := runCLI(t, context.Background(), nil, "toml", "validate", path, "--json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var fs []stellartoml.Finding
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("not a JSON array: %q", out)
	}
	if len(fs) != 1 || fs[0].Key != "CURRENCIES[0].display_decimals" || fs[0].Line != 32 || fs[0].Severity != "error" {
		t.Fatalf("findings %+v", fs)
	}
	out, _, code = runCLI(t, context.Background(), nil, "toml", "validate", filepath.Join("..", "testdata", "toml", "valid", "minimal.toml"), "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("valid file: exit %d, %q", code, out)
	}
}

// TestTOMLGeneratePassesValidate: what generate writes, validate accepts, and the server
// serves the same bytes; `toml validate http://localhost:PORT` exits 0 on it.
func TestTOMLGeneratePassesValidate(t *testing.T) {
	dir, port := initAnchor(t)
	outFile := filepath.Join(t.TempDir(), "stellar.toml")
	if _, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_HORIZON_URL": "none"}, "toml", "generate", "--config", filepath.Join(dir, "anchor.yaml"), "-o", outFile); code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	for _, strict := range []string{"", "--strict"} {
		args := []string{"toml", "validate", outFile}
		if strict != "" {
			args = append(args, strict)
		}
		if out, stderr, code := runCLI(t, context.Background(), nil, args...); code != 0 {
			t.Fatalf("validate %s: %d %s %s", strict, code, out, stderr)
		}
	}
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	if out, stderr, code := runCLI(t, context.Background(), nil, "toml", "validate", s.URL, "--strict"); code != 0 {
		t.Fatalf("validate %s: %d %s %s", s.URL, code, out, stderr)
	}
	served := do(t, "GET", s.URL+"/.well-known/stellar.toml", "", nil).Body
	generated, _ := os.ReadFile(outFile)
	if string(served) != string(generated) {
		t.Errorf("served toml differs from generated toml")
	}
}

// TestServeWithOrgURLWithASlash: documentation.org_url is a page, not an endpoint: a trailing
// slash neither stops anchor serve nor fails the generated toml.
func TestServeWithOrgURLWithASlash(t *testing.T) {
	dir, port := initAnchor(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_DOCUMENTATION_ORG_URL": "https://www.example.com/"}
	s := startServe(t, dir, port, env)
	if out, stderr, code := runCLI(t, context.Background(), nil, "toml", "validate", s.URL); code != 0 {
		t.Fatalf("validate: %d %s %s", code, out, stderr)
	}
}
