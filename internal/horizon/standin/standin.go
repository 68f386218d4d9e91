// Package standin is a loopback Horizon for tests and offline demos (`anchor dev horizon`). It
// speaks the subset of Horizon's API anchor uses, in Horizon's own JSON shapes, over an
// in-memory ledger that really checks what it is sent: envelope decoding, signatures against
// the signers and thresholds of every source account, sequence numbers, time bounds, fees,
// balances and reserves, trustlines and authorization; and it applies payment, create_account,
// change_trust, set_options, create_claimable_balance and manage_data. It can be told to fail
// the ways Horizon does.
package standin

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hProtocol "github.com/stellar/go-stellar-sdk/protocols/horizon"
	"github.com/stellar/go-stellar-sdk/protocols/horizon/base"
	"github.com/stellar/go-stellar-sdk/protocols/horizon/operations"
	"github.com/stellar/go-stellar-sdk/support/render/problem"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// Fault is a way Horizon fails.
type Fault string

// Faults that Inject queues; each applies to the next transaction submission.
const (
	// TimeoutAfterApply applies the transaction, then answers 504 as if Horizon timed out.
	TimeoutAfterApply Fault = "timeout-after-apply"
	// TimeoutBeforeApply answers 504 without applying it.
	TimeoutBeforeApply Fault = "timeout-before-apply"
	// BadSeq answers tx_bad_seq without applying it.
	BadSeq Fault = "tx_bad_seq"
	// TooLate answers tx_too_late without applying it.
	TooLate Fault = "tx_too_late"
	// RateLimited answers 429 with Retry-After.
	RateLimited Fault = "rate-limited"
)

// Server is the stand-in.
type Server struct {
	mu         sync.Mutex
	passphrase string
	state      *state
	txs        map[string]*txRecord
	payments   []Payment
	faults     []Fault
	ledger     int32
	now        func() time.Time

	failWith atomic.Int32
	surge    atomic.Int64
	requests atomic.Int64
	ts       *httptest.Server
}

// Options configure New.
type Options struct {
	// Passphrase of the network (default: testnet).
	Passphrase string
	// Now is the ledger clock (default time.Now).
	Now func() time.Time
	// Listener, when set, serves on it (for `anchor dev horizon`); default a loopback port.
	Listener net.Listener
}

// New starts a stand-in on 127.0.0.1; Close stops it.
func New() *Server { return NewWithOptions(Options{}) }

// NewWithOptions starts a stand-in.
func NewWithOptions(o Options) *Server {
	if o.Passphrase == "" {
		o.Passphrase = "Test SDF Network ; September 2015"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{passphrase: o.Passphrase, now: o.Now, ledger: 1000,
		state: &state{accounts: map[string]*account{}, claimable: map[string]*claimable{}}, txs: map[string]*txRecord{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("GET /accounts/{id}", s.account)
	mux.HandleFunc("POST /transactions", s.submit)
	mux.HandleFunc("GET /transactions/{hash}", s.transaction)
	mux.HandleFunc("GET /fee_stats", s.feeStats)
	mux.HandleFunc("GET /friendbot", s.friendbot)
	mux.HandleFunc("GET /accounts/{id}/data/{key}", s.data)
	mux.HandleFunc("GET /accounts/{id}/payments", s.accountPayments)
	mux.HandleFunc("GET /assets", s.assets)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, 404, "https://stellar.org/horizon-errors/not_found", "Resource Missing", nil)
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if code := s.failWith.Load(); code != 0 {
			writeProblem(w, int(code), "server_error", http.StatusText(int(code)), nil)
			return
		}
		mux.ServeHTTP(w, r)
	})
	if o.Listener != nil {
		s.ts = &httptest.Server{Listener: o.Listener, Config: &http.Server{Handler: h}}
		s.ts.Start()
	} else {
		s.ts = httptest.NewServer(h)
	}
	return s
}

// URL is the stand-in's base URL.
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Requests counts requests served.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Surge makes the network include only transactions paying at least fee stroops per operation
// (0 ends the surge); /fee_stats reports it. Cheaper transactions time out (504) unapplied.
func (s *Server) Surge(fee int64) { s.surge.Store(fee) }

// FailWith makes every request answer status (0 restores normal service).
func (s *Server) FailWith(status int) { s.failWith.Store(int32(status)) }

