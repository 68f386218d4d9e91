// Package admin is the local admin API that lets the CLI work while `anchor serve` holds the
// database: HTTP over a unix socket (mode 0600) in the data dir, never over TCP. Client offers
// the same methods as kyc.Service, so commands behave the same on either path.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/views"
)

// SocketName is the socket's file name inside the data dir.
const SocketName = "admin.sock"

// SocketPath returns the admin socket of a data dir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// KYC is what compliance commands need; *kyc.Service and *Client implement it.
type KYC interface {
	List(ctx context.Context, f kyc.ListFilter) ([]kyc.Summary, error)
	Show(ctx context.Context, id string) (*kyc.Detail, error)
	FileData(ctx context.Context, fileID string) (*kyc.File, []byte, error)
	Decide(ctx context.Context, id string, d kyc.Decision) (kyc.Status, error)
	// ResolveCustomerID returns the customer id a whole id or a unique prefix names.
	ResolveCustomerID(ctx context.Context, arg string) (string, error)
	// CustomerIDs returns up to limit customer ids that start with prefix.
	CustomerIDs(ctx context.Context, prefix string, limit int) ([]string, error)
}

// Transfers is what transaction commands need; *transfer.Service and *Client implement it.
type Transfers interface {
	// OperatorEach calls fn with each transaction matching f, newest first, until fn returns
	// false (a list of any size is never held whole).
	OperatorEach(ctx context.Context, f transfer.OpsFilter, fn func(*transfer.Transaction) bool) error
	Detail(ctx context.Context, id string) (*transfer.Detail, error)
	Act(ctx context.Context, id string, a transfer.Action) (*transfer.Transaction, error)
	// ResolveTransferID returns the transaction id a whole id or a unique prefix names.
	ResolveTransferID(ctx context.Context, arg string) (string, error)
	// TransferIDs returns up to limit transaction ids that start with prefix.
	TransferIDs(ctx context.Context, prefix string, limit int) ([]string, error)
}

var (
	_ KYC       = (*kyc.Service)(nil)
	_ KYC       = (*Client)(nil)
	_ Transfers = (*transfer.Service)(nil)
	_ Transfers = (*Client)(nil)
)

// API is what the admin API serves. Treasury, Maintenance and Keys are optional: their
// endpoints are left out without them.
type API struct {
	KYC       *kyc.Service
	Transfers *transfer.Service
	// Treasury builds the treasury of an operator (credit, burn, payments).
	Treasury TreasuryFactory
	// Maintenance backs up and checks the store.
	Maintenance Maintenance
	// Keys manages the operator API's keys: on the socket only, for the server's own OS user
	// and root (RoleOwner); a key never creates keys.
	Keys *apikey.Service
	// Events lists the business events and their dead letters.
	Events events.Store
	// Quotes lists SEP-38 firm quotes.
	Quotes Quotes
}

// NewHandler returns the admin API on the socket: every request is authorized by its
// connection's peer credentials against roles (see Authorize), and the OS user is the actor
// the audit trail records.
func NewHandler(life context.Context, a API, roles Roles) http.Handler {
	return Authorize(NewMux(life, a), roles)
}

// Routes are the patterns of the admin API's endpoints (GET /v1/tx/{id}, ...), for the
// operator API's description.
func Routes(life context.Context, a API) []string {
	rec := &recorder{ServeMux: http.NewServeMux()}
	mount(life, rec, a)
	return rec.patterns
}

// mux is what the endpoints are mounted on (a ServeMux, or a recorder of the patterns).
type mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

type recorder struct {
	*http.ServeMux
	patterns []string
}

func (r *recorder) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.HandleFunc(pattern, h)
}

// NewMux returns the admin API's endpoints without authorization: the socket (NewHandler) and
// the operator API (package operator) put their own in front.
func NewMux(life context.Context, a API) *http.ServeMux {
	m := http.NewServeMux()
	mount(life, m, a)
	return m
}

