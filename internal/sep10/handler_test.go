package sep10

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/pkg/sep10"
)

const testNet = "Test SDF Network ; September 2015"

func testDeps(t testing.TB) *Deps {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Deps{
		Server: keypair.MustRandom(), Network: testNet, HomeDomain: "localhost:8000",
		WebAuthDomain: "localhost:8000", ChallengeLifetime: 15 * time.Minute,
		Tokens:     NewTokens([]byte("0123456789abcdef0123456789abcdef"), "http://localhost:8000/auth", time.Hour),
		Challenges: st, Domains: NewDomainResolver(time.Second, false),
	}
}

func signedChallenge(t testing.TB, d *Deps, client *keypair.Full) string {
	tx, err := sep10.BuildChallenge(sep10.ChallengeParams{Server: d.Server, ClientAccount: client.Address(),
		HomeDomain: d.HomeDomain, WebAuthDomain: d.WebAuthDomain, Network: d.Network, Lifetime: d.ChallengeLifetime})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sep10.SignChallenge(tx, d.Network, client)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestTokenBodyEncodings(t *testing.T) {
	d := testDeps(t)
	h := NewTokenHandler(d)
	client := keypair.MustRandom()
	for name, mk := range map[string]func(tx string) (string, string){
		"json": func(tx string) (string, string) {
			b, _ := json.Marshal(map[string]string{"transaction": tx})
			return "application/json", string(b)
		},
		"json with charset": func(tx string) (string, string) {
			b, _ := json.Marshal(map[string]string{"transaction": tx})
			return "application/json; charset=utf-8", string(b)
		},
		"form": func(tx string) (string, string) {
			return "application/x-www-form-urlencoded", url.Values{"transaction": {tx}}.Encode()
		},
		"multipart": func(tx string) (string, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("transaction", tx)
			mw.Close()
			return mw.FormDataContentType(), buf.String()
		},
	} {
		t.Run(name, func(t *testing.T) {
			ct, body := mk(signedChallenge(t, d, client))
			req := httptest.NewRequest("POST", "/auth", strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"token"`) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
}

// FuzzTokenBody feeds arbitrary bodies and content types to POST /auth: it must never panic,
// and must answer only 200, 400 or 413 with a JSON body.
func FuzzTokenBody(f *testing.F) {
	d := testDeps(f)
	h := NewTokenHandler(d)
	tx := signedChallenge(f, d, keypair.MustRandom())
	b, _ := json.Marshal(map[string]string{"transaction": tx})
	f.Add("application/json", b)
	f.Add("application/x-www-form-urlencoded", []byte(url.Values{"transaction": {tx}}.Encode()))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"transaction\"\r\n\r\n"+tx+"\r\n--x--\r\n"))
	f.Add("", []byte(`{"transaction": 5}`))
	f.Add("application/json", []byte(`{"transaction":"AAAAAgAAAAA="}`))
	f.Add("text/plain", []byte("transaction="))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		req := httptest.NewRequest("POST", "/auth", bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body is not JSON: %q", rec.Body)
		}
	})
}
