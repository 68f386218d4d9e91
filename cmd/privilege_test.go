package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeastPrivilege: commands that need no secret run without any (a compliance officer's OS
// account cannot read secrets.env); those that need one name the key, the command and where it
// may come from; outside a configured directory the error says no configuration was found.
func TestLeastPrivilege(t *testing.T) {
	dir, _ := initAnchor(t)
	cfg := filepath.Join(dir, "anchor.yaml")
	// The secrets file is not readable by this user (simulated: it does not exist at all).
	if err := os.Rename(filepath.Join(dir, "secrets.env"), filepath.Join(dir, "secrets.env.elsewhere")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"kyc", "list"}, {"tx", "list"}, {"config", "show"}, {"tx", "list", "--unmatched"}} {
		if out, stderr, code := runCLI(t, context.Background(), nil, append(args, "--config", cfg)...); code != 0 {
			t.Errorf("%v without secrets: exit %d %s %s", args, code, out, stderr)
		}
	}
	for args, want := range map[string]string{"serve": "signing_secret", "toml generate": "signing_secret"} {
		_, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_HORIZON_URL": "none"}, append(strings.Fields(args), "--config", cfg)...)
		if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "anchor "+args) || !strings.Contains(stderr, "ANCHOR_SIGNING_SECRET") || strings.Count(stderr, "\n") > 1 {
			t.Errorf("%s without its secret: exit %d %q", args, code, stderr)
		}
	}
	// Outside a configured directory.
	wd, _ := os.Getwd()
	empty := t.TempDir()
	os.Chdir(empty)
	defer os.Chdir(wd)
	_, stderr, code := runCLI(t, context.Background(), nil, "kyc", "list")
	if code == 0 || !strings.Contains(stderr, "no configuration found") || !strings.Contains(stderr, "anchor init") {
		t.Errorf("kyc list outside a configured directory: exit %d %q", code, stderr)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a command without configuration created %d file(s) in the working directory", len(entries))
	}
}