// Inject queues faults for the next submissions, in order.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// Signer is a signer to put on an account.
type Signer struct {
	Key    string
	Weight int32
}

// CreateAccount adds an account with 10,000 XLM whose master key has weight masterWeight, with
// extra signers and thresholds (low, medium, high).
func (s *Server) CreateAccount(id string, masterWeight int32, thresholds [3]byte, signers ...Signer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := newAccount(id, 10_000*stroop, s.now())
	a.Signers[id] = masterWeight
	a.Thresholds = thresholds
	for _, sg := range signers {
		a.Signers[sg.Key] = sg.Weight
	}
	s.state.accounts[id] = a
}

// Payments returns the payments applied so far (successful transactions only).
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Payment(nil), s.payments...)
}

// Balance returns an account's balance of asset ("native" or "CODE:ISSUER") in stroops, and
// whether the account (and, for credit assets, the trustline) exists.
func (s *Server) Balance(accountID, asset string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.state.accounts[accountID]
	if !ok {
		return 0, false
	}
	if asset == "native" {
		return a.Native, true
	}
	l, ok := a.Lines[assetKey(asset)]
	if !ok {
		return 0, false
	}
	return l.Balance, true
}

// ClaimableBalances returns the claimable balances now on the ledger, by id.
func (s *Server) ClaimableBalances() map[string]claimable {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]claimable{}
	for k, v := range s.state.claimable {
		out[k] = *v
	}
	return out
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"horizon_version": "anchor-standin", "network_passphrase": s.passphrase,
		"history_latest_ledger": s.ledger, "history_latest_ledger_closed_at": s.now().UTC().Format(time.RFC3339)})
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.state.accounts[r.PathValue("id")]
	var out hProtocol.Account
	if ok {
		out = render(a)
	}
	s.mu.Unlock()
	if !ok {
		writeProblem(w, 404, "https://stellar.org/horizon-errors/not_found", "Resource Missing", nil)
		return
	}
	writeJSON(w, 200, out)
}

func render(a *account) hProtocol.Account {
	out := hProtocol.Account{ID: a.ID, AccountID: a.ID, Sequence: a.Seq, HomeDomain: a.HomeDomain, Data: map[string]string{},
		SubentryCount: int32(a.subentries())}
	out.Thresholds = hProtocol.AccountThresholds{LowThreshold: a.Thresholds[0], MedThreshold: a.Thresholds[1], HighThreshold: a.Thresholds[2]}
	out.Flags.AuthRequired = a.AuthRequired
	for k, v := range a.Data {
		out.Data[k] = base64.StdEncoding.EncodeToString(v)
	}
	for key, w := range a.Signers {
		out.Signers = append(out.Signers, hProtocol.Signer{Key: key, Weight: w, Type: "ed25519_public_key"})
	}
	for k, l := range a.Lines {
		code, issuer, _ := strings.Cut(string(k), ":")
		typ := "credit_alphanum4"
		if len(code) > 4 {
			typ = "credit_alphanum12"
		}
		auth := l.Authorized
		out.Balances = append(out.Balances, hProtocol.Balance{Balance: formatAmount(l.Balance), Limit: formatAmount(l.Limit),
			IsAuthorized: &auth, Asset: base.Asset{Type: typ, Code: code, Issuer: issuer}})
	}
	out.Balances = append(out.Balances, hProtocol.Balance{Balance: formatAmount(a.Native), Asset: base.Asset{Type: "native"}})
	return out
}

// accountPayments serves GET /accounts/{id}/payments (order=asc, cursor, limit,
// join=transactions) as Horizon's operations page of payment and create_account records.
func (s *Server) accountPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := r.PathValue("id")
	after, _ := strconv.Atoi(q.Get("cursor"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 200 {
		limit = 10
	}
	join := q.Get("join") == "transactions"
	s.mu.Lock()
	var records []any
	for i, p := range s.payments {
		if i+1 <= after || (p.To != id && p.From != id) {
			continue
		}
		if len(records) == limit {
			break
		}
		records = append(records, s.paymentRecord(i, p, join))
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"_links": map[string]any{}, "_embedded": map[string]any{"records": records}})
}

