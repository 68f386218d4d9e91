package sep12

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/sep10"
	"github.com/anchorkit/anchor/internal/sep9"
)

// Handlers serve SEP-12; mount them behind sep10's Middleware (Routes does).
type Handlers struct {
	Service *kyc.Service
	Limits  Limits
	// MaxBody bounds a whole multipart request body; JSON and form bodies (text values only:
	// files travel as multipart or through /customer/files) are bounded by MaxTextBody.
	MaxBody int64
	// Uploads, when set, bounds how many multipart bodies are read at once (each may hold up to
	// MaxBody in memory): a request waits for a free slot, or gives up with its context.
	Uploads chan struct{}
}

// MaxTextBody bounds a JSON or form-encoded SEP-12 body.
const MaxTextBody = 256 << 10

// acquire takes an upload slot for a multipart body (true when the request may go on).
func (h *Handlers) acquire(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if h.Uploads == nil {
		return func() {}, true
	}
	select {
	case h.Uploads <- struct{}{}:
		return func() { <-h.Uploads }, true
	case <-r.Context().Done():
		httpx.Error(w, http.StatusServiceUnavailable, httpx.MsgUnavailable)
		return nil, false
	}
}

// Route is one endpoint.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Routes returns the SEP-12 endpoints under prefix (e.g. "/kyc"), each requiring a JWT.
func (h *Handlers) Routes(prefix string, auth func(http.Handler) http.Handler) []Route {
	r := func(method, path string, fn http.HandlerFunc) Route {
		return Route{method, prefix + path, auth(fn)}
	}
	return []Route{
		r("GET", "/customer", h.get),
		r("PUT", "/customer", h.put),
		r("DELETE", "/customer/{account}", h.delete),
		r("PUT", "/customer/verification", h.verification),
		r("PUT", "/customer/callback", h.callback),
		r("POST", "/customer/files", h.postFile),
		r("GET", "/customer/files", h.getFiles),
	}
}

func principal(r *http.Request) kyc.Principal {
	a, _ := sep10.FromContext(r.Context())
	return kyc.Principal{Account: a.Account, Memo: a.Memo}
}

// writeErr maps service errors to SEP-12 statuses; 5xx never leak details.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var ie *kyc.InputError
	var fe *kyc.ForbiddenError
	var te *kyc.TooLargeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ie):
		httpx.Error(w, http.StatusBadRequest, ie.Msg)
	case errors.As(err, &fe):
		httpx.Error(w, http.StatusForbidden, fe.Msg)
	case errors.Is(err, kyc.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, "customer not found")
	case errors.As(err, &te):
		httpx.Error(w, http.StatusRequestEntityTooLarge, te.Msg)
	case errors.As(err, new(*kyc.StorageFullError)):
		httpx.Error(w, http.StatusInsufficientStorage, err.Error())
	case errors.As(err, &mbe):
		httpx.Error(w, http.StatusRequestEntityTooLarge, httpx.MsgBodyTooLarge)
	default:
		httpx.Internal(w, r, err)
	}
}

// parse reads a SEP-12 body. The caller runs release once it no longer holds the parsed values
// (a multipart body keeps its upload slot until then).
func (h *Handlers) parse(w http.ResponseWriter, r *http.Request) (pr *kyc.PutRequest, params map[string]string, release func(), ok bool) {
	return h.parseWith(w, r, h.Limits)
}

// parseWith is parse with the given limits (PUT /customer stages files as it reads them).
func (h *Handlers) parseWith(w http.ResponseWriter, r *http.Request, lim Limits) (pr *kyc.PutRequest, params map[string]string, release func(), ok bool) {
	limit := int64(MaxTextBody)
	release = func() {}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if release, ok = h.acquire(w, r); !ok {
			return nil, nil, nil, false
		}
		limit = h.MaxBody
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	pr, params, err := ParsePut(r.Header.Get("Content-Type"), r.Body, lim)
	if err != nil {
		release()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			err = &kyc.TooLargeError{Msg: httpx.MsgBodyTooLarge}
		}
		writeErr(w, r, err)
		return nil, nil, nil, false
	}
	return pr, params, release, true
}

