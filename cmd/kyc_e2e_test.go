package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/pkg/callbacksig"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// pngBytes is a tiny valid PNG header: enough for content sniffing.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")

// wallet is a SEP-10-authenticated client of a running anchor.
type wallet struct {
	t     *testing.T
	base  string
	kp    *keypair.Full
	token string
}

func newWallet(t *testing.T, s *anchorServer, memo *uint64) *wallet {
	t.Helper()
	d := discover(t, s)
	kp := keypair.MustRandom()
	c := &sep10.Client{Endpoint: d.toml.WebAuthEndpoint, ServerKey: d.toml.SigningKey, Network: d.toml.NetworkPassphrase, HomeDomain: d.homeDomain}
	token, err := c.Authenticate(context.Background(), kp.Address(), memo, kp)
	if err != nil {
		t.Fatalf("SEP-10: %v", err)
	}
	return &wallet{t: t, base: s.URL + "/kyc", kp: kp, token: token}
}

func (w *wallet) do(method, path, ctype string, body io.Reader) httpResult {
	w.t.Helper()
	return do(w.t, method, w.base+path, ctype, body, "Authorization", "Bearer "+w.token)
}

func (w *wallet) putJSON(fields map[string]string) httpResult {
	b, _ := json.Marshal(fields)
	return w.do("PUT", "/customer", "application/json", bytes.NewReader(b))
}

func (w *wallet) putForm(fields map[string]string) httpResult {
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	return w.do("PUT", "/customer", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

func (w *wallet) putMultipart(fields map[string]string, files map[string][]byte) httpResult {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, data := range files {
		fw, _ := mw.CreateFormFile(k, k+".png")
		fw.Write(data)
	}
	mw.Close()
	return w.do("PUT", "/customer", mw.FormDataContentType(), &buf)
}

func (w *wallet) uploadFile(data []byte) string {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "id.png")
	fw.Write(data)
	mw.Close()
	r := w.do("POST", "/customer/files", mw.FormDataContentType(), &buf)
	if r.Status != 200 {
		w.t.Fatalf("POST /customer/files: %d %s", r.Status, r.Body)
	}
	return r.JSON(w.t)["file_id"].(string)
}

func (w *wallet) get(query string) map[string]any {
	w.t.Helper()
	r := w.do("GET", "/customer?"+query, "application/json", nil)
	if r.Status != 200 {
		w.t.Fatalf("GET /customer?%s: %d %s", query, r.Status, r.Body)
	}
	return r.JSON(w.t)
}

// callbackReceiver records callbacks whose signature verifies with the anchor's SIGNING_KEY.
type callbackReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses map[string][]string // customer id → statuses received
	bad      int
}

