package cmd

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDevBenchHorizon: with --horizon the bench's servers read each round's account from a
// Horizon stand-in (so that the round's figures include the look-up), and every round succeeds;
// with --baseline the same rounds run against the baseline process (anchor dev sdk-auth) too,
// also with the look-up.
func TestDevBenchHorizon(t *testing.T) {
	out, err := anchorProcess("dev", "bench", "--horizon", "--baseline", "--modes", "round", "--clients", "2", "--duration", "1s").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	run := regexp.MustCompile(`round +clients=2 +(\d+) req/s .* errors=(\d+)`).FindSubmatch(out)
	looked := regexp.MustCompile(`horizon stand-in: (\d+) requests`).FindSubmatch(out)
	if run == nil || looked == nil {
		t.Fatalf("no run or no stand-in line in:\n%s", out)
	}
	rate, _ := strconv.Atoi(string(run[1]))
	requests, _ := strconv.Atoi(string(looked[1]))
	if string(run[2]) != "0" || rate == 0 {
		t.Fatalf("rounds failed:\n%s", out)
	}
	base := regexp.MustCompile(`round@sdk-auth +clients=2 +(\d+) req/s .* errors=(\d+)  server_cpu/req=`).FindSubmatch(out)
	if base == nil || string(base[2]) != "0" || string(base[1]) == "0" {
		t.Fatalf("no baseline run, or its rounds failed:\n%s", out)
	}
	baseRate, _ := strconv.Atoi(string(base[1]))
	// One look-up per round (1 s of rounds each); the server's own start reads a few more.
	if requests < (rate+baseRate)/2 {
		t.Fatalf("%d Horizon requests for about %d rounds:\n%s", requests, rate, out)
	}
}

// TestDevBenchRateRefused: a negative --rate, a --server-env that is not KEY=VALUE, or a
// --server-exe that does not exist is refused before any server starts, in one line.
func TestDevBenchRateRefused(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--rate", "-5", "--rate -5"},
		{"--server-env", "GOMAXPROCS", `--server-env "GOMAXPROCS": give KEY=VALUE`},
		{"--server-env", "=1", `--server-env "=1"`},
		{"--server-exe", "/nonexistent/anchor", `--server-exe: stat /nonexistent/anchor: no such file or directory`},
	} {
		_, stderr, code := runCLI(t, context.Background(), map[string]string{}, "dev", "bench", tc.flag, tc.value, "--modes", "deposit")
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("%s %s: exit %d: %q", tc.flag, tc.value, code, stderr)
		}
	}
}
