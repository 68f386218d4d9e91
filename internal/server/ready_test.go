package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadyHandler: every check passes → 200; one fails or hangs past the timeout → 503 with
// each check's result, the others still reported.
func TestReadyHandler(t *testing.T) {
	ok := Check{Name: "store", Fn: func(context.Context) error { return nil }}
	bad := Check{Name: "horizon", Fn: func(context.Context) error { return errors.New("horizon down") }}
	slow := Check{Name: "watcher", Fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	for _, tc := range []struct {
		checks []Check
		code   int
		want   string
	}{
		{[]Check{ok}, 200, `"store":"ok"`},
		{[]Check{ok, bad}, 503, `"horizon":"horizon down"`},
		{[]Check{ok, slow}, 503, `"watcher":"context deadline exceeded"`},
	} {
		rec := httptest.NewRecorder()
		readyHandler(tc.checks, 50*time.Millisecond).ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) || !strings.Contains(rec.Body.String(), `"store":"ok"`) {
			t.Fatalf("%d %s, want %d with %s", rec.Code, rec.Body, tc.code, tc.want)
		}
	}
}
