package sep10

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

func BenchmarkChallenge(b *testing.B) {
	d := testDeps(b)
	h := NewChallengeHandler(d)
	url := "/auth?account=" + keypair.MustRandom().Address()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
		if rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	d := testDeps(b)
	h := NewTokenHandler(d)
	client := keypair.MustRandom()
	bodies := make([]string, 0, 1024)
	for range 1024 {
		bb, _ := json.Marshal(map[string]string{"transaction": signedChallenge(b, d, client)})
		bodies = append(bodies, string(bb))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(bodies) {
			b.StopTimer()
			bodies = bodies[:0]
			for range 1024 {
				bb, _ := json.Marshal(map[string]string{"transaction": signedChallenge(b, d, client)})
				bodies = append(bodies, string(bb))
			}
			i = 0
			b.StartTimer()
		}
		req := httptest.NewRequest("POST", "/auth", strings.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/json")
		i++
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}
