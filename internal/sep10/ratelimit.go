package sep10

import (
	"net/http"
	"sync"
	"time"

	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/pkg/sep10"
)

// RateLimiter is a token bucket per client IP.
type RateLimiter struct {
	rate  float64 // tokens per second
	burst float64

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	now       func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter allows rate requests per second per client, with bursts of burst.
// A rate of 0 returns nil, which allows everything.
func NewRateLimiter(rate float64, burst int) *RateLimiter {
	if rate <= 0 {
		return nil
	}
	return &RateLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}, now: time.Now}
}

// Allow takes a token for key and reports whether one was there.
func (l *RateLimiter) Allow(key string) bool {
	if l == nil {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		// A bucket idle for this long is full again; forgetting it changes nothing.
		full := time.Duration(l.burst/l.rate*float64(time.Second)) + time.Second
		for k, b := range l.buckets {
			if now.Sub(b.last) > full {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// AccountMiddleware limits the requests for which limited(r) holds per authenticated account
// (the G... account behind the JWT's sub, whatever memo or muxed id it names, since a wallet
// mints those freely): 429 with Retry-After over the rate. Mount it behind the JWT middleware.
func (l *RateLimiter) AccountMiddleware(limited func(*http.Request) bool, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := FromContext(r.Context()); ok && limited(r) && !l.Allow(sep10.BaseAccount(a.Account)) {
			w.Header().Set("Retry-After", "1")
			httpx.Error(w, http.StatusTooManyRequests, "too many writes for this account, try again later")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Middleware answers 429 with Retry-After to clients over their rate.
func (l *RateLimiter) Middleware(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.Allow(httpx.ClientAddr(r)) {
			w.Header().Set("Retry-After", "1")
			httpx.Error(w, http.StatusTooManyRequests, httpx.MsgTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
