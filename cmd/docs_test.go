package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when docs/cli or docs/config-keys.md no longer match the code;
// run `make docs` to refresh them.
func TestDocsUpToDate(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "cli")
	if _, stderr, code := runCLI(t, context.Background(), nil, "dev", "gen-docs", tmp); code != 0 {
		t.Fatal(stderr)
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		got, _ := os.ReadFile(filepath.Join(tmp, e.Name()))
		want, err := os.ReadFile(filepath.Join("..", "docs", "cli", e.Name()))
		if err != nil || string(got) != string(want) {
			t.Errorf("docs/cli/%s is out of date; run make docs", e.Name())
		}
	}
	got, _ := os.ReadFile(filepath.Join(tmp, "..", "config-keys.md"))
	want, _ := os.ReadFile(filepath.Join("..", "docs", "config-keys.md"))
	if string(got) != string(want) {
		t.Error("docs/config-keys.md is out of date; run make docs")
	}
}