func mount(life context.Context, mux mux, a API) {
	svc, transfers := a.KYC, a.Transfers
	if a.Treasury != nil {
		MountTreasury(life, mux, a.Treasury, transfers)
	}
	if a.Maintenance != nil {
		mountMaintenance(mux, a.Maintenance)
	}
	if a.Keys != nil {
		mountKeys(mux, a.Keys)
	}
	if a.Events != nil {
		mountEvents(mux, a.Events)
	}
	if a.Quotes != nil {
		mountQuotes(mux, a.Quotes)
	}
	mux.HandleFunc("GET /v1/tx", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := transfer.OpsFilter{Status: transfer.Status(q.Get("status")), Kind: transfer.Kind(q.Get("kind")), Account: q.Get("account"), Reference: q.Get("reference")}
		var ok bool
		if f.Limit, ok = limitParam(w, q); !ok {
			return
		}
		if d := q.Get("stuck_for"); d != "" {
			v, err := time.ParseDuration(d)
			if err != nil || v < 0 {
				httpx.Error(w, http.StatusBadRequest, "stuck_for "+strconv.Quote(d)+" is not a duration such as 30m or 2h")
				return
			}
			f.StuckFor = v
		}
		streamArray(w, r, func(emit func(any) bool) error {
			return transfers.OperatorEach(r.Context(), f, func(t *transfer.Transaction) bool { return emit(t) })
		})
	})
	mux.HandleFunc("GET /v1/tx/{id}", func(w http.ResponseWriter, r *http.Request) {
		out, err := transfers.Detail(r.Context(), r.PathValue("id"))
		reply(w, r, out, err)
	})
	mux.HandleFunc("POST /v1/tx/{id}/actions", func(w http.ResponseWriter, r *http.Request) {
		var a transfer.Action
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&a); err != nil {
			httpx.Error(w, http.StatusBadRequest, "body is not an action")
			return
		}
		a.By = Actor(r.Context(), a.By)
		out, err := transfers.Act(r.Context(), r.PathValue("id"), a)
		reply(w, r, out, err)
	})
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /v1/kyc/customers", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		out, err := svc.List(r.Context(), kyc.ListFilter{Status: kyc.Status(q.Get("status")), Type: q.Get("type"), Limit: max(limit, 0)})
		reply(w, r, out, err)
	})
	mux.HandleFunc("GET /v1/kyc/ids/{prefix}", func(w http.ResponseWriter, r *http.Request) {
		id, err := svc.ResolveCustomerID(r.Context(), r.PathValue("prefix"))
		reply(w, r, map[string]string{"id": id}, err)
	})
	// Id lists for shell completion: ?prefix=P&limit=N (at most 200).
	listIDs := func(find func(context.Context, string, int) ([]string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, err := strconv.Atoi(r.URL.Query().Get("limit"))
			if err != nil || n < 1 || n > 200 {
				n = 200
			}
			out, err := find(r.Context(), r.URL.Query().Get("prefix"), n)
			reply(w, r, out, err)
		}
	}
	mux.HandleFunc("GET /v1/kyc/ids", listIDs(svc.CustomerIDs))
	mux.HandleFunc("GET /v1/tx-ids", listIDs(transfers.TransferIDs))
	mux.HandleFunc("GET /v1/tx-ids/{prefix}", func(w http.ResponseWriter, r *http.Request) {
		id, err := transfers.ResolveTransferID(r.Context(), r.PathValue("prefix"))
		reply(w, r, map[string]string{"id": id}, err)
	})
	mux.HandleFunc("GET /v1/kyc/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		out, err := svc.Show(r.Context(), r.PathValue("id"))
		reply(w, r, out, err)
	})
	mux.HandleFunc("GET /v1/kyc/files/{id}", func(w http.ResponseWriter, r *http.Request) {
		f, data, err := svc.FileData(r.Context(), r.PathValue("id"))
		if err != nil {
			reply(w, r, nil, err)
			return
		}
		meta, _ := json.Marshal(f)
		w.Header().Set("X-File", string(meta))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	})
	mux.HandleFunc("POST /v1/kyc/customers/{id}/decisions", func(w http.ResponseWriter, r *http.Request) {
		var d kyc.Decision
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&d); err != nil {
			httpx.Error(w, http.StatusBadRequest, "body is not a decision")
			return
		}
		d.By = Actor(r.Context(), d.By)
		st, err := svc.Decide(r.Context(), r.PathValue("id"), d)
		reply(w, r, map[string]kyc.Status{"status": st}, err)
	})
}

// limitParam reads the limit parameter of a list (0 when absent); false: it answered a 400.
func limitParam(w http.ResponseWriter, q url.Values) (int, bool) {
	l := q.Get("limit")
	if l == "" {
		return 0, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 0 {
		httpx.Error(w, http.StatusBadRequest, "limit "+strconv.Quote(l)+" is not a number")
		return 0, false
	}
	return n, true
}

// streamArray answers with a JSON array written as each emits its elements (read from the
// store a chunk at a time): an export of any size is never held whole. An error before the
// first element is answered as usual; after it, the connection is cut so that the client sees
// a short list. An export may outlast the server's write timeout: each 256 elements get 30 s
// more, so only a reader stalled that long is cut off.
func streamArray(w http.ResponseWriter, r *http.Request, each func(emit func(any) bool) error) {
	rc := http.NewResponseController(w)
	n := 0
	err := each(func(v any) bool {
		v = present(r, v)
		if n%256 == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if n == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("["))
		} else {
			w.Write([]byte(","))
		}
		n++
		_, err = w.Write(b)
		return err == nil
	})
	switch {
	case n == 0 && err != nil:
		reply(w, r, nil, err)
	case n == 0:
		reply(w, r, []any{}, nil)
	case err != nil:
		panic(http.ErrAbortHandler)
	default:
		w.Write([]byte("]"))
	}
}

