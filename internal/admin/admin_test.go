package admin

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
)

func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ln, err := Listen(path, false)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if _, err := Listen(path, false); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v", err)
	}
	ln.Close()
	// A stale socket file (no server) is replaced.
	os.WriteFile(path, nil, 0o600)
	ln, err = Listen(path, false)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
	if _, err := Listen("/"+strings.Repeat("d", 120)+"/admin.sock", false); err == nil || !strings.Contains(err.Error(), "shorter data_dir") {
		t.Fatalf("long path: %v", err)
	}
}

// TestStuckForParseError: a malformed stuck_for is a 400 naming it, not a silent "no filter".
func TestStuckForParseError(t *testing.T) {
	h := NewHandler(context.Background(), API{KYC: &kyc.Service{}, Transfers: &transfer.Service{}}, Roles{Compliance: -1, Treasury: -1, Operator: -1})
	for _, v := range []string{"banana", "-5m", "10"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tx?stuck_for="+v, nil))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "stuck_for") {
			t.Fatalf("stuck_for=%s: %d %s", v, rec.Code, rec.Body)
		}
	}
}
