package stellartoml

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func files(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "toml", dir, "*.toml"))
	if err != nil || len(fs) == 0 {
		t.Fatalf("no files in testdata/toml/%s", dir)
	}
	return fs
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidFiles(t *testing.T) {
	for _, f := range files(t, "valid") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if fs := Validate(read(t, f)); len(fs) != 0 {
				t.Fatalf("findings on a valid file: %v", fs)
			}
		})
	}
}

func TestWarningFiles(t *testing.T) {
	for _, f := range files(t, "warnings") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fs := Validate(read(t, f))
			if len(fs) == 0 || HasErrors(fs, false) || !HasErrors(fs, true) {
				t.Fatalf("want warnings only, got %v", fs)
			}
			golden(t, f, fs)
		})
	}
}

// TestInvalidFiles checks that each invalid file breaks exactly one rule: one error finding,
// whose key, line and message are in its golden file.
func TestInvalidFiles(t *testing.T) {
	fs := files(t, "invalid")
	if len(fs) < 25 {
		t.Fatalf("%d invalid files; want at least 25", len(fs))
	}
	for _, f := range fs {
		t.Run(filepath.Base(f), func(t *testing.T) {
			found := Validate(read(t, f))
			var errs []Finding
			for _, x := range found {
				if x.Severity == SeverityError {
					errs = append(errs, x)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %v", found)
			}
			if errs[0].Line == 0 && !strings.Contains(f, "too_large") {
				t.Errorf("error has no line: %v", errs[0])
			}
			golden(t, f, found)
		})
	}
}

func golden(t *testing.T, tomlPath string, fs []Finding) {
	t.Helper()
	path := strings.TrimSuffix(tomlPath, ".toml") + ".golden.json"
	got, _ := json.MarshalIndent(fs, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("findings differ from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestLineNumbers(t *testing.T) {
	data := []byte("VERSION = \"2.7.0\"\nNETWORK_PASSPHRASE = \"Test SDF Network ; September 2015\"\n\n[[CURRENCIES]]\ncode = \"A\"\nissuer = \"GBAD\"\n\n[[CURRENCIES]]\ncode = \"B\"\nissuer = \"GWORSE\"\n")
	fs := Validate(data)
	lines := map[string]int{}
	for _, f := range fs {
		lines[f.Key] = f.Line
	}
	if lines["CURRENCIES[0].issuer"] != 6 || lines["CURRENCIES[1].issuer"] != 10 {
		t.Fatalf("lines %v from %v", lines, fs)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	src := read(t, files(t, "valid")[0])
	m, err := Decode(src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if fs := Validate(out); len(fs) != 0 {
		t.Fatalf("re-encoded file has findings %v:\n%s", fs, out)
	}
	m2, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(m2)
	if string(a) != string(b) {
		t.Fatalf("round trip differs:\n%s\n%s", a, b)
	}
}

func FuzzValidate(f *testing.F) {
	for _, dir := range []string{"valid", "invalid", "warnings"} {
		paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "toml", dir, "*.toml"))
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			if len(b) < 8000 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := Validate(data)
		for _, x := range fs {
			if x.Severity != SeverityError && x.Severity != SeverityWarning {
				t.Fatalf("bad severity %q", x.Severity)
			}
		}
		_, _ = Decode(data)
	})
}

func TestEncodeQuoting(t *testing.T) {
	dd := 2
	in := &StellarTOML{Version: "2.7.0", Documentation: &Documentation{OrgName: "Quote \" back\\slash\ttab\nnl \x01 ünï"},
		Currencies: []Currency{{Code: "USD", Issuer: "GAAGIHCRGLCXUDA75COWXZ74FNIM47QWCMJZAYHI45VAIUIZUVHNLIPR", DisplayDecimals: &dd}}}
	out, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "'") {
		t.Errorf("literal strings in output:\n%s", out)
	}
	back, err := Decode(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if back.Documentation.OrgName != in.Documentation.OrgName || *back.Currencies[0].DisplayDecimals != 2 {
		t.Fatalf("round trip: %+v", back)
	}
}