// decodeArray reads a streamed JSON array one element at a time, until fn returns false.
func decodeArray[T any](what string, fn func(*T) bool) func(io.Reader) error {
	return func(body io.Reader) error {
		dec := json.NewDecoder(body)
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for dec.More() {
			var v T
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("%s cut short: %w", what, err)
			}
			if !fn(&v) {
				return nil
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%s cut short: %w", what, err)
		}
		return nil
	}
}

type viewsKey struct{}

// WithViews makes the requests of ctx answered in the JSON views (package views), as the
// operator API answers; the socket answers the services' own values, which its Client decodes.
func WithViews(ctx context.Context) context.Context { return context.WithValue(ctx, viewsKey{}, true) }

// present is v as the request's transport answers it.
func present(r *http.Request, v any) any {
	if r.Context().Value(viewsKey{}) == nil {
		return v
	}
	return views.Of(v, time.Now())
}

func reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	var ie *fault.InputError // every service's
	switch {
	case err == nil:
		httpx.WriteJSON(w, http.StatusOK, present(r, v))
	case errors.As(err, &ie):
		httpx.Error(w, http.StatusBadRequest, ie.Msg)
	case errors.As(err, new(*kyc.BlockedError)), errors.As(err, new(*transfer.ComplianceError)), errors.As(err, new(*transfer.LimitError)):
		// Refusals the operator must read.
		httpx.Error(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, transfer.ErrIllegalMove):
		httpx.Error(w, http.StatusConflict, err.Error())
	case errors.Is(err, fault.ErrNotFound): // every service's
		httpx.Error(w, http.StatusNotFound, "not found")
	case errors.Is(err, quotes.ErrUnavailable):
		httpx.Error(w, http.StatusServiceUnavailable, err.Error())
	default:
		httpx.Internal(w, r, err)
	}
}

