package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when docs/cli, docs/config-keys.md, docs/page-texts.md or
// docs/openapi.json no longer match the code;
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
	for _, name := range []string{"config-keys.md", "page-texts.md", "openapi.json"} {
		got, _ := os.ReadFile(filepath.Join(tmp, "..", name))
		want, _ := os.ReadFile(filepath.Join("..", "docs", name))
		if string(got) != string(want) {
			t.Errorf("docs/%s is out of date; run make docs", name)
		}
	}
}
