package sep6

import (
	"encoding/json"
	"testing"

	"github.com/anchorkit/anchor/internal/config"
)

// TestBuildInfoReportsErrors: a configured number /info cannot render is an error at start-up,
// never an empty 200.
func TestBuildInfoReportsErrors(t *testing.T) {
	cfg := &config.Config{Assets: []config.Asset{{Code: "USDX", Deposit: config.Direction{Enabled: true, FeeFixed: "1/2", FundingMethods: []string{"WIRE"}}}}}
	if b, err := BuildInfo(cfg); err == nil {
		t.Fatalf("BuildInfo with fee_fixed 1/2: %s, want an error", b)
	}
	cfg.Assets[0].Deposit.FeeFixed = "0.50"
	b, err := BuildInfo(cfg)
	var info map[string]any
	if err != nil || json.Unmarshal(b, &info) != nil || info["deposit"] == nil {
		t.Fatalf("valid config: %s %v", b, err)
	}
}
