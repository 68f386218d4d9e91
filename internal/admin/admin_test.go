package admin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v", err)
	}
	ln.Close()
	// A stale socket file (no server) is replaced.
	os.WriteFile(path, nil, 0o600)
	ln, err = Listen(path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
	if _, err := Listen("/" + strings.Repeat("d", 120) + "/admin.sock"); err == nil || !strings.Contains(err.Error(), "shorter data_dir") {
		t.Fatalf("long path: %v", err)
	}
}
