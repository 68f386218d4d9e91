package cmd

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodeTable: one exit-code table for every command (docs/cli.md): 2 for every malformed
// argument wherever it appears, found before anything is touched; 3 when a dependency could not
// be reached; 1 when the command ran and found a problem.
func TestExitCodeTable(t *testing.T) {
	dir, _ := initAnchor(t)
	cfg := filepath.Join(dir, "anchor.yaml")
	id := "7c1e4f2a-1b2c-4d3e-8f90-0123456789ab"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kyc", "show", "not-an-id"}, "not a customer id"},
		{[]string{"kyc", "approve", "42"}, "not a customer id"},
		{[]string{"tx", "show", "x"}, "not a transaction id"},
		{[]string{"tx", "hold", "x", "--reason", "r"}, "not a transaction id"},
		{[]string{"tx", "refund", id, "--payment-id", "R", "--amount", "1e3"}, "--amount"},
		{[]string{"tx", "refund", id, "--payment-id", "R", "--fee", "-1"}, "--fee"},
		{[]string{"deposit", "received", id, "--amount", "abc", "--external-id", "W"}, "--amount"},
		{[]string{"deposit", "received", "x", "--amount", "1", "--external-id", "W"}, "not a transaction id"},
		{[]string{"withdraw", "received", id, "--amount", "1", "--stellar-tx", "zz"}, "--stellar-tx"},
		{[]string{"withdraw", "received", id, "--amount", "0", "--stellar-tx", strings.Repeat("a", 64)}, "--amount"},
		{[]string{"withdraw", "paid", "x", "--external-id", "W"}, "not a transaction id"},
		{[]string{"credit", "x"}, "not a transaction id"},
		{[]string{"credit", "--to", "GABC", "--amount", "1"}, "--to"},
		{[]string{"credit", "--to", "GAAGIHCRGLCXUDA75COWXZ74FNIM47QWCMJZAYHI45VAIUIZUVHNLIPR", "--amount", "1", "--memo", "abc"}, "--memo"},
		{[]string{"events", "list", "--limit", "-3"}, "--limit -3: give 1 to 1000"},
		{[]string{"events", "list", "--limit", "5000"}, "--limit 5000"},
		{[]string{"tx", "list", "--status", "done"}, "not a transaction status (incomplete, pending_user_transfer_start"},
		{[]string{"tx", "list", "--limit", "0"}, "--limit 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, context.Background(), nil, append(tc.args, "--config", cfg)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d %q, want 2 and %q", code, stderr, tc.want)
			}
		})
	}
	// A dependency that cannot be reached: 3.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{{"reconcile"}, {"account", "show", "distribution"}, {"toml", "validate", dead}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_HORIZON_URL": dead}, append(args, "--config", cfg)...)
			if code != 3 {
				t.Fatalf("exit %d %q, want 3 (unreachable)", code, stderr)
			}
		})
	}
}

// TestIDPrefixes: a unique prefix of a transaction or customer id is accepted wherever an id
// is (as the help examples show), through the server's socket and on the store.
func TestIDPrefixes(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	cid := w.putJSON(map[string]string{"first_name": "A", "last_name": "B", "email_address": "a@example.com"}).JSON(t)["id"].(string)
	var tids []string
	for i := 0; i < 3; i++ {
		tids = append(tids, w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string))
	}
	for _, server := range []bool{true, false} {
		if !server {
			s.Stop(t)
		}
		if out, stderr, code := kycCLI(t, dir, "tx", "show", tids[0][:8]); code != 0 || !strings.Contains(out, tids[0]) {
			t.Fatalf("server=%v tx show prefix: %d %s %s", server, code, out, stderr)
		}
		if out, stderr, code := kycCLI(t, dir, "kyc", "show", cid[:6]+"..."); code != 0 || !strings.Contains(out, cid) {
			t.Fatalf("server=%v kyc show prefix: %d %s %s", server, code, out, stderr)
		}
	}
}