// get serves GET /customer. Its parameters are in the query; a body (some SDKs send an empty
// JSON body with Content-Type: application/json) is ignored.
func (h *Handlers) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	resp, err := h.Service.Get(r.Context(), principal(r), kyc.GetQuery{
		ID: q.Get("id"), Account: q.Get("account"), Memo: q.Get("memo"), MemoType: q.Get("memo_type"),
		Type: q.Get("type"), TransactionID: q.Get("transaction_id"), Lang: q.Get("lang"),
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// put serves PUT /customer: 202 {"id": ...}.
func (h *Handlers) put(w http.ResponseWriter, r *http.Request) {
	// Binary parts are stored one by one as they are read (pending uploads of the caller), so
	// that a request holds one file in memory at a time; the PUT then attaches them, and a PUT
	// that fails discards them.
	var staged []string
	lim := h.Limits
	lim.Stage = func(field string, data []byte) (string, error) {
		if f, ok := sep9.Lookup(field); ok {
			if _, err := f.CheckBinary(data); err != nil {
				return "", &kyc.InputError{Msg: field + ": " + err.Error()}
			}
		}
		f, err := h.Service.UploadPending(r.Context(), principal(r), data)
		if err != nil {
			return "", err
		}
		staged = append(staged, f.ID)
		return f.ID, nil
	}
	discard := func() {
		if len(staged) > 0 {
			if err := h.Service.DiscardPending(context.WithoutCancel(r.Context()), principal(r), staged); err != nil {
				httpx.Logger(r.Context()).Warn("discard staged uploads", "err", err)
			}
		}
	}
	pr, params, release, ok := h.parseWith(w, r, lim)
	if !ok {
		discard()
		return
	}
	defer release()
	if params["url"] != "" {
		discard()
		writeErr(w, r, &kyc.InputError{Msg: "url is not a parameter of PUT /customer; use PUT /customer/callback"})
		return
	}
	id, err := h.Service.Put(r.Context(), principal(r), pr)
	if err != nil {
		discard()
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"id": id})
}

// delete serves DELETE /customer/{account}; memo and memo_type may come in a JSON or form body.
func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) {
	pr, _, release, ok := h.parse(w, r)
	if !ok {
		return
	}
	defer release()
	if len(pr.Values)+len(pr.Binary)+len(pr.FileIDs) > 0 {
		writeErr(w, r, &kyc.InputError{Msg: "DELETE /customer takes only memo and memo_type"})
		return
	}
	memo, memoType := pr.Memo, pr.MemoType
	if memo == "" {
		memo, memoType = r.URL.Query().Get("memo"), r.URL.Query().Get("memo_type")
	}
	if err := h.Service.Delete(r.Context(), principal(r), r.PathValue("account"), memo, memoType); err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{})
}

// verification serves the deprecated PUT /customer/verification.
func (h *Handlers) verification(w http.ResponseWriter, r *http.Request) {
	pr, _, release, ok := h.parse(w, r)
	if !ok {
		return
	}
	defer release()
	resp, err := h.Service.Verify(r.Context(), principal(r), pr.ID, pr.Verifications, pr.Type)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// callback serves PUT /customer/callback.
func (h *Handlers) callback(w http.ResponseWriter, r *http.Request) {
	pr, params, release, ok := h.parse(w, r)
	if !ok {
		return
	}
	defer release()
	err := h.Service.SetCallback(r.Context(), principal(r), kyc.CallbackRequest{
		ID: pr.ID, Account: pr.Account, Memo: pr.Memo, MemoType: pr.MemoType, URL: params["url"],
	})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{})
}

// fileJSON is a file as SEP-12 shows it.
type fileJSON struct {
	FileID      string  `json:"file_id"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	CustomerID  *string `json:"customer_id"`
}

func toJSON(f *kyc.File) fileJSON {
	out := fileJSON{FileID: f.ID, ContentType: f.ContentType, Size: f.Size}
	if f.CustomerID != "" {
		id := f.CustomerID
		out.CustomerID = &id
	}
	return out
}

// postFile serves POST /customer/files: one multipart part named file.
func (h *Handlers) postFile(w http.ResponseWriter, r *http.Request) {
	release, ok := h.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, h.Limits.MaxFileSize+(1<<20))
	mr, err := r.MultipartReader()
	if err != nil {
		writeErr(w, r, &kyc.InputError{Msg: "POST /customer/files takes multipart/form-data with a file part"})
		return
	}
	var data []byte
	found := false
	for {
		part, err := mr.NextPart()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeErr(w, r, err)
				return
			}
			break
		}
		if part.FormName() != "file" {
			writeErr(w, r, &kyc.InputError{Msg: part.FormName() + " is not a parameter of POST /customer/files"})
			return
		}
		buf := make([]byte, 0, 64<<10)
		for {
			if int64(len(buf)) > h.Limits.MaxFileSize {
				writeErr(w, r, &kyc.TooLargeError{Msg: "file is too large"})
				return
			}
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := part.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeErr(w, r, err)
					return
				}
				break
			}
		}
		if int64(len(buf)) > h.Limits.MaxFileSize {
			writeErr(w, r, &kyc.TooLargeError{Msg: "file is too large"})
			return
		}
		data, found = buf, true
	}
	if !found {
		writeErr(w, r, &kyc.InputError{Msg: "file is required"})
		return
	}
	f, err := h.Service.UploadFile(r.Context(), principal(r), data)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toJSON(f))
}

// getFiles serves GET /customer/files.
func (h *Handlers) getFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	files, err := h.Service.Files(r.Context(), principal(r), q.Get("file_id"), q.Get("customer_id"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := struct {
		Files []fileJSON `json:"files"`
	}{Files: []fileJSON{}}
	for _, f := range files {
		out.Files = append(out.Files, toJSON(f))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
