package cmd

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestE2EMoreInfoURL: a SEP-6 deposit's more_info_url, as a real anchor serve gives it, opens
// the transaction's status page in a browser without the wallet's session: the status and the
// bank reference, in the language the wallet asked for; an altered link opens nothing.
func TestE2EMoreInfoURL(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	w := newWallet(t, s, nil)
	if r := w.putJSON(map[string]string{"type": "sep6-deposit", "first_name": "Ada", "last_name": "L", "email_address": "ada@example.com"}); r.Status != 202 {
		t.Fatalf("PUT /customer: %d %s", r.Status, r.Body)
	}
	dep := w.sep6("/deposit", url.Values{"asset_code": {"USDX"}, "lang": {"es"}})
	if dep.Status != 200 {
		t.Fatalf("deposit: %d %s", dep.Status, dep.Body)
	}
	id := dep.JSON(t)["id"].(string)
	tx := w.tx(id)
	link, _ := tx["more_info_url"].(string)
	if !strings.HasPrefix(link, s.URL+"/tx/"+id+"?") || !strings.Contains(link, "lang=es") {
		t.Fatalf("more_info_url %q", link)
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(link)
	ref := tx["instructions"].(map[string]any)["external_transfer_memo"].(map[string]any)["value"].(string)
	if code != 200 || !strings.Contains(body, "Esperando su pago") || !strings.Contains(body, ref) {
		t.Fatalf("the status page: %d\n%s", code, body)
	}
	if code, _ := get(strings.Replace(link, "token=", "token=x", 1)); code != 403 {
		t.Fatalf("an altered link: %d", code)
	}
	if code, css := get(s.URL + "/static/style.css"); code != 200 || !strings.Contains(css, "max-width") {
		t.Fatalf("stylesheet: %d", code)
	}
}
