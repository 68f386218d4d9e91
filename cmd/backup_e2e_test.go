package cmd

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestBackupUnderWriteLoad: a backup taken through the running server while deposits are being
// created holds every deposit acknowledged before it began; it restores (after its checksum and
// the store check), and a server on the restored store serves each of them to the wallet.
// Restoring over a database in use, or over an existing one without --force, is refused, and a
// damaged file is refused before anything is touched.
func TestBackupUnderWriteLoad(t *testing.T) {
	dir, port := initAnchor(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_WRITE_RATE_LIMIT": "0", "ANCHOR_SEP6_MAX_OPEN_TRANSACTIONS": "0"}
	s := startServe(t, dir, port, env)
	w := newWallet(t, s, nil)
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return runCLI(t, context.Background(), env, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
	}
	if storetest.Postgres() {
		// PostgreSQL is backed up with its own tools: anchor backup says so, writing nothing.
		out := filepath.Join(t.TempDir(), "anchor.tar")
		if _, stderr, code := cli("backup", "--out", out); code == 0 || !strings.Contains(stderr, "pg_dump") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("backup on PostgreSQL: exit %d, %q", code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatal("a refused backup wrote its file")
		}
		return
	}

	type ack struct {
		id string
		at time.Time
	}
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}})
			if r.Status != 200 {
				continue
			}
			id, _ := r.JSON(t)["id"].(string)
			mu.Lock()
			acks = append(acks, ack{id, time.Now()})
			mu.Unlock()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d deposits acknowledged", n)
		}
	}
	backup := filepath.Join(t.TempDir(), "anchor.tar")
	began := time.Now()
	if out, stderr, code := cli("backup", "--out", backup); code != 0 || !strings.Contains(out, "wrote "+backup) {
		t.Fatalf("backup: %d %s %s", code, out, stderr)
	}
	time.Sleep(50 * time.Millisecond) // writes go on after the backup too
	close(stop)
	<-done
	var before []string
	for _, a := range acks {
		if a.at.Before(began) {
			before = append(before, a.id)
		}
	}
	if len(before) < 50 || len(before) == len(acks) {
		t.Fatalf("%d acknowledged before the backup, %d in all: the load did not straddle it", len(before), len(acks))
	}

	// Refusals first: the server holds the live database; a damaged copy is refused.
	if _, stderr, code := cli("restore", backup); code != 1 || !strings.Contains(stderr, "in use") {
		t.Fatalf("restore over a database in use: %d %s", code, stderr)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.tar")
	raw, _ := os.ReadFile(backup)
	sum, _ := os.ReadFile(backup + ".sha256")
	raw[len(raw)/2] ^= 0xff
	os.WriteFile(damaged, raw, 0o600)
	os.WriteFile(damaged+".sha256", []byte(strings.Replace(string(sum), "anchor.tar", "damaged.tar", 1)), 0o600)
	restored := filepath.Join(t.TempDir(), "data")
	if _, stderr, code := cli("restore", damaged, "--data-dir", restored); code != 1 || !strings.Contains(stderr, "does not match its checksum") {
		t.Fatalf("restore a damaged file: %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(restored, "anchor.db")); err == nil {
		t.Fatal("a refused restore wrote a database")
	}
	if out, stderr, code := cli("store", "check"); code != 0 || !strings.Contains(out, "0 problem(s)") {
		t.Fatalf("store check through the server: %d %s %s", code, out, stderr)
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}

	if out, stderr, code := cli("restore", backup, "--data-dir", restored); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s %s", code, out, stderr)
	}
	if _, stderr, code := cli("restore", backup, "--data-dir", restored); code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("restore over an existing database: %d %s", code, stderr)
	}
	if out, stderr, code := cli("store", "check", "--data-dir", restored); code != 0 || !strings.Contains(out, "0 problem(s)") {
		t.Fatalf("store check of the restored store: %d %s %s", code, out, stderr)
	}
	env["ANCHOR_DATA_DIR"] = restored
	s = startServe(t, dir, port, env)
	w.base = s.URL + "/kyc"
	for _, id := range before {
		if tx := w.tx(id); tx["id"] != id {
			t.Fatalf("deposit %s acknowledged before the backup is not served after the restore: %v", id, tx)
		}
	}
}