func newCallbackReceiver(t *testing.T, signingKey string) *callbackReceiver {
	cr := &callbackReceiver{statuses: map[string][]string{}}
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cr.mu.Lock()
		defer cr.mu.Unlock()
		if err := callbacksig.Verify(r.Header.Get("Signature"), r.Host, body, signingKey, time.Now(), time.Minute); err != nil {
			cr.bad++
			w.WriteHeader(400)
			return
		}
		// SEP-12 callbacks carry the customer; SEP-6 ones {"transaction": ...}.
		var resp struct {
			ID, Status  string
			Transaction *struct{ ID, Status string }
		}
		json.Unmarshal(body, &resp)
		if resp.Transaction != nil {
			resp.ID, resp.Status = resp.Transaction.ID, resp.Transaction.Status
		}
		cr.statuses[resp.ID] = append(cr.statuses[resp.ID], resp.Status)
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *callbackReceiver) waitFor(t *testing.T, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		cr.mu.Lock()
		got := append([]string(nil), cr.statuses[id]...)
		bad := cr.bad
		cr.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d callbacks with a bad signature", bad)
		}
		for _, s := range got {
			if s == status {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s callback for %s (got %v)", status, id, cr.statuses[id])
}

func kycCLI(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, context.Background(), nil, append(args, "--config", filepath.Join(dir, "anchor.yaml"))...)
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func status(m map[string]any) string { s, _ := m["status"].(string); return s }

func TestE2EKYCWalletAndCompliance(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	if d.toml.KYCServer != s.URL+"/kyc" {
		t.Fatalf("KYC_SERVER %q", d.toml.KYCServer)
	}
	rcv := newCallbackReceiver(t, d.toml.SigningKey)
	person := map[string]string{"type": "sep6-deposit", "first_name": "Jane", "last_name": "Doe", "email_address": "jane@example.com"}

	for _, enc := range []string{"json", "form", "multipart"} {
		t.Run(enc, func(t *testing.T) {
			w := newWallet(t, s, nil)
			// Unknown customer: the fields the type needs; GET with a JSON content type and no body.
			m := w.get("type=sep6-deposit")
			if status(m) != "NEEDS_INFO" || m["fields"].(map[string]any)["first_name"] == nil || m["id"] != nil {
				t.Fatalf("unknown customer: %v", m)
			}
			if r := w.do("PUT", "/customer/callback", "application/json", strings.NewReader(`{"url":"`+rcv.URL+`"}`)); r.Status != 404 {
				t.Fatalf("callback before the customer exists: %d", r.Status)
			}
			var r httpResult
			switch enc {
			case "json":
				fields := map[string]string{"photo_id_front_file_id": w.uploadFile(pngBytes)}
				for k, v := range person {
					fields[k] = v
				}
				r = w.putJSON(fields)
			case "form":
				fields := map[string]string{"photo_id_front_file_id": w.uploadFile(pngBytes)}
				for k, v := range person {
					fields[k] = v
				}
				r = w.putForm(fields)
			case "multipart":
				r = w.putMultipart(person, map[string][]byte{"photo_id_front": pngBytes})
			}
			if r.Status != 202 {
				t.Fatalf("PUT: %d %s", r.Status, r.Body)
			}
			id := r.JSON(t)["id"].(string)
			if cb := w.do("PUT", "/customer/callback", "application/json", strings.NewReader(`{"url":"`+rcv.URL+`"}`)); cb.Status != 200 {
				t.Fatalf("PUT callback: %d %s", cb.Status, cb.Body)
			}
			m = w.get("type=sep6-deposit")
			pf, _ := m["provided_fields"].(map[string]any)
			if status(m) != "PROCESSING" || m["id"] != id || pf["photo_id_front"] == nil || pf["email_address"].(map[string]any)["status"] != "PROCESSING" {
				t.Fatalf("after PUT: %v", m)
			}
			files := w.do("GET", "/customer/files?customer_id="+id, "", nil).JSON(t)["files"].([]any)
			if len(files) != 1 || files[0].(map[string]any)["content_type"] != "image/png" {
				t.Fatalf("files %v", files)
			}

			// Compliance, while the server runs (through the admin socket).
			out, stderr, code := kycCLI(t, dir, "kyc", "list", "--status", "processing", "--json")
			if code != 0 || !strings.Contains(out, id) {
				t.Fatalf("kyc list: %d %s %s", code, out, stderr)
			}
			out, stderr, code = kycCLI(t, dir, "kyc", "approve", id, "--by", "alice", "--note", "documents checked")
			if code != 0 || !strings.Contains(out, "ACCEPTED") {
				t.Fatalf("kyc approve: %d %s %s", code, out, stderr)
			}
			m = w.get("id=" + id + "&type=sep6-deposit")
			if status(m) != "ACCEPTED" {
				t.Fatalf("after approval: %v", m)
			}
			// SEP-12: an accepted customer has no required field left (optional ones may show).
			for name, f := range asMap(m["fields"]) {
				if opt, _ := f.(map[string]any)["optional"].(bool); !opt {
					t.Fatalf("accepted customer still asked for %s", name)
				}
			}
			rcv.waitFor(t, id, "ACCEPTED")
			out, _, _ = kycCLI(t, dir, "kyc", "show", id, "--json")
			var detail struct {
				Files   []struct{ SHA256 string } `json:"files"`
				History []struct{ Action, By, Reason string }
			}
			if err := json.Unmarshal([]byte(out), &detail); err != nil {
				t.Fatalf("kyc show --json: %v\n%s", err, out)
			}
			last := detail.History[len(detail.History)-1]
			if len(detail.Files) != 1 || len(detail.Files[0].SHA256) != 64 || last.Action != "approve" || last.By != reviewer("alice") || last.Reason != "documents checked" {
				t.Fatalf("kyc show: %s", out)
			}
		})
	}

	t.Run("request-info and reject", func(t *testing.T) {
		w := newWallet(t, s, nil)
		id := w.putJSON(person).JSON(t)["id"].(string)
		if _, stderr, code := kycCLI(t, dir, "kyc", "request-info", id, "--field", "email_address", "--reason", "mailbox bounces", "--by", "bob"); code != 0 {
			t.Fatal(stderr)
		}
		m := w.get("type=sep6-deposit")
		pf := m["provided_fields"].(map[string]any)["email_address"].(map[string]any)
		if status(m) != "NEEDS_INFO" || m["fields"].(map[string]any)["email_address"] == nil || pf["status"] != "REJECTED" || pf["error"] != "mailbox bounces" {
			t.Fatalf("after request-info: %v", m)
		}
		if r := w.putJSON(map[string]string{"id": id, "email_address": "jane@work.example"}); r.Status != 202 {
			t.Fatalf("re-PUT: %d %s", r.Status, r.Body)
		}
		if m := w.get("type=sep6-deposit"); status(m) != "PROCESSING" {
			t.Fatalf("after resubmission: %v", m)
		}
		if _, stderr, code := kycCLI(t, dir, "kyc", "reject", id, "--reason", "sanctions list", "--by", "bob"); code != 0 {
			t.Fatal(stderr)
		}
		if m := w.get("type=sep6-deposit"); status(m) != "REJECTED" || m["message"] != "sanctions list" {
			t.Fatalf("after reject: %v", m)
		}
		if _, stderr, code := kycCLI(t, dir, "kyc", "reject", id); code != ExitUsage {
			t.Fatalf("reject without --reason: %d %s", code, stderr)
		}
		if _, stderr, code := kycCLI(t, dir, "kyc", "approve", "7c1e4f2a-1b2c-4d3e-8f90-0123456789ab"); code != 1 || !strings.Contains(stderr, "not found") {
			t.Fatalf("approve unknown: %d %s", code, stderr)
		}
	})

	t.Run("types are per customer type", func(t *testing.T) {
		w := newWallet(t, s, nil)
		id := w.putJSON(person).JSON(t)["id"].(string)
		kycCLI(t, dir, "kyc", "approve", id, "--by", "alice")
		if m := w.get("type=sep6-deposit"); status(m) != "ACCEPTED" {
			t.Fatalf("deposit: %v", m)
		}
		m := w.get("type=sep6-withdraw")
		if status(m) != "NEEDS_INFO" || m["fields"].(map[string]any)["bank_account_number"] == nil {
			t.Fatalf("withdraw: %v", m)
		}
		if r := w.do("GET", "/customer?type=sep31-sender", "", nil); r.Status != 400 {
			t.Fatalf("unknown type: %d", r.Status)
		}
	})
}

func TestE2EKYCMemosAreSeparateCustomers(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	one, two := uint64(1), uint64(2)
	a := newWallet(t, s, &one)
	b := newWallet(t, s, &two)
	b.kp = a.kp // same account, other memo: authenticate again with a's key
	d := discover(t, s)
	c := &sep10.Client{Endpoint: d.toml.WebAuthEndpoint, ServerKey: d.toml.SigningKey, Network: d.toml.NetworkPassphrase, HomeDomain: d.homeDomain}
	tok, err := c.Authenticate(context.Background(), a.kp.Address(), &two, a.kp)
	if err != nil {
		t.Fatal(err)
	}
	b.token = tok
	idA := a.putJSON(map[string]string{"first_name": "A"}).JSON(t)["id"].(string)
	idB := b.putJSON(map[string]string{"first_name": "B"}).JSON(t)["id"].(string)
	if idA == idB {
		t.Fatal("two memos share a customer")
	}
	if r := b.do("GET", "/customer?id="+idA, "", nil); r.Status != 404 {
		t.Fatalf("memo 2 reads memo 1's customer: %d", r.Status)
	}
	if r := a.do("GET", "/customer?memo=2", "", nil); r.Status != 403 {
		t.Fatalf("memo mismatch with the JWT: %d", r.Status)
	}
	if r := a.putJSON(map[string]string{"id": idA, "last_name": "Alpha"}); r.Status != 202 || r.JSON(t)["id"] != idA {
		t.Fatalf("PUT with id updates: %d %s", r.Status, r.Body)
	}
	// DELETE carries the memo in a JSON or form body; memo 1 cannot delete memo 2.
	if r := a.do("DELETE", "/customer/"+a.kp.Address(), "application/json", strings.NewReader(`{"memo":"2"}`)); r.Status != 403 {
		t.Fatalf("delete another memo: %d %s", r.Status, r.Body)
	}
	if r := b.do("DELETE", "/customer/"+a.kp.Address(), "application/x-www-form-urlencoded", strings.NewReader("memo=2")); r.Status != 200 {
		t.Fatalf("delete own memo (form): %d %s", r.Status, r.Body)
	}
	if m := a.get("id=" + idA); m["id"] != idA {
		t.Fatalf("memo 1's customer went with memo 2's: %v", m)
	}
}

func TestE2EKYCBadInputStoresNothing(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_MAX_FILE_SIZE": "1000", "ANCHOR_KYC_CUSTOMER_QUOTA": "1500"})
	w := newWallet(t, s, nil)
	cases := []struct {
		name   string
		do     func() httpResult
		status int
		errHas string
	}{
		{"unknown field", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "favourite_colour": "blue"}) }, 400, "favourite_colour"},
		{"bad country", func() httpResult {
			return w.putJSON(map[string]string{"first_name": "A", "address_country_code": "US"})
		}, 400, "address_country_code"},
		{"bad date", func() httpResult { return w.putForm(map[string]string{"first_name": "A", "birth_date": "1990-02-30"}) }, 400, "birth_date"},
		{"bad email", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "email_address": "nope"}) }, 400, "email_address"},
		{"bad phone", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "mobile_number": "555-1234"}) }, 400, "mobile_number"},
		{"bad number", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "occupation": "chef"}) }, 400, "occupation"},
		{"non-string JSON", func() httpResult {
			return w.do("PUT", "/customer", "application/json", strings.NewReader(`{"first_name": ["A"]}`))
		}, 400, "first_name"},
		{"binary as text", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "photo_id_front": "abc"}) }, 400, "photo_id_front"},
		{"not an image", func() httpResult {
			return w.putMultipart(map[string]string{"first_name": "A"}, map[string][]byte{"photo_id_front": []byte("hello, I am text")})
		}, 400, "photo_id_front"},
		{"file too large", func() httpResult {
			return w.putMultipart(map[string]string{"first_name": "A"}, map[string][]byte{"photo_id_front": append(append([]byte{}, pngBytes...), make([]byte, 2000)...)})
		}, 413, "larger"},
		{"upload too large", func() httpResult {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("file", "x.png")
			fw.Write(append(append([]byte{}, pngBytes...), make([]byte, 5000)...))
			mw.Close()
			return w.do("POST", "/customer/files", mw.FormDataContentType(), &buf)
		}, 413, ""},
		{"unknown type", func() httpResult { return w.putJSON(map[string]string{"first_name": "A", "type": "vip"}) }, 400, "unknown customer type"},
		{"unknown file id", func() httpResult {
			return w.putJSON(map[string]string{"first_name": "A", "photo_id_front_file_id": "file_nope"})
		}, 400, "not found"},
		{"other account", func() httpResult {
			return w.putJSON(map[string]string{"first_name": "A", "account": keypair.MustRandom().Address()})
		}, 403, "account"},
		{"bad content type", func() httpResult { return w.do("PUT", "/customer", "text/xml", strings.NewReader("<a/>")) }, 400, "Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.do()
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if msg, _ := r.JSON(t)["error"].(string); !strings.Contains(msg, c.errHas) {
				t.Fatalf("error %q does not name %q", msg, c.errHas)
			}
			if m := w.get(""); m["id"] != nil {
				t.Fatalf("a refused request stored a customer: %v", m)
			}
		})
	}
	// Uploads that wait for a customer share the quota too.
	u := newWallet(t, s, nil)
	var r httpResult
	for i := 0; i < 2; i++ {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "x.png")
		fw.Write(append(append([]byte{}, pngBytes...), make([]byte, 900-len(pngBytes))...))
		mw.Close()
		r = u.do("POST", "/customer/files", mw.FormDataContentType(), &buf)
	}
	if r.Status != 413 {
		t.Fatalf("second pending upload over the quota: %d %s", r.Status, r.Body)
	}
	// Quota: two 900-byte photos exceed the 1500-byte customer quota.
	big := append(append([]byte{}, pngBytes...), make([]byte, 900-len(pngBytes))...)
	if r := w.putMultipart(map[string]string{"first_name": "A"}, map[string][]byte{"photo_id_front": big}); r.Status != 202 {
		t.Fatalf("first photo: %d %s", r.Status, r.Body)
	}
	if r := w.putMultipart(nil, map[string][]byte{"photo_id_back": big}); r.Status != 413 {
		t.Fatalf("over quota: %d %s", r.Status, r.Body)
	}
}

// TestE2EKYCFailedMultipartPutLeavesNoFiles: a multipart PUT whose photo was read (and stored as
// it streamed in) but whose other values are refused leaves no file behind.
func TestE2EKYCFailedMultipartPutLeavesNoFiles(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	if r := w.putMultipart(map[string]string{"first_name": "A", "email_address": "nope"}, map[string][]byte{"photo_id_front": pngBytes}); r.Status != 400 {
		t.Fatalf("PUT with a bad email: %d %s", r.Status, r.Body)
	}
	s.Stop(t)
	st := openTestStore(t, dir)
	st.KYCView(context.Background(), func(tx kyc.Tx) error {
		if files, _ := tx.PendingFiles(w.kp.Address(), ""); len(files) != 0 {
			t.Errorf("%d file(s) left by a refused PUT", len(files))
		}
		if mine, _, _ := tx.StoredBytes(w.kp.Address()); mine != 0 {
			t.Errorf("%d bytes counted for a refused PUT", mine)
		}
		return nil
	})
}
