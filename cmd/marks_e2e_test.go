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
