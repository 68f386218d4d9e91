package cmd

import (
	"bytes"
	"testing"
)

// TestJSONArrayMatchesWriteJSON: the streamed array is byte for byte what writeJSON writes for
// the slice (scripts parse either), for empty, single and longer lists and HTML-ish strings.
func TestJSONArrayMatchesWriteJSON(t *testing.T) {
	type row struct {
		ID   string            `json:"id"`
		N    *int              `json:"n"`
		Tags map[string]string `json:"tags,omitempty"`
	}
	one := 1
	for _, list := range [][]row{
		{},
		{{ID: "a"}},
		{{ID: "a", N: &one}, {ID: "<b&c>", Tags: map[string]string{"k": "v"}}, {ID: "d"}},
	} {
		var want, got bytes.Buffer
		if err := writeJSON(&want, list); err != nil {
			t.Fatal(err)
		}
		arr := jsonArray{w: &got}
		for _, r := range list {
			if err := arr.add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := arr.close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("streamed:\n%s\nwant:\n%s", got.String(), want.String())
		}
	}
}