func (s *Server) paymentRecord(i int, p Payment, join bool) any {
	b := operations.Base{ID: strconv.Itoa(i + 1), PT: p.PagingToken, TransactionSuccessful: true, SourceAccount: p.From,
		LedgerCloseTime: p.At.UTC(), TransactionHash: p.TxHash}
	if join {
		rec := s.txs[p.TxHash]
		tx := s.txJSON(rec)
		tx.MemoType, tx.Memo = memoFields(p.Memo)
		b.Transaction = &tx
	}
	if p.Kind == "create_account" {
		b.Type, b.TypeI = "create_account", 0
		return operations.CreateAccount{Base: b, Account: p.To, Funder: p.From, StartingBalance: formatAmount(p.Amount)}
	}
	b.Type, b.TypeI = "payment", 1
	pay := operations.Payment{Base: b, From: p.From, To: p.To, Amount: formatAmount(p.Amount)}
	if p.Asset == "native" {
		pay.Asset.Type = "native"
	} else {
		code, issuer, _ := strings.Cut(string(p.Asset), ":")
		pay.Asset = base.Asset{Type: "credit_alphanum4", Code: code, Issuer: issuer}
		if len(code) > 4 {
			pay.Asset.Type = "credit_alphanum12"
		}
	}
	return pay
}

func memoFields(m xdr.Memo) (string, string) {
	switch m.Type {
	case xdr.MemoTypeMemoId:
		return "id", strconv.FormatUint(uint64(*m.Id), 10)
	case xdr.MemoTypeMemoText:
		return "text", *m.Text
	case xdr.MemoTypeMemoHash:
		return "hash", base64.StdEncoding.EncodeToString(m.Hash[:])
	}
	return "none", ""
}

// assets serves GET /assets?asset_code=&asset_issuer= with the asset's supply statistics.
func (s *Server) assets(w http.ResponseWriter, r *http.Request) {
	code, issuer := r.URL.Query().Get("asset_code"), r.URL.Query().Get("asset_issuer")
	k := assetKey(code + ":" + issuer)
	var authorized, unauthorized, claim int64
	holders := 0
	s.mu.Lock()
	for _, a := range s.state.accounts {
		if l, ok := a.Lines[k]; ok {
			holders++
			if l.Authorized {
				authorized += l.Balance
			} else {
				unauthorized += l.Balance
			}
		}
	}
	for _, c := range s.state.claimable {
		if c.Asset == k {
			claim += c.Amount
		}
	}
	s.mu.Unlock()
	records := []hProtocol.AssetStat{}
	if holders > 0 || claim > 0 {
		st := hProtocol.AssetStat{PT: code + "_" + issuer + "_credit", ClaimableBalancesAmount: formatAmount(claim),
			LiquidityPoolsAmount: formatAmount(0), ContractsAmount: formatAmount(0)}
		st.Asset = base.Asset{Type: "credit_alphanum4", Code: code, Issuer: issuer}
		if len(code) > 4 {
			st.Asset.Type = "credit_alphanum12"
		}
		st.Balances.Authorized = formatAmount(authorized)
		st.Balances.AuthorizedToMaintainLiabilities = formatAmount(0)
		st.Balances.Unauthorized = formatAmount(unauthorized)
		records = append(records, st)
	}
	writeJSON(w, 200, map[string]any{"_links": map[string]any{}, "_embedded": map[string]any{"records": records}})
}

