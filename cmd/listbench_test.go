package cmd

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
)

// BenchmarkTxListProcess measures `anchor tx list --limit 50` as an operator runs it: a whole
// process (start, configuration, opening the store, the page, exit) on a store holding
// ANCHOR_BENCH_RECORDS transactions (default 1,000,000). It reports wall time per run and the
// process's peak RSS (issue 12's goal: under 100 ms and 50 MB with a million).
func BenchmarkTxListProcess(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ANCHOR_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	if d := os.Getenv("ANCHOR_BENCH_DIR"); d != "" { // keep the store to look at it afterwards
		dir = d
	}
	init := exec.Command(os.Args[0], "init", "--dir", dir, "--home-domain", "localhost:8000", "--network", "testnet")
	init.Env = append(os.Environ(), "ANCHOR_TEST_MAIN=1")
	if out, err := init.CombinedOutput(); err != nil {
		b.Fatalf("init: %v %s", err, out)
	}
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-time.Duration(n) * time.Second)
	var id [16]byte
	for i := 0; i < n; i += 10_000 {
		err := st.TransferUpdate(context.Background(), func(tx transfer.Tx) error {
			for j := i; j < min(i+10_000, n); j++ {
				binary.BigEndian.PutUint64(id[8:], uint64(j))
				hexID := hex.EncodeToString(id[:])
				at := start.Add(time.Duration(j) * time.Second)
				amt := int64(j%5000+1) * 10_000_000
				t := &transfer.Transaction{V: 1, ID: hexID[:8] + "-" + hexID[8:12] + "-4" + hexID[13:16] + "-8" + hexID[17:20] + "-" + hexID[20:], Kind: transfer.Deposit,
					Status: transfer.Completed, Account: fmt.Sprintf("G%055d", j), AssetCode: "USDX", KYCType: "sep6-deposit",
					AmountIn: &amt, AmountOut: &amt, StartedAt: at, UpdatedAt: at, CompletedAt: &at, Reference: fmt.Sprintf("%019d", j)}
				if err := tx.Put(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	// The real binary, as operators run it (the test binary is larger and starts slower).
	bin := filepath.Join(dir, "anchor")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/anchorkit/anchor").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v %s", err, out)
	}
	// Peak RSS comes from /usr/bin/time (Debian package time): a child's own rusage would count
	// this benchmark's memory too, since Linux carries the pre-exec image's high-water mark over
	// (Go starts children with vfork).
	timeBin, _ := exec.LookPath("/usr/bin/time")
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args := []string{bin, "tx", "list", "--limit", "50", "--config", filepath.Join(dir, "anchor.yaml")}
		if timeBin != "" {
			args = append([]string{timeBin, "-f", "%M"}, args...)
		}
		c := exec.Command(args[0], args[1:]...)
		var errb bytes.Buffer
		c.Stderr = &errb
		if out, err := c.Output(); err != nil {
			b.Fatalf("tx list: %v %s %s", err, out, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64); timeBin != "" && err == nil && kb > peak {
			peak = kb
		}
	}
	if timeBin != "" {
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
	} else {
		b.Log("no /usr/bin/time (Debian package time): peak RSS not measured")
	}
	b.ReportMetric(float64(n), "records")
}
