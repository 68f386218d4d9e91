package money

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 10_000_000, "0.5": 5_000_000, "1.2500000": 12_500_000,
		"0.0000001": 1, "922337203685.4775807": 9_223_372_036_854_775_807} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1/2", "1e-1", "1E2", "0.12345678", "-1", "+1", " 1", "1 ", ".5", "5.", "1.2.3", "0x10", "NaN", "Inf",
		"922337203685.4775808", "99999999999999999999"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "0.5", "1/2", "1e-1", "0.12345678", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("Parse(%q) = %d < 0", s, v)
		}
		if back, err := Parse(Format(v)); err != nil || back != v {
			t.Fatalf("round trip of %q: %d → %q → %d %v", s, v, Format(v), back, err)
		}
	})
}