// Listen opens the admin socket at path with mode 0600, replacing a stale socket left by a
// server that died. It refuses when another live server answers on it. With open set (admin
// groups are configured), other OS users may reach it: the socket is 0666 and its directory
// 0711 (enterable, not listable; the files in it stay 0600), and every request is judged by
// its peer credentials (Authorize).
func Listen(path string, open bool) (net.Listener, error) {
	// sun_path holds 108 bytes on Linux (104 on BSDs), including the terminating NUL.
	if len(path) > 103 {
		return nil, fmt.Errorf("admin socket path %s is %d bytes, longer than unix sockets allow (103); use a shorter data_dir", path, len(path))
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use by another anchor serve", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale admin socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// The data dir is 0700, so nobody can reach the socket before this chmod.
	mode, dirMode := os.FileMode(0o600), os.FileMode(0o700)
	if open {
		mode, dirMode = 0o666, 0o711
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(filepath.Dir(path), dirMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// Client talks to a running server's admin API.
type Client struct {
	http *http.Client // calls with a 30 s timeout
	long *http.Client // treasury calls: no fixed timeout
}

// Dial returns a Client if a server answers on the socket at path, and nil if none does.
func Dial(ctx context.Context, path string) *Client {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	// Treasury work has no fixed timeout (Horizon retries, batches): it ends when the server
	// answers or the operator interrupts the command.
	c := &Client{http: &http.Client{Timeout: 30 * time.Second, Transport: tr}, long: &http.Client{Transport: tr}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.do(ctx, "GET", "/v1/health", nil, nil); err != nil {
		return nil
	}
	return c
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://anchor"+path, rd)
	if err != nil {
		return err
	}
	hc := c.http
	read, streamed := out.(stream)
	if strings.HasPrefix(path, "/v1/treasury/") || strings.HasPrefix(path, "/v1/store/") || streamed {
		hc = c.long // no fixed timeout: an export of any size ends when it is read
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.errorOf(resp)
	}
	if streamed {
		return read(resp.Body)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw
		return nil
	}
	return json.Unmarshal(raw, out)
}

// stream, as do's out, reads the answer's body as it arrives.
type stream func(io.Reader) error

// ErrUnreachable: the running server's admin socket did not answer.
var ErrUnreachable = errors.New("admin API: the running anchor serve did not answer on its socket")

// errorOf maps an admin API error answer to the error the services would have returned.
func (c *Client) errorOf(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusServiceUnavailable {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%w (%s)", horizon.ErrUnavailable, e.Error)
	}
	switch {
	case resp.StatusCode == http.StatusAccepted:
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return &Proposed{Msg: e.Error}
	case resp.StatusCode == http.StatusNotFound:
		return kyc.ErrNotFound
	default:
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		if resp.StatusCode == http.StatusBadRequest {
			return &kyc.InputError{Msg: e.Error}
		}
		if resp.StatusCode == http.StatusConflict {
			return fmt.Errorf("%w: %s", transfer.ErrIllegalMove, strings.TrimPrefix(e.Error, transfer.ErrIllegalMove.Error()+": "))
		}
		return fmt.Errorf("admin API: %s: %s", resp.Status, e.Error)
	}
}

// List implements KYC.
func (c *Client) List(ctx context.Context, f kyc.ListFilter) ([]kyc.Summary, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []kyc.Summary
	err := c.do(ctx, "GET", "/v1/kyc/customers?"+q.Encode(), nil, &out)
	return out, err
}

// resolveID asks the server which id a prefix names.
func (c *Client) resolveID(ctx context.Context, path string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.do(ctx, "GET", path, nil, &out)
	return out.ID, err
}

func (c *Client) listIDs(ctx context.Context, path, prefix string, limit int) ([]string, error) {
	var out []string
	err := c.do(ctx, "GET", path+"?"+url.Values{"prefix": {prefix}, "limit": {strconv.Itoa(limit)}}.Encode(), nil, &out)
	return out, err
}

// CustomerIDs implements KYC.
func (c *Client) CustomerIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	return c.listIDs(ctx, "/v1/kyc/ids", prefix, limit)
}

// TransferIDs implements Transfers.
func (c *Client) TransferIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	return c.listIDs(ctx, "/v1/tx-ids", prefix, limit)
}

// ResolveCustomerID implements KYC.
func (c *Client) ResolveCustomerID(ctx context.Context, arg string) (string, error) {
	return c.resolveID(ctx, "/v1/kyc/ids/"+url.PathEscape(arg))
}

// ResolveTransferID implements Transfers.
func (c *Client) ResolveTransferID(ctx context.Context, arg string) (string, error) {
	return c.resolveID(ctx, "/v1/tx-ids/"+url.PathEscape(arg))
}

// Show implements KYC.
func (c *Client) Show(ctx context.Context, id string) (*kyc.Detail, error) {
	var out kyc.Detail
	if err := c.do(ctx, "GET", "/v1/kyc/customers/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FileData implements KYC.
func (c *Client) FileData(ctx context.Context, fileID string) (*kyc.File, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://anchor/v1/kyc/files/"+url.PathEscape(fileID), nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil, kyc.ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("admin API: %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var f kyc.File
	if err := json.Unmarshal([]byte(resp.Header.Get("X-File")), &f); err != nil {
		return nil, nil, err
	}
	return &f, data, nil
}

// Decide implements KYC.
func (c *Client) Decide(ctx context.Context, id string, d kyc.Decision) (kyc.Status, error) {
	var out struct {
		Status kyc.Status `json:"status"`
	}
	err := c.do(ctx, "POST", "/v1/kyc/customers/"+url.PathEscape(id)+"/decisions", d, &out)
	return out.Status, err
}

// OperatorList implements Transfers.
func (c *Client) OperatorEach(ctx context.Context, f transfer.OpsFilter, fn func(*transfer.Transaction) bool) error {
	q := url.Values{}
	for k, v := range map[string]string{"status": string(f.Status), "kind": string(f.Kind), "account": f.Account, "reference": f.Reference} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.StuckFor > 0 {
		q.Set("stuck_for", f.StuckFor.String())
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	// The server writes the array as it reads the store; it is decoded one element at a time.
	return c.do(ctx, "GET", "/v1/tx?"+q.Encode(), nil, stream(decodeArray("transaction list", fn)))
}

// Detail implements Transfers.
func (c *Client) Detail(ctx context.Context, id string) (*transfer.Detail, error) {
	var out transfer.Detail
	if err := c.do(ctx, "GET", "/v1/tx/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Act implements Transfers.
func (c *Client) Act(ctx context.Context, id string, a transfer.Action) (*transfer.Transaction, error) {
	var out transfer.Transaction
	if err := c.do(ctx, "POST", "/v1/tx/"+url.PathEscape(id)+"/actions", a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
