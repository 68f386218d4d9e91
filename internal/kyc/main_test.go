package kyc_test

import (
	"testing"

	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestMain stops the PostgreSQL cluster the tests start when ANCHOR_TEST_STORE=postgres.
func TestMain(m *testing.M) { storetest.Main(m) }
