package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anchorkit/anchor/internal/httpx"
)

var reqPrefix = func() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

var reqSeq atomic.Uint64

// requestID gives each request an id (echoed as X-Request-Id) and a logger that carries it.
func requestID(base *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := reqPrefix + "-" + itoa(reqSeq.Add(1))
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(httpx.WithRequest(r.Context(), base, id)))
	})
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// recoverer turns a panic into a logged 500.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				httpx.Logger(r.Context()).Error("panic", "value", v)
				httpx.Error(w, http.StatusInternalServerError, httpx.MsgInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request: method, path (no query: it may carry personal data),
// status, size and duration. Headers (Authorization) and bodies are never logged.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &httpx.StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		ctx := r.Context()
		httpx.BaseLogger(ctx).LogAttrs(ctx, slog.LevelInfo, "request", slog.String("request_id", httpx.RequestID(ctx)),
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.Status), slog.Int("bytes", sw.Bytes),
			slog.Duration("duration", time.Since(start)), slog.String("remote", httpx.ClientAddr(r)))
	})
}

// cors allows every origin on every endpoint (SEP-1, SEP-10 and the other SEPs require it for
// web wallets) and answers preflight requests.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Access-Control-Allow-Origin"] = corsAnyOrigin
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Accept-Language, X-Request-Id")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h["Access-Control-Expose-Headers"] = corsExpose
		next.ServeHTTP(w, r)
	})
}

// Shared header values; net/http never modifies them.
var (
	corsAnyOrigin = []string{"*"}
	corsExpose    = []string{"X-Request-Id, Retry-After"}
)

// jsonErrors rewrites the plain-text errors that http.ServeMux writes itself (405, and 404
// for unmatched methods) into {"error": ...}.
func jsonErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&jsonErrorWriter{ResponseWriter: w}, r)
	})
}

type jsonErrorWriter struct {
	http.ResponseWriter
	swallow bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(j.Header().Get("Content-Type"), "text/plain") && j.Header().Get("X-Content-Type-Options") == "nosniff" {
		j.swallow = true
		j.Header().Del("X-Content-Type-Options")
		msg := strings.ToLower(http.StatusText(code))
		if code == http.StatusMethodNotAllowed {
			msg = httpx.MsgMethodNotAllowed
		}
		httpx.Error(j.ResponseWriter, code, msg)
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrorWriter) Write(b []byte) (int, error) {
	if j.swallow {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }
