package operator

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestSpecCoversEveryRoute: every endpoint the admin API mounts is described, nothing else is,
// and the description is valid OpenAPI 3.
func TestSpecCoversEveryRoute(t *testing.T) {
	routes := map[string]bool{}
	for _, r := range allRoutes() {
		routes[r] = true
		if _, ok := docs[r]; !ok {
			t.Errorf("%s has no description (operator.docs)", r)
		}
	}
	for r := range docs {
		if !routes[r] {
			t.Errorf("operator.docs describes %s, which the admin API does not mount", r)
		}
	}
	doc, err := openapi3.NewLoader().LoadFromData(Spec())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the description is not valid OpenAPI: %v", err)
	}
	if n := len(doc.Paths.Map()); n < 25 {
		t.Fatalf("%d paths", n)
	}
}

// TestIdempotentCalls: of 8 calls racing with one Idempotency-Key, one runs and the others are
// told it runs (409); once it answered, retries get its answer; an answer of 503 is not kept
// (a retry runs again); a call without a key runs each time.
func TestIdempotentCalls(t *testing.T) {
	ctx := context.Background()
	keys := &apikey.Service{Store: storetest.Open(t)}
	k, err := keys.Create(ctx, "job", apikey.Treasury, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	release := make(chan struct{})
	fail := atomic.Bool{}
	h := &handler{o: Options{Keys: keys, Logger: slog.New(slog.DiscardHandler)}, next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		if n == 1 {
			<-release
		}
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"run":` + string(rune('0'+n)) + `}`))
	})}
	call := func(idem string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/treasury/credit/x", strings.NewReader(""))
		req.Header.Set("Authorization", "Bearer "+k.Secret)
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	var conflicts atomic.Int32
	first := make(chan *httptest.ResponseRecorder, 1)
	wg.Add(1)
	go func() { defer wg.Done(); first <- call("k") }()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var others sync.WaitGroup
	for i := 0; i < 7; i++ {
		others.Add(1)
		go func() {
			defer others.Done()
			if rec := call("k"); rec.Code == http.StatusConflict {
				conflicts.Add(1)
			} else {
				t.Errorf("a call while the first runs: %d %s", rec.Code, rec.Body)
			}
		}()
	}
	others.Wait() // each is answered at once, while the first still runs
	close(release)
	wg.Wait()
	if got := <-first; got.Code != 200 || got.Body.String() != `{"run":1}` || conflicts.Load() != 7 || runs.Load() != 1 {
		t.Fatalf("first %d %s; %d conflicts, %d runs", got.Code, got.Body, conflicts.Load(), runs.Load())
	}
	if rec := call("k"); rec.Code != 200 || rec.Body.String() != `{"run":1}` || rec.Header().Get("Idempotent-Replayed") != "true" || rec.Header().Get("Content-Type") != "application/json" || runs.Load() != 1 {
		t.Fatalf("retry: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	fail.Store(true)
	if rec := call("k2"); rec.Code != 503 {
		t.Fatal(rec.Code)
	}
	fail.Store(false)
	if rec := call("k2"); rec.Code != 200 || runs.Load() != 3 {
		t.Fatalf("after a 503 the call runs again: %d, %d runs", rec.Code, runs.Load())
	}
	call("")
	call("")
	if runs.Load() != 5 {
		t.Fatalf("calls without a key: %d runs", runs.Load())
	}
}
