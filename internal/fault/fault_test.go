package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/anchorkit/anchor/internal/fault"
)

// TestNotFound: a service's not-found error is itself, is ErrNotFound, and is not another
// service's (two with one message stay two).
func TestNotFound(t *testing.T) {
	a, b := fault.NotFound("not found"), fault.NotFound("not found")
	wrapped := fmt.Errorf("reading: %w", a)
	if !errors.Is(wrapped, a) || !errors.Is(wrapped, fault.ErrNotFound) || errors.Is(wrapped, b) || a.Error() != "not found" {
		t.Fatal("NotFound identities")
	}
	var ie *fault.InputError
	if err := fmt.Errorf("x: %w", fault.Input("amount %q", "1x")); !errors.As(err, &ie) || ie.Msg != `amount "1x"` {
		t.Fatal(err)
	}
}
