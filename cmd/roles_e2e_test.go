package cmd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/views"
)

// osUser is a real OS identity (uid, primary gid, supplementary groups) a CLI process runs as.
type osUser struct {
	uid, gid uint32
	groups   []uint32
}

// runAs runs this test binary as `anchor` under u, in dir.
func runAs(t *testing.T, bin, dir string, u osUser, args ...string) (string, string, int) {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Dir = dir
	c.Env = []string{"ANCHOR_TEST_MAIN=1", "PATH=/usr/bin:/bin", "HOME=/"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestE2EAdminRolesWithTwoOSUsers: with admin groups configured, two real OS users (not root)
// reach the running server's admin socket. Each request is judged by the kernel's peer
// credentials: the compliance officer may read and decide KYC but not move a transaction; the
// operator may move a transaction but not decide KYC; a user in no group may not even read. The
// audit trail records the OS user, with --by only as a note.
func TestE2EAdminRolesWithTwoOSUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run processes as two other OS users (setuid); run make test as root, as CI does")
	}
	dir, port := initAnchor(t)
	// Let other users reach the config (the secrets file stays 0600: these commands need none).
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "anchor")
	copyFile(t, os.Args[0], bin, 0o755)
	env := map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_ADMIN_COMPLIANCE_GROUP": "4201", "ANCHOR_ADMIN_OPERATOR_GROUP": "4203"}
	s := startServe(t, dir, port, env)
	if fi, err := os.Stat(filepath.Join(dir, "data", "admin.sock")); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	w := newWallet(t, s, nil)
	cid := w.putJSON(map[string]string{"first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"}).JSON(t)["id"].(string)
	tid := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)

	alice := osUser{uid: 4101, gid: 4101, groups: []uint32{4201}} // compliance
	bob := osUser{uid: 4102, gid: 4102, groups: []uint32{4203}}   // operator
	eve := osUser{uid: 4103, gid: 4103}                           // no group
	cfg := filepath.Join(dir, "anchor.yaml")

	if out, stderr, code := runAs(t, bin, dir, alice, "kyc", "list", "--config", cfg); code != 0 || !strings.Contains(out, cid) {
		t.Fatalf("compliance reads: %d %s %s", code, out, stderr)
	}
	if _, stderr, code := runAs(t, bin, dir, eve, "kyc", "list", "--config", cfg); code != 1 || !strings.Contains(stderr, "uid 4103 is in none of the admin groups") {
		t.Fatalf("no group reads: %d %s", code, stderr)
	}
	if _, stderr, code := runAs(t, bin, dir, bob, "kyc", "approve", cid, "--config", cfg); code != 1 || !strings.Contains(stderr, "admin.compliance_group") {
		t.Fatalf("operator decides KYC: %d %s", code, stderr)
	}
	if _, stderr, code := runAs(t, bin, dir, alice, "tx", "hold", tid, "--reason", "check", "--config", cfg); code != 1 || !strings.Contains(stderr, "admin.operator_group") {
		t.Fatalf("compliance moves a transaction: %d %s", code, stderr)
	}
	if _, stderr, code := runAs(t, bin, dir, alice, "kyc", "approve", cid, "--by", "Alice Smith", "--config", cfg); code != 0 {
		t.Fatalf("compliance approves: %d %s", code, stderr)
	}
	if _, stderr, code := runAs(t, bin, dir, bob, "tx", "hold", tid, "--reason", "check", "--config", cfg); code != 0 {
		t.Fatalf("operator holds: %d %s", code, stderr)
	}
	// API keys are the server's own user's (and root's) to make: a key of any role carries
	// power no group member should mint for themselves.
	for _, u := range []osUser{alice, bob} {
		if out, stderr, code := runAs(t, bin, dir, u, "apikey", "create", "--name", "mine", "--role", "treasury", "--config", cfg); code != 1 || out != "" || !strings.Contains(stderr, "may not manage API keys") {
			t.Fatalf("uid %d creates a key: %d %q %s", u.uid, code, out, stderr)
		}
		if _, stderr, code := runAs(t, bin, dir, u, "apikey", "list", "--config", cfg); code != 1 || !strings.Contains(stderr, "may not manage API keys") {
			t.Fatalf("uid %d lists keys: %d %s", u.uid, code, stderr)
		}
	}
	// The record names the OS users the kernel reported, whatever --by said.
	out, _, _ := kycCLI(t, dir, "kyc", "show", cid, "--json")
	var c views.Customer
	json.Unmarshal([]byte(out), &c)
	if last := c.History[len(c.History)-1]; last.Action != "approve" || last.By != "uid 4101 (--by Alice Smith)" {
		t.Fatalf("approval recorded as %+v", last)
	}
	out, _, _ = kycCLI(t, dir, "tx", "show", tid, "--json")
	var d views.TxDetail
	json.Unmarshal([]byte(out), &d)
	if last := d.Transaction.History[len(d.Transaction.History)-1]; last.To != "on_hold" || last.Actor != "uid 4102" {
		t.Fatalf("hold recorded as %+v", last)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestE2ETwoPersonRuleWithTwoOSUsers: with treasury.approval_threshold set, a credit and an
// ad-hoc payment above it, asked for by one OS user of the treasury group, are proposed (exit 0,
// nothing paid); that user cannot approve them, under any --by; a second OS user's approval pays
// each exactly once, and approving again pays nothing more.
func TestE2ETwoPersonRuleWithTwoOSUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run processes as two other OS users (setuid); run make test as root, as CI does")
	}
	tf := newTreasuryFixture(t, "10000")
	dir, hz := tf.dir, tf.hz
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "anchor.yaml")
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "approval_threshold: {}", `approval_threshold: {USDX: "10"}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "anchor")
	copyFile(t, os.Args[0], bin, 0o755)
	u := keypair.MustRandom()
	tf.hc.Fund(u.Address())
	submitTx(t, tf.hc, u, &txnbuild.ChangeTrust{Line: tf.ct, Limit: "100000"})
	env := map[string]string{"ANCHOR_HORIZON_URL": hz.URL(), "ANCHOR_KYC_AUTO_APPROVE": "true", "ANCHOR_ADMIN_TREASURY_GROUP": "4202"}
	s := startServe(t, dir, tf.port, env)
	w := signedInWallet(t, s, u)
	w.putJSON(map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com"})
	id := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}}).JSON(t)["id"].(string)
	if _, stderr, code := kycCLI(t, dir, "deposit", "received", id, "--amount", "20", "--external-id", "W-20"); code != 0 {
		t.Fatal(stderr)
	}
	alice := osUser{uid: 4111, gid: 4111, groups: []uint32{4202}}
	bob := osUser{uid: 4112, gid: 4112, groups: []uint32{4202}}
	paid := func(amount int64) int {
		n := 0
		for _, p := range hz.Payments() {
			if p.From == tf.dist.Address() && p.To == u.Address() && p.Amount == amount {
				n++
			}
		}
		return n
	}
	run := func(who osUser, args ...string) (string, string, int) {
		t.Helper()
		return runAs(t, bin, dir, who, append(args, "--config", cfg)...)
	}
	if out, stderr, code := run(alice, "credit", id); code != 0 || !strings.Contains(out, "proposed by uid 4111") || !strings.Contains(out, "anchor approve credit/"+id) {
		t.Fatalf("credit above the threshold: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := run(alice, "credit", "--to", u.Address(), "--amount", "50", "--ref", "big-one"); code != 0 || !strings.Contains(out, "proposed") {
		t.Fatalf("payment above the threshold: %d %s %s", code, out, stderr)
	}
	if paid(20_0000000) != 0 || paid(50_0000000) != 0 {
		t.Fatal("a proposal moved money")
	}
	out, _, code := run(bob, "approvals", "list", "--json")
	var props []views.Proposal
	if err := json.Unmarshal([]byte(out), &props); code != 0 || err != nil || len(props) != 2 || props[0].ID != "credit/"+id || props[0].Amount != "20.0000000" || props[0].State != "proposed" {
		t.Fatalf("approvals list: %d %s", code, out)
	}
	payID := props[1].ID
	if _, stderr, code := run(alice, "approve", "credit/"+id, "--by", "Bob"); code != 1 || !strings.Contains(stderr, "another OS user") {
		t.Fatalf("self-approval: %d %s", code, stderr)
	}
	if out, stderr, code := runAs(t, bin, dir, bob, "__complete", "--config", cfg, "approve", ""); code != 0 || !strings.Contains(out, "credit/"+id) || !strings.Contains(out, payID) {
		t.Fatalf("completion of action ids: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := run(bob, "approve", "credit/"+id[:8], "--dry-run"); code != 0 || !strings.Contains(out, "dry run") || paid(20_0000000) != 0 {
		t.Fatalf("approve --dry-run: %d %s %s", code, out, stderr)
	}
	for i := 0; i < 2; i++ {
		if out, stderr, code := run(bob, "approve", "credit/"+id); code != 0 || !strings.Contains(out, "confirmed") {
			t.Fatalf("approve %d: %d %s %s", i, code, out, stderr)
		}
		if out, stderr, code := run(bob, "approve", payID); code != 0 || !strings.Contains(out, "confirmed") {
			t.Fatalf("approve payment %d: %d %s %s", i, code, out, stderr)
		}
	}
	if paid(20_0000000) != 1 || paid(50_0000000) != 1 {
		t.Fatalf("payments: credit %d, ad-hoc %d", paid(20_0000000), paid(50_0000000))
	}
	if tx := w.tx(id); tx["status"] != "completed" {
		t.Fatalf("deposit %v", tx["status"])
	}
	out, _, _ = kycCLI(t, dir, "approvals", "list", "--all", "--json")
	if !strings.Contains(out, `"approved_by": "uid 4112"`) || !strings.Contains(out, `"proposed_by": "uid 4111"`) {
		t.Fatalf("approvals list --all: %s", out)
	}
}
