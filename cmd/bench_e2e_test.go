package cmd

import (
	"regexp"
	"strconv"
	"testing"
)

// TestDevBenchHorizon: with --horizon the bench's servers read each round's account from a
// Horizon stand-in (so that the round's figures include the look-up), and every round succeeds.
func TestDevBenchHorizon(t *testing.T) {
	out, err := anchorProcess("dev", "bench", "--horizon", "--modes", "round", "--clients", "2", "--duration", "1s").CombinedOutput()
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
	// One look-up per round (1 s of rounds); the server's own start reads a few more.
	if requests < rate/2 {
		t.Fatalf("%d Horizon requests for about %d rounds:\n%s", requests, rate, out)
	}
}
