package cmd

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestE2EStoreCopyThenServeOnPostgres: an anchor that ran on bbolt is copied into PostgreSQL
// with anchor store copy (verified), a second copy is refused without --force, and anchor serve
// on the copy answers the same wallet, with the same token, about the same customer and deposit.
func TestE2EStoreCopyThenServeOnPostgres(t *testing.T) {
	if storetest.Postgres() {
		t.Skip("copies a bbolt store: runs in make test's bbolt pass")
	}
	target := pgtest.URL(t)
	dir, port := initAnchor(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": "none"}
	s := startServe(t, dir, port, env)
	w := newWallet(t, s, nil)
	if r := w.putJSON(map[string]string{"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com"}); r.Status != 202 {
		t.Fatalf("PUT /customer: %d %s", r.Status, r.Body)
	}
	dep := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}})
	if dep.Status != 200 {
		t.Fatalf("deposit: %d %s", dep.Status, dep.Body)
	}
	id, _ := dep.JSON(t)["id"].(string)
	s.Stop(t)

	cfg := filepath.Join(dir, "anchor.yaml")
	from := filepath.Join(dir, "data", "anchor.db")
	out, stderr, code := runCLI(t, context.Background(), env, "store", "copy", "--from", from, "--to", target, "--config", cfg)
	if code != 0 || !strings.Contains(out, "verified: every kind's count and checksum match") || !strings.Contains(stderr, "copied 1 transfers") {
		t.Fatalf("store copy: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, stderr, code := runCLI(t, context.Background(), env, "store", "copy", "--from", from, "--to", target, "--config", cfg); code == 0 || !strings.Contains(stderr, "--force") {
		t.Fatalf("a second copy without --force: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, context.Background(), env, "store", "copy", "--from", from, "--to", target, "--force", "--config", cfg); code != 0 {
		t.Fatalf("a second copy with --force: exit %d %s", code, stderr)
	}

	pg := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_DATABASE_URL": target}
	if out, stderr, code := runCLI(t, context.Background(), pg, "store", "check", "--config", cfg); code != 0 {
		t.Fatalf("store check on the copy: exit %d\n%s%s", code, out, stderr)
	}
	s = startServe(t, dir, port, pg)
	w.base = s.URL + "/kyc"
	if got := w.get(""); got["status"] == nil || got["id"] == nil {
		t.Fatalf("the customer on the copy: %v", got)
	}
	r := w.sep6("/transaction", url.Values{"id": {id}})
	if r.Status != 200 || !strings.Contains(string(r.Body), id) {
		t.Fatalf("the deposit on the copy: %d %s", r.Status, r.Body)
	}
}