// data serves an account's data entry (the SDK reads config.memo_required before submitting,
// SEP-29).
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var v []byte
	a, ok := s.state.accounts[r.PathValue("id")]
	if ok {
		v, ok = a.Data[r.PathValue("key")]
	}
	s.mu.Unlock()
	if !ok {
		writeProblem(w, 404, "https://stellar.org/horizon-errors/not_found", "Resource Missing", nil)
		return
	}
	writeJSON(w, 200, map[string]string{"value": base64.StdEncoding.EncodeToString(v)})
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("tx") == "" {
		writeProblem(w, 400, "transaction_malformed", "Transaction Malformed", nil)
		return
	}
	envB64 := r.PostForm.Get("tx")
	s.mu.Lock()
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	switch fault {
	case RateLimited:
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		writeProblem(w, 429, "rate_limit_exceeded", "Rate Limit Exceeded", nil)
		return
	case TimeoutBeforeApply:
		s.mu.Unlock()
		writeProblem(w, 504, "timeout", "Timeout", nil)
		return
	case BadSeq, TooLate:
		s.mu.Unlock()
		writeProblem(w, 400, "transaction_failed", "Transaction Failed", map[string]any{
			"envelope_xdr": envB64, "result_codes": hProtocol.TransactionResultCodes{TransactionCode: string(fault)}})
		return
	}
	now := s.now()
	res := s.apply(envB64, now)
	if res.txCode == "tx_duplicate" {
		rec := s.txs[res.hash]
		out := s.txJSON(rec)
		s.mu.Unlock()
		if rec.Successful {
			writeJSON(w, 200, out)
		} else {
			writeProblem(w, 400, "transaction_failed", "Transaction Failed", map[string]any{"envelope_xdr": envB64,
				"result_codes": hProtocol.TransactionResultCodes{TransactionCode: "tx_failed"}})
		}
		return
	}
	var rec *txRecord
	if res.applied {
		s.ledger++
		rec = &txRecord{Hash: res.hash, Successful: res.success, Ledger: s.ledger, Envelope: envB64, At: now}
		s.txs[res.hash] = rec
		for _, p := range res.payments {
			p.PagingToken = strconv.Itoa(len(s.payments) + 1)
			s.payments = append(s.payments, p)
		}
	}
	if res.queued {
		s.mu.Unlock()
		writeProblem(w, 504, "timeout", "Timeout", nil)
		return
	}
	var out hProtocol.Transaction
	if rec != nil {
		out = s.txJSON(rec)
	}
	s.mu.Unlock()
	switch {
	case fault == TimeoutAfterApply:
		writeProblem(w, 504, "timeout", "Timeout", nil)
	case res.success:
		writeJSON(w, 200, out)
	default:
		writeProblem(w, 400, "transaction_failed", "Transaction Failed", map[string]any{"envelope_xdr": envB64,
			"result_codes": hProtocol.TransactionResultCodes{TransactionCode: res.txCode, OperationCodes: res.opCodes}})
	}
}

func (s *Server) txJSON(rec *txRecord) hProtocol.Transaction {
	return hProtocol.Transaction{ID: rec.Hash, PT: strconv.Itoa(int(rec.Ledger)), Hash: rec.Hash, Successful: rec.Successful,
		Ledger: rec.Ledger, LedgerCloseTime: rec.At.UTC(), EnvelopeXdr: rec.Envelope}
}

func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rec, ok := s.txs[r.PathValue("hash")]
	var out hProtocol.Transaction
	if ok {
		out = s.txJSON(rec)
	}
	s.mu.Unlock()
	if !ok {
		writeProblem(w, 404, "https://stellar.org/horizon-errors/not_found", "Resource Missing", nil)
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) feeStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ledger := s.ledger
	s.mu.Unlock()
	fee, usage := int64(100), "0.01"
	if surge := s.surge.Load(); surge > fee {
		fee, usage = surge, "1.00"
	}
	v := strconv.FormatInt(fee, 10)
	p := map[string]string{"max": v, "min": "100", "mode": v, "p10": "100", "p20": "100", "p30": v, "p40": v,
		"p50": v, "p60": v, "p70": v, "p80": v, "p90": v, "p95": v, "p99": v}
	writeJSON(w, 200, map[string]any{"last_ledger": strconv.Itoa(int(ledger)), "last_ledger_base_fee": "100",
		"ledger_capacity_usage": usage, "fee_charged": p, "max_fee": p})
}

// friendbot funds a new account with 10,000 XLM, as testnet's friendbot does.
func (s *Server) friendbot(w http.ResponseWriter, r *http.Request) {
	addr := r.URL.Query().Get("addr")
	s.mu.Lock()
	_, exists := s.state.accounts[addr]
	if !exists && len(addr) == 56 && strings.HasPrefix(addr, "G") {
		s.state.accounts[addr] = newAccount(addr, 10_000*stroop, s.now())
		s.ledger++
	}
	s.mu.Unlock()
	if exists || len(addr) != 56 {
		writeProblem(w, 400, "bad_request", "Bad Request", map[string]any{"reason": "account exists or address is invalid"})
		return
	}
	writeJSON(w, 200, map[string]any{"successful": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/hal+json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, typ, title string, extras map[string]any) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem.P{Type: typ, Title: title, Status: status, Extras: extras})
}
