package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/anchorkit/anchor/internal/httpx"
)

// Check is one readiness check: nil when the server can serve wallets as far as it goes.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// readyHandler answers GET /ready: 200 when every check passes, 503 naming what fails, so that
// a load balancer stops sending wallets to a replica that cannot serve them (GET /health only
// says the process is alive). Checks run together, each within timeout.
func readyHandler(checks []Check, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := "ok"
				if err := c.Fn(ctx); err != nil {
					res = err.Error()
				}
				mu.Lock()
				results[c.Name] = res
				mu.Unlock()
			}()
		}
		wg.Wait()
		status, code := "ready", http.StatusOK
		for _, res := range results {
			if res != "ok" {
				status, code = "not ready", http.StatusServiceUnavailable
			}
		}
		httpx.WriteJSON(w, code, map[string]any{"status": status, "checks": results})
	})
}
