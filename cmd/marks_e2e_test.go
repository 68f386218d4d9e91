package cmd

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// TestKill9KeepsChallengesSingleUse: a challenge exchanged for a token just before anchor serve
// is killed with SIGKILL (its mark possibly not yet on disk) is refused after the restart, and
// a new challenge is exchanged as usual.
func TestKill9KeepsChallengesSingleUse(t *testing.T) {
	dir, port := initAnchor(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	start := func() func() {
		c := anchorProcess("serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+strconv.Itoa(port))
		c.Env = append(c.Env, "ANCHOR_HORIZON_URL=none")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get(base + "/health"); err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				c.Process.Kill()
				t.Fatal("serve did not start")
			}
		}
		return func() { c.Process.Signal(syscall.SIGKILL); c.Wait() }
	}
	kp := keypair.MustRandom()
	signed := func() string {
		t.Helper()
		r := getChallenge(t, base, url.Values{"account": {kp.Address()}})
		tx, _ := r.JSON(t)["transaction"].(string)
		s, err := sep10.SignChallenge(tx, network.TestNetworkPassphrase, kp)
		if err != nil {
			t.Fatalf("challenge: %v %s", err, r.Body)
		}
		return s
	}
	kill := start()
	used := signed()
	if r := postJSON(t, base, used); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	kill() // at once: the mark may still be in memory only
	kill = start()
	defer kill()
	r := postJSON(t, base, used)
	if r.Status != 400 || !(strings.Contains(string(r.Body), "already been used") || strings.Contains(string(r.Body), "before the server restarted")) {
		t.Fatalf("the challenge again after a SIGKILL: %d %s", r.Status, r.Body)
	}
	time.Sleep(1100 * time.Millisecond) // challenges of the restart's own second are refused too
	if r := postJSON(t, base, signed()); r.Status != 200 {
		t.Fatalf("a new challenge after the restart: %d %s", r.Status, r.Body)
	}
}

// TestRefusedChallengeCanBeSentAgain: a challenge refused for its signatures, or because
// Horizon could not be read, is not spent: the wallet sends it again, signed as it should be,
// and gets its token; then it is spent. On PostgreSQL a known account's challenge is marked
// while the signatures are read and checked, and the mark is taken back when they fail.
func TestRefusedChallengeCanBeSentAgain(t *testing.T) {
	hz := standin.New()
	defer hz.Close()
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": hz.URL(), "ANCHOR_MODE": "production"})
	d := discover(t, s)
	master, cosigner := keypair.MustRandom(), keypair.MustRandom()
	hz.CreateAccount(master.Address(), 1, [3]byte{0, 2, 2}, standin.Signer{Key: cosigner.Address(), Weight: 1})
	challenge := func() string {
		r := getChallenge(t, s.URL, url.Values{"account": {master.Address()}})
		if r.Status != 200 {
			t.Fatalf("challenge: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["transaction"].(string)
	}
	// A first sign-in records the account (its mode): the next ones are marked early.
	if r := postJSON(t, s.URL, walletSign(t, d, challenge(), master, cosigner)); r.Status != 200 {
		t.Fatalf("first sign-in: %d %s", r.Status, r.Body)
	}
	tx := challenge()
	if r := postJSON(t, s.URL, walletSign(t, d, tx, master)); r.Status != 400 || !strings.Contains(string(r.Body), "threshold") {
		t.Fatalf("one key of two: %d %s", r.Status, r.Body)
	}
	hz.FailWith(http.StatusInternalServerError)
	if r := postJSON(t, s.URL, walletSign(t, d, tx, master, cosigner)); r.Status != 503 {
		t.Fatalf("Horizon failing: %d %s", r.Status, r.Body)
	}
	hz.FailWith(0)
	if r := postJSON(t, s.URL, walletSign(t, d, tx, master, cosigner)); r.Status != 200 {
		t.Fatalf("the same challenge signed by both keys: %d %s", r.Status, r.Body)
	}
	if r := postJSON(t, s.URL, walletSign(t, d, tx, master, cosigner)); r.Status != 400 || !strings.Contains(string(r.Body), "already been used") {
		t.Fatalf("replayed: %d %s", r.Status, r.Body)
	}
}
