package transfer

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestEveryIllegalMoveIsRefused: for each kind and each pair of statuses not in the state
// machine, MoveTo refuses, names the allowed moves, and changes nothing.
func TestEveryIllegalMoveIsRefused(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	illegal, legal := 0, 0
	for _, kind := range []Kind{Deposit, Withdrawal} {
		for _, from := range Statuses {
			for _, to := range Statuses {
				name := fmt.Sprintf("%s/%s->%s", kind, from, to)
				tx := &Transaction{ID: "t", Kind: kind, Status: from}
				err := tx.MoveTo(to, "test", "", now)
				if slices.Contains(Allowed(kind, from), to) {
					legal++
					if err != nil || tx.Status != to || len(tx.History) != 1 || tx.History[0].From != from || tx.History[0].Actor != "test" {
						t.Errorf("%s: legal move failed: %v", name, err)
					}
					continue
				}
				illegal++
				t.Run(name, func(t *testing.T) {
					if !errors.Is(err, ErrIllegalMove) {
						t.Fatalf("err %v", err)
					}
					if tx.Status != from || len(tx.History) != 0 {
						t.Fatal("a refused move changed the transaction")
					}
				})
			}
		}
	}
	if illegal < 500 || legal < 50 {
		t.Fatalf("%d illegal, %d legal moves", illegal, legal)
	}
}

func TestKindSpecificStatuses(t *testing.T) {
	if slices.Contains(Allowed(Withdrawal, PendingAnchor), PendingTrust) {
		t.Error("a withdrawal may wait for a trustline")
	}
	if slices.Contains(Allowed(Deposit, PendingAnchor), PendingUserTransferComplete) {
		t.Error("a deposit may wait for a pickup")
	}
	for _, s := range []Status{Completed, Refunded, Expired} {
		if !Terminal(s) {
			t.Errorf("%s is not final", s)
		}
	}
}

func TestHoldAndCompletion(t *testing.T) {
	now := time.Now()
	tx := &Transaction{Kind: Deposit, Status: PendingAnchor}
	if err := tx.MoveTo(OnHold, "ops", "review", now); err != nil || tx.HeldFrom != PendingAnchor {
		t.Fatalf("%v %s", err, tx.HeldFrom)
	}
	tx.MoveTo(PendingAnchor, "ops", "", now)
	tx.MoveTo(Completed, "ops", "", now)
	if tx.CompletedAt == nil {
		t.Fatal("completed_at not set")
	}
}

func TestAmounts(t *testing.T) {
	for in, want := range map[string]int64{"1": 10_000_000, "0.0000001": 1, "100.5": 1_005_000_000} {
		if v, err := ParseAmount(in); err != nil || v != want {
			t.Errorf("%s: %d %v", in, v, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1.00000001", "1e3", "abc", " 1", "+1"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	cases := []struct {
		amount, fixed int64
		pct           string
		want          int64
	}{
		{100_000_000, 0, "1", 1_000_000},           // 1% of 10
		{100_000_000, 5_000_000, "0.5", 5_500_000}, // 0.5 + 0.5%
		{1, 0, "1", 1}, // rounds up to a stroop
		{9_000_000_000_000_000_000, 0, "100", 9_000_000_000_000_000_000},
	}
	for _, c := range cases {
		if got, err := Fee(c.amount, c.fixed, c.pct); err != nil || got != c.want {
			t.Errorf("Fee(%d, %d, %s) = %d %v, want %d", c.amount, c.fixed, c.pct, got, err, c.want)
		}
	}
}

// TestFeeTakesWhatConfigAccepts: every fee_percent the configuration accepts computes a fee
// (one parser for both), and what it refuses never reaches Fee.
func TestFeeTakesWhatConfigAccepts(t *testing.T) {
	for _, p := range []string{"0", "1", "0.5", "2.1234567", "100", "099.9"} {
		if _, err := Fee(1_000_000_000, 0, p); err != nil {
			t.Errorf("fee_percent %q: %v", p, err)
		}
	}
	for _, p := range []string{"1/2", "1e-1", "0.12345678", "-1"} {
		if _, err := Fee(1_000_000_000, 0, p); err == nil {
			t.Errorf("fee_percent %q computed a fee", p)
		}
	}
}
