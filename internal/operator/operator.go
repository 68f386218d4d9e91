// Package operator is the operator API: the admin API's endpoints (package admin) on a TCP
// listener of their own (operator_listen), for the business's programs. It authenticates API
// keys (package apikey) instead of socket peers, judges each call by the key's role, names the
// key as the actor the audit trail records, and keeps the answers of calls made with an
// Idempotency-Key so that a retried call never acts twice.
package operator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/httpx"
)

// Options are what the operator API serves.
type Options struct {
	// API is the admin API's services; its Keys must be nil (a key never manages keys).
	API    admin.API
	Keys   *apikey.Service
	Logger *slog.Logger
}

// idemLease is how long a call with an Idempotency-Key holds it: a retry within it is told the
// call still runs; after it (the server died mid-call) the call is made again.
const idemLease = 10 * time.Minute

// maxIdemBody bounds the request bodies of idempotent calls (read whole to digest them) and the
// answers kept for retries; a bigger answer (a long credit stream) is not kept.
const maxIdemBody = 1 << 20

// Handler returns the operator API. life is the server's lifetime (treasury batches run under
// it, not under the calling connection).
func Handler(life context.Context, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.API.Keys = nil
	inner := admin.NewMux(life, o.API)
	spec := Spec()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(spec)
	})
	h := &handler{o: o, next: inner}
	mux.Handle("/v1/", h)
	return mux
}

type handler struct {
	o    Options
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	key, err := h.authenticate(r)
	who := ""
	switch {
	case err != nil:
		w.Header().Set("WWW-Authenticate", `Bearer realm="anchor operator API"`)
		status, msg := http.StatusUnauthorized, err.Error()
		if !errors.Is(err, apikey.ErrUnauthorized) {
			status, msg = http.StatusServiceUnavailable, "the key could not be checked: "+err.Error()
			w.Header().Set("Retry-After", "5")
		}
		httpx.Error(sw, status, msg)
	default:
		who = key.Name
		if need := admin.RoleOf(r); !allows(key.Role, need) {
			httpx.Error(sw, http.StatusForbidden, forbidden(key, need))
			break
		}
		r = r.WithContext(admin.WithViews(admin.WithActor(r.Context(), key.Actor())))
		h.idempotent(sw, r, key)
	}
	// Every call, with the key's name (never the key), for the operator's log.
	h.o.Logger.Info("operator api", "key", who, "method", r.Method, "path", r.URL.Path, "status", sw.code(), "ms", time.Since(start).Milliseconds())
}

// authenticate reads the key of "Authorization: Bearer KEY".
func (h *handler) authenticate(r *http.Request) (*apikey.Key, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, fmt.Errorf("%w: give an API key as Authorization: Bearer KEY (anchor apikey create)", apikey.ErrUnauthorized)
	}
	return h.o.Keys.Authenticate(r.Context(), strings.TrimSpace(token))
}

// allows says whether a key of role may make a call that needs need: reads any key, each
// change the key of its role.
func allows(role apikey.Role, need admin.Role) bool {
	switch need {
	case admin.RoleRead:
		return true
	case admin.RoleCompliance:
		return role == apikey.Compliance
	case admin.RoleTreasury:
		return role == apikey.Treasury
	case admin.RoleOperator:
		return role == apikey.Operator
	}
	return false // RoleOwner: keys are managed on the server's machine only
}

func forbidden(k *apikey.Key, need admin.Role) string {
	if need == admin.RoleOwner {
		return "API keys are managed with anchor apikey on the server's machine, not with a key"
	}
	return "the key " + k.Name + " has the role " + string(k.Role) + "; this call needs a " + string(need) + " key"
}

// idempotent makes a call that changes something at most once per Idempotency-Key: the first
// runs, a retry of the same call gets the first answer again (Idempotent-Replayed: true),
// the key with another request is refused (422), and a retry while the first runs is told so
// (409). Answers of 5xx (nothing worth repeating: the database or Horizon unavailable) are not
// kept, so that a retry makes the call again.
func (h *handler) idempotent(w http.ResponseWriter, r *http.Request, key *apikey.Key) {
	idem := r.Header.Get("Idempotency-Key")
	if idem == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		h.next.ServeHTTP(w, r)
		return
	}
	if err := apikey.CheckIdemKey(idem); err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIdemBody))
	if err != nil {
		httpx.Error(w, http.StatusRequestEntityTooLarge, "the body of a call with an Idempotency-Key may have at most 1 MiB")
		return
	}
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.RequestURI()+"\n")
	sum.Write(body)
	digest := hex.EncodeToString(sum.Sum(nil))
	ctx := r.Context()
	prior, err := h.o.Keys.Begin(ctx, key.ID, idem, digest, idemLease)
	switch {
	case errors.Is(err, apikey.ErrIdemReused):
		httpx.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	case errors.Is(err, apikey.ErrIdemRunning):
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		httpx.Internal(w, r, err)
		return
	case prior != nil:
		if prior.ContentType != "" {
			w.Header().Set("Content-Type", prior.ContentType)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prior.Status)
		w.Write(prior.Body)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{statusWriter: statusWriter{ResponseWriter: w}}
	finished := false
	defer func() {
		if !finished {
			// The handler panicked (a cut stream): let a retry make the call again.
			_ = h.o.Keys.Abandon(context.WithoutCancel(ctx), key.ID, idem, digest)
		}
	}()
	h.next.ServeHTTP(rec, r)
	finished = true
	bg := context.WithoutCancel(ctx) // record the answer even if the caller went away
	if rec.code() >= 500 || rec.overflow {
		err = h.o.Keys.Abandon(bg, key.ID, idem, digest)
	} else {
		err = h.o.Keys.Finish(bg, key.ID, idem, digest, rec.code(), rec.Header().Get("Content-Type"), rec.buf.Bytes())
	}
	if err != nil {
		h.o.Logger.Warn("operator api: idempotency record", "key", key.Name, "err", err)
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the connection (flushes, write deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recorder is a statusWriter that also keeps a copy of the answer (up to maxIdemBody).
type recorder struct {
	statusWriter
	buf      bytes.Buffer
	overflow bool
}

func (rc *recorder) Write(b []byte) (int, error) {
	if rc.buf.Len()+len(b) > maxIdemBody {
		rc.overflow = true
	} else if !rc.overflow {
		rc.buf.Write(b)
	}
	return rc.statusWriter.Write(b)
}
