// Package httpx holds the JSON response helpers every anchor endpoint uses, so that every
// error, including 404 and 405, is {"error": "..."}.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
)

// Predeclared error messages.
const (
	MsgNotFound         = "not found"
	MsgMethodNotAllowed = "method not allowed"
	MsgInternal         = "internal server error"
	MsgUnavailable      = "service temporarily unavailable, try again later"
	MsgTooManyRequests  = "too many requests, try again later"
	MsgBodyTooLarge     = "request body is too large"
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	WriteRawJSON(w, status, b)
}

// WriteRawJSON writes body, which must already be JSON, with status.
func WriteRawJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(body)
	w.Write(newline)
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	newline         = []byte{'\n'}
)

// Error writes {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

// Internal logs err with the request's logger and answers 500 without leaking it, or 503 with
// Retry-After when the database is unavailable (an error with Unavailable() true, as
// store.ErrUnavailable): nothing was acknowledged, and the request can simply be retried.
func Internal(w http.ResponseWriter, r *http.Request, err error) {
	var u interface{ Unavailable() bool }
	if errors.As(err, &u) && u.Unavailable() {
		Logger(r.Context()).Warn("database unavailable", "err", err)
		w.Header().Set("Retry-After", "5")
		Error(w, http.StatusServiceUnavailable, MsgUnavailable)
		return
	}
	Logger(r.Context()).Error("internal error", "err", err)
	Error(w, http.StatusInternalServerError, MsgInternal)
}

type loggerKey struct{}

// requestLog is what a request carries for logging: the server's logger and the request id.
type requestLog struct {
	base *slog.Logger
	id   string
}

// WithRequest returns ctx carrying the base logger and the request id. The id is attached only
// when something is logged, so requests that log nothing but their access line pay nothing.
func WithRequest(ctx context.Context, base *slog.Logger, id string) context.Context {
	return context.WithValue(ctx, loggerKey{}, requestLog{base, id})
}

// RequestID returns the request's id, "" outside a request.
func RequestID(ctx context.Context) string {
	rl, _ := ctx.Value(loggerKey{}).(requestLog)
	return rl.id
}

// BaseLogger returns the server's logger without the request id.
func BaseLogger(ctx context.Context) *slog.Logger {
	if rl, ok := ctx.Value(loggerKey{}).(requestLog); ok {
		return rl.base
	}
	return slog.Default()
}

// Logger returns the request's logger (with its request id), or slog.Default.
func Logger(ctx context.Context) *slog.Logger {
	if rl, ok := ctx.Value(loggerKey{}).(requestLog); ok {
		return rl.base.With("request_id", rl.id)
	}
	return slog.Default()
}

type clientKey struct{}

// WithClientAddr returns ctx carrying the client's address as the server determined it (see
// server's trusted_proxies handling).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientAddr returns the client's IP address: the one the server determined, else the peer of
// the connection.
func ClientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(string); ok {
		return a
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// StatusWriter records the status and size of a response (access logs, metrics).
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int
}

// WriteHeader records the first status written.
func (s *StatusWriter) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusWriter) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
