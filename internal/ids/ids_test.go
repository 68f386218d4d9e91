package ids

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	all := []string{"7c1e4f2a-1b2c-4d3e-8f90-0123456789ab", "7c1e9999-1b2c-4d3e-8f90-0123456789ab", "0b8f2c1e-0000-4000-8000-000000000000"}
	find := func(_ context.Context, prefix string, limit int) ([]string, error) {
		var out []string
		for _, id := range all {
			if strings.HasPrefix(id, prefix) && len(out) < limit {
				out = append(out, id)
			}
		}
		return out, nil
	}
	notFound := errors.New("not found")
	ctx := context.Background()
	for arg, want := range map[string]string{"0b8f": all[2], "0B8F2C1E...": all[2], "7c1e4": all[0], all[1]: all[1],
		"ffff0000-1111-4222-8333-444455556666": "ffff0000-1111-4222-8333-444455556666"} {
		if got, err := Resolve(ctx, arg, find, notFound); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
	if _, err := Resolve(ctx, "7c1e", find, notFound); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), all[0]) || !strings.Contains(err.Error(), all[1]) {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if _, err := Resolve(ctx, "abcd", find, notFound); !errors.Is(err, notFound) {
		t.Errorf("no match: %v", err)
	}
}
