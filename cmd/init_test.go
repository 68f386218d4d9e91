package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

func TestInitWritesConfigAndSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "anchor")
	_, stderr, code := runCLI(t, context.Background(), nil, "init", "--dir", dir, "--home-domain", "localhost:8000", "--network", "testnet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets.env"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets.env: %v %v", err, fi.Mode())
	}
	secrets, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	yaml, _ := os.ReadFile(filepath.Join(dir, "anchor.yaml"))
	for _, k := range []string{"ANCHOR_SIGNING_SECRET=S", "ANCHOR_JWT_SECRET="} {
		if !strings.Contains(string(secrets), k) {
			t.Errorf("secrets.env lacks %s", k)
		}
	}
	if strings.Contains(string(yaml), "ANCHOR_SIGNING_SECRET=") || strings.Contains(stderr, "ANCHOR_SIGNING_SECRET=") {
		t.Error("a secret leaked into anchor.yaml or the output")
	}
	// The config works with no edits.
	out, stderr, code := runCLI(t, context.Background(), nil, "config", "show", "--config", filepath.Join(dir, "anchor.yaml"))
	if code != 0 {
		t.Fatalf("config show: %d %s", code, stderr)
	}
	if !strings.Contains(out, `"localhost:8000"`) || !strings.Contains(out, "REDACTED") || !strings.Contains(out, "development") {
		t.Errorf("config show:\n%s", out)
	}
	for _, line := range strings.Split(string(secrets), "\n") {
		if _, v, ok := strings.Cut(line, "="); ok && strings.Contains(out, v) {
			t.Errorf("config show prints a secret")
		}
	}

	// It never overwrites.
	before, _ := os.ReadFile(filepath.Join(dir, "anchor.yaml"))
	_, stderr, code = runCLI(t, context.Background(), nil, "init", "--dir", dir)
	if code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: exit %d %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "anchor.yaml"))
	again, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	if string(before) != string(after) || string(again) != string(secrets) {
		t.Fatal("second init changed the files")
	}
}

func TestInitRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"init"},
		{"init", "--dir", t.TempDir(), "--network", "mainnet"},
		{"init", "--dir", t.TempDir(), "--home-domain", "https://x.example/"},
	} {
		_, stderr, code := runCLI(t, context.Background(), nil, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, stderr)
		}
	}
}

// TestInitPublicDomain: anchor init for the public network publishes nothing demo (no demo
// texts, no made-up bank, no generated issuer keys), and serve refuses until the operator has
// filled what it left empty, naming each; with everything filled the toml is the public one.
// --demo restores the demo content.
func TestInitPublicDomain(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, context.Background(), nil, "init", "--dir", dir, "--home-domain", "anchor.example.com", "--network", "public"); code != 0 || !strings.Contains(stderr, "TLS") {
		t.Fatalf("init: %d %s", code, stderr)
	}
	cfgPath := filepath.Join(dir, "anchor.yaml")
	yaml, _ := os.ReadFile(cfgPath)
	secrets, _ := os.ReadFile(filepath.Join(dir, "secrets.env"))
	for _, demo := range []string{"Demo", "demo", "operator@example.com", "121122676"} {
		if strings.Contains(string(yaml), demo) {
			t.Errorf("anchor.yaml for the public network contains %q", demo)
		}
	}
	if strings.Contains(string(secrets), "\nANCHOR_ISSUER_SECRET=") || strings.Contains(string(secrets), "\nANCHOR_DISTRIBUTION_SECRET=") {
		t.Error("init generated issuer keys for the public network")
	}
	_, stderr, code := runCLI(t, context.Background(), nil, "serve", "--config", cfgPath)
	for _, key := range []string{"documentation.org_name", "documentation.org_official_email", "assets[0].issuer", "instructions"} {
		if code == 0 || !strings.Contains(stderr, key) {
			t.Errorf("serve before the public config is filled: exit %d, %q does not name %s", code, stderr, key)
		}
	}
	issuer := keypair.MustRandom().Address()
	env := map[string]string{"ANCHOR_DOCUMENTATION_ORG_NAME": "Real Anchor Ltd", "ANCHOR_DOCUMENTATION_ORG_URL": "https://anchor.example.com",
		"ANCHOR_DOCUMENTATION_ORG_OFFICIAL_EMAIL": "ops@anchor.example.com"}
	filled := strings.NewReplacer("issuer: \n", "issuer: "+issuer+"\n", `value: ""`, `value: "123"`).Replace(string(yaml))
	os.WriteFile(cfgPath, []byte(filled), 0o644)
	out, stderr, code := runCLI(t, context.Background(), env, "toml", "generate", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "https://anchor.example.com/auth") || !strings.Contains(out, "Public Global Stellar Network") {
		t.Fatalf("toml for a filled public config: %d %s\n%s", code, stderr, out)
	}
	demoDir := t.TempDir()
	if _, stderr, code := runCLI(t, context.Background(), nil, "init", "--dir", demoDir, "--home-domain", "anchor.example.com", "--network", "public", "--demo"); code != 0 {
		t.Fatal(stderr)
	}
	if y, _ := os.ReadFile(filepath.Join(demoDir, "anchor.yaml")); !strings.Contains(string(y), "Demo Anchor") {
		t.Error("--demo wrote no demo content")
	}
}

func TestConfigShowJSONAndBadConfig(t *testing.T) {
	dir, _ := initAnchor(t)
	cfg := filepath.Join(dir, "anchor.yaml")
	out, _, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_LISTEN": "127.0.0.1:9999"}, "config", "show", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(out, `"key": "listen"`) || !strings.Contains(out, `"source": "env"`) || !strings.Contains(out, `"value": "REDACTED"`) {
		t.Fatalf("config show --json: %d\n%s", code, out)
	}
	_, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_NETWORK": "moon"}, "serve", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "config: network:") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("serve with a bad network: exit %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, context.Background(), nil, "serve", "--config", filepath.Join(dir, "missing.yaml"))
	if code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Fatalf("serve with a missing config: exit %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, context.Background(), nil, "serve", "--bogus")
	if code != ExitUsage || !strings.Contains(stderr, "Try:") {
		t.Fatalf("unknown flag: exit %d %q", code, stderr)
	}
}

func TestHelpHasNoSecrets(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"init", "--help"}, {"toml", "validate", "--help"}, {"config", "show", "--help"}} {
		out, _, code := runCLI(t, context.Background(), nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d", args, code)
		}
		if strings.Contains(strings.ToLower(out), "--signing-secret") || strings.Contains(strings.ToLower(out), "--jwt-secret") {
			t.Errorf("%v: a secret is settable by flag", args)
		}
	}
}
