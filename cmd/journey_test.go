package cmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestREADMEOfflineJourney runs examples/offline-journey.sh, the script README.md shows, with
// this binary as anchor: init, the Horizon stand-in, serve, and then the wallet (login, trust,
// KYC), compliance, a deposit credited, a withdrawal paid on-chain and seen by the watcher, the
// burn and a green reconcile — no code written, every step a command.
func TestREADMEOfflineJourney(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash (Debian package bash)")
	}
	script, err := filepath.Abs("../examples/offline-journey.sh")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(script)
	readme, _ := os.ReadFile("../README.md")
	_, rest, _ := strings.Cut(string(body), "set -euo pipefail\n")
	if !strings.Contains(string(readme), rest) {
		t.Fatal("README.md does not show examples/offline-journey.sh as it is (from set -euo pipefail on)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	copyFile(t, os.Args[0], filepath.Join(bin, "anchor"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", script)
	c.Dir = dir
	c.Env = append(os.Environ(), "ANCHOR_TEST_MAIN=1", "PATH="+bin+":"+os.Getenv("PATH"),
		"PORT="+strconv.Itoa(freePort(t)), "HORIZON_PORT="+strconv.Itoa(freePort(t)))
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "demo", "anchor.log"))
		t.Fatalf("the journey failed: %v\n%s\n--- anchor.log\n%s", err, out.String(), log)
	}
	if fi, err := os.Stat(filepath.Join(dir, "demo", "anchor-wallet.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("wallet file: %v %v (want mode 0600: it holds the key)", fi, err)
	}
	for _, want := range []string{"signed in to localhost:", "deposit completed", "withdrawal pending_anchor", "withdrawal completed", "burn burn-withdrawals/", ": balanced"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the journey's output lacks %q:\n%s", want, out.String())
		}
	}
}
