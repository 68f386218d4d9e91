package cmd

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/loadtest"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// TestJSONDocsListEveryField: docs/json.md lists exactly the fields of every view, each under
// the view's own heading, so the documented contract cannot drift from the code.
func TestJSONDocsListEveryField(t *testing.T) {
	b, err := os.ReadFile("../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]string{}
	var cur string
	row := regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			cur = h
			sections[cur] = []string{}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cur != "" {
			sections[cur] = append(sections[cur], m[1])
		}
	}
	types := map[string]any{
		"Tx": views.Tx{}, "TxMove": views.TxMove{}, "Refunds": views.Refunds{}, "RefundPayment": views.RefundPayment{},
		"TxDetail": views.TxDetail{}, "CustomerRow": views.CustomerRow{}, "Customer": views.Customer{},
		"CustomerData": views.CustomerData{}, "FieldState": views.FieldState{}, "File": views.File{},
		"KYCEvent": views.KYCEvent{}, "Tombstone": views.Tombstone{}, "Payment": views.Payment{},
		"Settlement": views.Settlement{}, "Report": views.Report{}, "AssetReport": treasury.AssetReport{},
		"Movement": treasury.Movement{}, "Account": views.Account{}, "Thresholds": views.Thresholds{},
		"AccountFlags": views.AccountFlags{}, "Balance": views.Balance{}, "AccountSigner": views.AccountSigner{},
		"ConfigShow": configShowJSON{}, "ConfigKey": configKeyJSON{}, "Finding": stellartoml.Finding{},
		"LoadResult": loadtest.Result{}, "Proposal": views.Proposal{}, "Op": views.Op{}, "APIKey": views.APIKey{},
		"Quote": views.Quote{}, "Webhook": views.Webhook{},
	}
	for name, v := range types {
		var fields []string
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				fields = append(fields, tag)
			}
			if strings.Contains(rt.Field(i).Tag.Get("json"), "omitempty") {
				t.Errorf("%s.%s is omitempty: a view always has every field", name, rt.Field(i).Name)
			}
		}
		doc, ok := sections[name]
		if !ok {
			t.Errorf("docs/json.md has no section ## %s", name)
			continue
		}
		for _, f := range fields {
			if !slices.Contains(doc, f) {
				t.Errorf("docs/json.md ## %s does not list %q", name, f)
			}
		}
		for _, f := range doc {
			if !slices.Contains(fields, f) {
				t.Errorf("docs/json.md ## %s lists %q, which %T does not have", name, f, v)
			}
		}
	}
}
