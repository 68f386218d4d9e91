// Package standin is a loopback Horizon for tests and offline demos: it serves the subset of
// Horizon's API that anchor uses, in Horizon's own JSON shapes, from an in-memory ledger.
package standin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"

	hProtocol "github.com/stellar/go-stellar-sdk/protocols/horizon"
	"github.com/stellar/go-stellar-sdk/protocols/horizon/base"
	"github.com/stellar/go-stellar-sdk/support/render/problem"
)

// Server is the stand-in.
type Server struct {
	mu       sync.Mutex
	accounts map[string]*hProtocol.Account
	// FailWith, when non-zero, makes every request answer with that status.
	failWith atomic.Int32
	requests atomic.Int64
	ts       *httptest.Server
}

// New starts a stand-in on 127.0.0.1; Close stops it.
func New() *Server {
	s := &Server{accounts: map[string]*hProtocol.Account{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", s.account)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"horizon_version": "standin"})
	})
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if code := s.failWith.Load(); code != 0 {
			writeJSON(w, int(code), problem.P{Type: "server_error", Title: http.StatusText(int(code)), Status: int(code)})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s
}

// URL is the stand-in's base URL.
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Requests counts requests served.
func (s *Server) Requests() int64 { return s.requests.Load() }

// FailWith makes every request answer status (0 restores normal service).
func (s *Server) FailWith(status int) { s.failWith.Store(int32(status)) }

// Signer is a signer to put on an account.
type Signer struct {
	Key    string
	Weight int32
}

// CreateAccount adds an account whose master key has weight masterWeight, with extra signers
// and thresholds (low, medium, high).
func (s *Server) CreateAccount(id string, masterWeight int32, thresholds [3]byte, signers ...Signer) {
	a := &hProtocol.Account{ID: id, AccountID: id, Sequence: 1 << 32, Data: map[string]string{}}
	a.Thresholds = hProtocol.AccountThresholds{LowThreshold: thresholds[0], MedThreshold: thresholds[1], HighThreshold: thresholds[2]}
	a.Signers = append(a.Signers, hProtocol.Signer{Key: id, Weight: masterWeight, Type: "ed25519_public_key"})
	for _, sg := range signers {
		a.Signers = append(a.Signers, hProtocol.Signer{Key: sg.Key, Weight: sg.Weight, Type: "ed25519_public_key"})
	}
	a.Balances = []hProtocol.Balance{{Balance: "10000.0000000", Asset: nativeAsset()}}
	s.mu.Lock()
	s.accounts[id] = a
	s.mu.Unlock()
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.accounts[r.PathValue("id")]
	var body []byte
	if ok {
		body, _ = json.Marshal(a)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, problem.P{Type: "https://stellar.org/horizon-errors/not_found", Title: "Resource Missing", Status: 404})
		return
	}
	w.Header().Set("Content-Type", "application/hal+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func nativeAsset() (b base.Asset) { b.Type = "native"; return b }
