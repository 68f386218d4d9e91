package iostreams

import "testing"

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Jane Doe":      "Jane Doe",
		"Zoë Ångström":  "Zoë Ångström",
		"a\nb":          `a\x0ab`,
		"a\rb":          `a\x0db`,
		"\x1b[2J":       `\x1b[2J`,
		"\x1b]0;t\x07":  `\x1b]0;t\x07`,
		"a\u202eb":      `a\u202eb`,
		"a\u0085b":      `a\u0085b`,
		"back\\slash":   `back\\slash`,
		"bad\xffutf8":   `bad\xffutf8`,
		"tab\there\x7f": `tab\x09here\x7f`,
		"":              "",
	} {
		if got := Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}
