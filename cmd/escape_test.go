package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// TestHumanOutputEscapesOutsideText: text from wallets and the ledger (memos, names, reasons) is
// shown escaped in kyc list/show and tx list --unmatched: no newline forges a row, no escape
// sequence reaches the terminal, no carriage return hides a value.
func TestHumanOutputEscapesOutsideText(t *testing.T) {
	dir, _ := initAnchor(t)
	cfgPath := filepath.Join(dir, "anchor.yaml")
	cfg, err := config.Load(config.LoadOptions{File: cfgPath, Explicit: true, LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ks := &kyc.Service{Store: st, Config: cfg.KYC}
	forged := "1\nfake\tGFAKE\t\tsep6\tACCEPTED" // a valid text memo: 28 bytes at most
	id, err := ks.Put(ctx, kyc.Principal{Account: keypair.MustRandom().Address()}, &kyc.PutRequest{Memo: forged, MemoType: "text",
		Values: map[string]string{"first_name": "Mallory\rAlice\u202egnp.exe", "last_name": "D", "email_address": "m@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	st.TreasuryUpdate(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
		return o.PutUnmatched(&treasury.Unmatched{V: 1, PagingToken: "1", Account: "GDIST", From: "GFROM", Asset: "USDX:GI", Amount: "1",
			MemoType: "text", Memo: "x\n2026\tGEVIL\tUSDX\t999\x1b[2J", Reason: "unknown memo", At: time.Now()})
	})
	st.Close()
	check := func(args ...string) string {
		t.Helper()
		out, stderr, code := runCLI(t, ctx, nil, append(args, "--config", cfgPath)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		for i, r := range out {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("%v prints control character %q at %d:\n%q", args, r, i, out)
			}
		}
		return out
	}
	if out := check("kyc", "list"); strings.Count(out, "\n") != 2 || strings.Contains(out, "\nfake") {
		t.Fatalf("kyc list has a forged row:\n%s", out)
	}
	if out := check("kyc", "show", id); !strings.Contains(out, `Mallory\x0dAlice\u202egnp.exe`) {
		t.Fatalf("kyc show does not show the name escaped:\n%s", out)
	}
	if out := check("tx", "list", "--unmatched"); strings.Count(out, "\n") != 2 || !strings.Contains(out, `x\x0a2026\x09GEVIL`) {
		t.Fatalf("tx list --unmatched:\n%s", out)
	}
}
