package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestE2EKYCIsolation: account B can never read, change or delete A's data, on any endpoint,
// and requests without a valid token are refused before their body is read.
func TestE2EKYCIsolation(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	a, b := newWallet(t, s, nil), newWallet(t, s, nil)
	fileA := a.uploadFile(pngBytes)
	idA := a.putJSON(map[string]string{"first_name": "Alice", "last_name": "A", "email_address": "a@example.com", "photo_id_front_file_id": fileA}).JSON(t)["id"].(string)
	before := a.get("id=" + idA)

	cases := []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"GET by A's id", "GET", "/customer?id=" + idA, "", "", 404},
		{"GET by A's account", "GET", "/customer?account=" + a.kp.Address(), "", "", 403},
		{"PUT with A's id", "PUT", "/customer", "application/json", `{"id":"` + idA + `","first_name":"Mallory"}`, 404},
		{"PUT as A's account", "PUT", "/customer", "application/json", `{"account":"` + a.kp.Address() + `","first_name":"Mallory"}`, 403},
		{"PUT with A's file", "PUT", "/customer", "application/json", `{"first_name":"M","photo_id_front_file_id":"` + fileA + `"}`, 400},
		{"DELETE A's account", "DELETE", "/customer/" + a.kp.Address(), "", "", 403},
		{"callback on A's id", "PUT", "/customer/callback", "application/json", `{"id":"` + idA + `","url":"https://evil.example/cb"}`, 404},
		{"verification of A's id", "PUT", "/customer/verification", "application/json", `{"id":"` + idA + `","mobile_number_verification":"1"}`, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := b.do(c.method, c.path, c.ctype, strings.NewReader(c.body)); r.Status != c.want {
				t.Fatalf("status %d, want %d: %s", r.Status, c.want, r.Body)
			}
		})
	}
	t.Run("files of A", func(t *testing.T) {
		for _, q := range []string{"file_id=" + fileA, "customer_id=" + idA} {
			r := b.do("GET", "/customer/files?"+q, "", nil)
			if r.Status != 200 || len(r.JSON(t)["files"].([]any)) != 0 {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
	after := a.get("id=" + idA)
	ab, _ := json.Marshal(before)
	aa, _ := json.Marshal(after)
	if string(ab) != string(aa) {
		t.Fatalf("A's customer changed:\n%s\n%s", ab, aa)
	}

	// No token or a bad one: 401 on every endpoint, before the body is read (an unreadable
	// body would otherwise give 400 or 413).
	ct := multipart.NewWriter(io.Discard).FormDataContentType()
	for _, e := range []struct{ method, path, ctype string }{
		{"GET", "/customer", ""}, {"PUT", "/customer", "application/json"}, {"DELETE", "/customer/" + a.kp.Address(), ""},
		{"PUT", "/customer/verification", "application/json"}, {"PUT", "/customer/callback", "application/json"},
		{"POST", "/customer/files", ct}, {"GET", "/customer/files", ""},
	} {
		for _, auth := range []string{"", "Bearer not-a-jwt", "Bearer " + a.token + "x"} {
			hdr := []string{}
			if auth != "" {
				hdr = []string{"Authorization", auth}
			}
			r := do(t, e.method, s.URL+"/kyc"+e.path, e.ctype, strings.NewReader("{broken"), hdr...)
			if r.Status != 401 {
				t.Errorf("%s %s with %q: %d %s", e.method, e.path, auth, r.Status, r.Body)
			}
		}
	}
}

// TestE2EKYCDeleteErases: DELETE removes the record, the index, the files and their contents;
// the test reads the store itself afterwards.
func TestE2EKYCDeleteErases(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	w := newWallet(t, s, nil)
	other := newWallet(t, s, nil)
	uploaded := w.uploadFile(pngBytes)
	pendingBytes := append(append([]byte{}, pngBytes...), "PENDING-UPLOAD-MARK"...)
	pending := w.uploadFile(pendingBytes) // uploaded, never used by the customer
	r := w.putMultipart(map[string]string{"first_name": "Erasable", "email_address": "erase@example.com", "photo_id_back_file_id": uploaded}, map[string][]byte{"photo_id_front": pngBytes})
	id := r.JSON(t)["id"].(string)
	otherID := other.putJSON(map[string]string{"first_name": "Kept"}).JSON(t)["id"].(string)

	if r := w.do("DELETE", "/customer/"+w.kp.Address(), "application/json", strings.NewReader(`{}`)); r.Status != 200 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if r := w.do("DELETE", "/customer/"+w.kp.Address(), "", nil); r.Status != 404 {
		t.Fatalf("second DELETE: %d", r.Status)
	}
	if m := w.get(""); m["id"] != nil {
		t.Fatalf("customer still answers: %v", m)
	}
	s.Stop(t)

	// Not even the database file's free pages hold the erased values or file contents (on
	// PostgreSQL: no row holds them).
	raw := storedBytes(t, dir)
	for _, secret := range [][]byte{[]byte("Erasable"), []byte("erase@example.com"), pngBytes, []byte("PENDING-UPLOAD-MARK")} {
		if bytes.Contains(raw, secret) {
			t.Fatalf("the database still contains %q", secret)
		}
	}
	if !storetest.Postgres() && bytes.Contains(raw, []byte("Kept")) {
		t.Fatal("a customer's values are stored in the clear")
	}

	st := openTestStore(t, dir)
	ctx := context.Background()
	var remaining []string
	st.Customers(ctx, func(c *kyc.Customer) bool { remaining = append(remaining, c.ID); return true })
	if len(remaining) != 1 || remaining[0] != otherID {
		t.Fatalf("customers left: %v", remaining)
	}
	st.KYCView(ctx, func(tx kyc.Tx) error {
		if c, err := tx.Customer(otherID); err != nil || c.Values["first_name"] != "Kept" {
			t.Fatalf("the other customer's data is gone too: %v %+v", err, c)
		}
		return nil
	})
	err := st.KYCView(ctx, func(tx kyc.Tx) error {
		if _, err := tx.Customer(id); err != kyc.ErrNotFound {
			t.Errorf("record: %v", err)
		}
		if _, err := tx.CustomerID(w.kp.Address(), ""); err != kyc.ErrNotFound {
			t.Errorf("index: %v", err)
		}
		if files, _ := tx.FilesOf(id); len(files) != 0 {
			t.Errorf("files: %v", files)
		}
		if _, err := tx.File(uploaded); err != kyc.ErrNotFound {
			t.Errorf("uploaded file metadata: %v", err)
		}
		if _, err := tx.FileData(uploaded); err != kyc.ErrNotFound {
			t.Errorf("uploaded file contents: %v", err)
		}
		if _, err := tx.File(pending); err != kyc.ErrNotFound {
			t.Errorf("pending upload: %v", err)
		}
		if files, _ := tx.PendingFiles(w.kp.Address(), ""); len(files) != 0 {
			t.Errorf("pending index: %v", files)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The audit trail keeps the decision history, without personal data.
	events, _ := st.Events(ctx, id)
	if len(events) == 0 || events[len(events)-1].Action != kyc.ActionDelete {
		t.Fatalf("events %+v", events)
	}
	for _, e := range events {
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), "Erasable") || strings.Contains(string(raw), "erase@example.com") {
			t.Fatalf("audit event holds personal data: %s", raw)
		}
	}
}

// TestKYCCLIWithoutServer: with no server running the CLI opens the store itself and behaves
// the same; the callback it queued is delivered when the server starts.
func TestKYCCLIWithoutServer(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	d := discover(t, s)
	rcv := newCallbackReceiver(t, d.toml.SigningKey)
	w := newWallet(t, s, nil)
	id := w.putJSON(map[string]string{"first_name": "Offline", "last_name": "Review", "email_address": "o@example.com"}).JSON(t)["id"].(string)
	if r := w.do("PUT", "/customer/callback", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"url": {rcv.URL}}.Encode())); r.Status != 200 {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	fi, err := os.Stat(filepath.Join(dir, "data", "admin.sock"))
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", err, fi.Mode())
	}
	s.Stop(t)
	if _, err := os.Stat(filepath.Join(dir, "data", "admin.sock")); err == nil {
		t.Fatal("admin socket left behind after shutdown")
	}

	out, stderr, code := kycCLI(t, dir, "kyc", "list", "--json")
	var list []kyc.Summary
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Status != kyc.Processing {
		t.Fatalf("list without server: %d %s %s", code, out, stderr)
	}
	if out, stderr, code := kycCLI(t, dir, "kyc", "approve", id, "--by", "carol"); code != 0 || !strings.Contains(out, "ACCEPTED") {
		t.Fatalf("approve without server: %d %s %s", code, out, stderr)
	}
	out, _, _ = kycCLI(t, dir, "kyc", "show", id)
	if !strings.Contains(out, "approve") || !strings.Contains(out, "carol") || !strings.Contains(out, "Offline") {
		t.Fatalf("show without server:\n%s", out)
	}
	saveDir := t.TempDir()
	if _, stderr, code := kycCLI(t, dir, "kyc", "show", id, "--save-files", saveDir); code != 0 {
		t.Fatal(stderr)
	}

	// The server delivers the callback that the CLI queued.
	startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none"})
	rcv.waitFor(t, id, "ACCEPTED")
	if m := w.get("id=" + id); status(m) != "ACCEPTED" {
		t.Fatalf("wallet sees %v", m)
	}
}

// TestE2ERejectionOutlivesErasure: a rejected customer erases itself through SEP-12; compliance
// still sees the rejection with kyc show OLD_ID, and the account's new submission is flagged in
// kyc list and kyc show.
func TestE2ERejectionOutlivesErasure(t *testing.T) {
	dir, port := initAnchor(t)
	s := startServe(t, dir, port, map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_KYC_AUTO_APPROVE": "true"})
	w := newWallet(t, s, nil)
	oldID := w.putJSON(map[string]string{"first_name": "Eve", "last_name": "X", "email_address": "eve@example.com"}).JSON(t)["id"].(string)
	if _, stderr, code := kycCLI(t, dir, "kyc", "reject", oldID, "--reason", "sanctions list", "--by", "carol"); code != 0 {
		t.Fatalf("reject: %s", stderr)
	}
	if r := w.do("DELETE", "/customer/"+w.kp.Address(), "application/json", strings.NewReader(`{}`)); r.Status != 200 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if out, stderr, code := kycCLI(t, dir, "kyc", "show", oldID); code != 0 || !strings.Contains(out, "rejection is kept") || !strings.Contains(out, "sanctions list") || !strings.Contains(out, "carol") || strings.Contains(out, "Eve") {
		t.Fatalf("kyc show of the erased customer: %d %s %s", code, out, stderr)
	}
	newID := w.putJSON(map[string]string{"first_name": "Eve", "last_name": "X", "email_address": "eve@example.com"}).JSON(t)["id"].(string)
	if st := status(w.get("")); st != "PROCESSING" {
		t.Fatalf("the previously rejected account came back %s", st)
	}
	if out, _, _ := kycCLI(t, dir, "kyc", "list"); !strings.Contains(out, "PROCESSING (previously rejected)") {
		t.Fatalf("kyc list:\n%s", out)
	}
	if out, _, _ := kycCLI(t, dir, "kyc", "list", "--json"); !strings.Contains(out, `"previously_rejected": true`) {
		t.Fatalf("kyc list --json:\n%s", out)
	}
	if out, _, _ := kycCLI(t, dir, "kyc", "show", newID); !strings.Contains(out, "WARNING") || !strings.Contains(out, oldID) {
		t.Fatalf("kyc show of the new submission:\n%s", out)
	}
}
