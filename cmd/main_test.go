package cmd

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestMain lets tests run this binary as `anchor` (ANCHOR_TEST_MAIN=1), to exercise Main
// itself: signals and exit codes in a real process.
func TestMain(m *testing.M) {
	if os.Getenv("ANCHOR_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	storetest.Main(m)
}

func anchorProcess(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "ANCHOR_TEST_MAIN=1")
	return c
}

func TestProcessSIGTERMShutsDownGracefully(t *testing.T) {
	dir, port := initAnchor(t)
	c := anchorProcess("serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+strconv.Itoa(port))
	c.Env = append(c.Env, "ANCHOR_HORIZON_URL=none")
	var logs bytes.Buffer
	c.Stderr = &logs
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			t.Fatalf("server did not start: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestProcessExitCodes(t *testing.T) {
	c := anchorProcess("toml", "validate", filepath.Join("..", "testdata", "toml", "invalid", "signing_key_invalid.toml"))
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("invalid toml: %v", err)
	}
	if !strings.Contains(out.String(), "SIGNING_KEY") {
		t.Errorf("output %q", out.String())
	}
	c = anchorProcess("nonsense")
	var errOut bytes.Buffer
	c.Stderr = &errOut
	err = c.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || strings.Count(strings.TrimSpace(errOut.String()), "\n") > 1 {
		t.Fatalf("unknown command: %v %q", err, errOut.String())
	}
}

// TestE2ESigningKeyRotation: after a rotation, new challenges use the new key and challenges
// signed by the previous key are still exchanged for tokens, until that key is dropped.
func TestE2ESigningKeyRotation(t *testing.T) {
	dir, port := initAnchor(t)
	env := map[string]string{"ANCHOR_HORIZON_URL": "none"}
	s := startServe(t, dir, port, env)
	d := discover(t, s)
	oldKey := d.toml.SigningKey
	client := keypair.MustRandom()
	var oldChallenges []string
	for i := 0; i < 2; i++ {
		r := getChallenge(t, s.URL, url.Values{"account": {client.Address()}})
		oldChallenges = append(oldChallenges, walletSign(t, d, r.JSON(t)["transaction"].(string), client))
	}
	s.Stop(t)

	newKey := keypair.MustRandom()
	env["ANCHOR_SIGNING_SECRET"] = newKey.Seed()
	env["ANCHOR_PREVIOUS_SIGNING_KEYS"] = oldKey
	s = startServe(t, dir, port, env)
	d = discover(t, s)
	if d.toml.SigningKey != newKey.Address() {
		t.Fatalf("toml SIGNING_KEY %s, want the new key", d.toml.SigningKey)
	}
	if r := postJSON(t, s.URL, oldChallenges[0]); r.Status != 200 {
		t.Fatalf("challenge signed by the previous key: %d %s", r.Status, r.Body)
	}
	r := getChallenge(t, s.URL, url.Values{"account": {client.Address()}})
	if r := postJSON(t, s.URL, walletSign(t, d, r.JSON(t)["transaction"].(string), client)); r.Status != 200 {
		t.Fatalf("challenge signed by the new key: %d %s", r.Status, r.Body)
	}
	s.Stop(t)

	delete(env, "ANCHOR_PREVIOUS_SIGNING_KEYS")
	s = startServe(t, dir, port, env)
	if r := postJSON(t, s.URL, oldChallenges[1]); r.Status != 400 || !strings.Contains(string(r.Body), "signing key") {
		t.Fatalf("challenge of a dropped key: %d %s", r.Status, r.Body)
	}
}
