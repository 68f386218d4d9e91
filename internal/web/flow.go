package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/sep9"
	"github.com/anchorkit/anchor/internal/transfer"
)

// The SEP-24 interactive flow. The wallet opens the URL the interactive request answered; its
// token is checked and spent (a mark like a SEP-10 challenge's, so it opens the flow once across
// replicas) and exchanged for a session cookie bound to the transaction, its account and memo.
// Then, as the customer's KYC and the transaction stand: a form for the missing customer
// fields (validated as SEP-12 validates them), a page that waits for compliance and refreshes
// itself, or the amount to confirm; once confirmed, the transaction's status page shows how to
// pay. Every form carries a CSRF token derived from the session.

// Marks spends interactive URL tokens once (the SEP-10 challenge store).
type Marks interface {
	UseChallenge(ctx context.Context, hash [32]byte, expires time.Time, account string, shared bool) (bool, error)
}

// Flow are the pages of the interactive flow.
type Flow struct {
	*Pages
	KYC   *kyc.Service
	Marks Marks
	// Secure marks the session cookie Secure and SameSite=None (a wallet's iframe is another
	// site); false only on plain-HTTP localhost, where browsers refuse such cookies.
	Secure bool
	Now    func() time.Time
}

// sessionLifetime is how long a flow's session lasts.
const sessionLifetime = time.Hour

const cookieName = "anchor_flow"

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Routes returns the flow's endpoints.
func (f *Flow) Routes() []Route {
	return []Route{
		{"GET", "/flow/{id}", http.HandlerFunc(f.show)},
		{"POST", "/flow/{id}/kyc", http.HandlerFunc(f.postKYC)},
		{"POST", "/flow/{id}/confirm", http.HandlerFunc(f.postConfirm)},
	}
}

func (l *Links) sessionMAC(id, account, memo string, exp int64) string {
	m := hmac.New(sha256.New, l.key)
	fmt.Fprintf(m, "sep24 session\x00%s\x00%s\x00%s\x00%d", id, account, memo, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (l *Links) csrf(session string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("sep24 csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session returns the request's session for t, or "".
func (f *Flow) session(r *http.Request, t *transfer.Transaction) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || parts[0] != t.ID {
		return ""
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || f.now().Unix() >= exp || !hmac.Equal([]byte(parts[2]), []byte(f.Links.sessionMAC(t.ID, t.Account, t.Memo, exp))) {
		return ""
	}
	return c.Value
}

func (f *Flow) lang(r *http.Request, t *transfer.Transaction) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		return f.language(l)
	}
	return f.language(t.Lang)
}

// load finds the SEP-24 transaction of the path, or answers the error page.
func (f *Flow) load(w http.ResponseWriter, r *http.Request) *transfer.Transaction {
	t, err := f.Transfers.ShowTx(r.Context(), r.PathValue("id"))
	if err == nil && t.Protocol != transfer.ProtocolSEP24 {
		err = transfer.ErrNotFound
	}
	if errors.Is(err, transfer.ErrNotFound) {
		f.fail(w, r, http.StatusNotFound, f.language(r.URL.Query().Get("lang")), "notfound")
		return nil
	}
	if err != nil {
		httpx.Internal(w, r, err)
		return nil
	}
	return t
}

func (f *Flow) here(t *transfer.Transaction, lang string) string {
	return "/flow/" + url.PathEscape(t.ID) + "?lang=" + url.QueryEscape(lang)
}

func (f *Flow) show(w http.ResponseWriter, r *http.Request) {
	t := f.load(w, r)
	if t == nil {
		return
	}
	lang := f.lang(r, t)
	if token := r.URL.Query().Get("token"); token != "" {
		f.enter(w, r, t, token, lang)
		return
	}
	sess := f.session(r, t)
	if sess == "" {
		f.fail(w, r, http.StatusForbidden, lang, "used")
		return
	}
	f.step(w, r, t, sess, lang, "", nil)
}

// enter spends the URL's token and starts the session.
func (f *Flow) enter(w http.ResponseWriter, r *http.Request, t *transfer.Transaction, token, lang string) {
	now := f.now()
	expires, err := f.Links.CheckInteractive(t.ID, t.Account, t.Memo, token, now)
	switch {
	case errors.Is(err, ErrExpiredToken):
		f.fail(w, r, http.StatusGone, lang, "expired")
		return
	case err != nil:
		f.fail(w, r, http.StatusForbidden, lang, "forbidden")
		return
	}
	// SEP-24 "Adding parameters to the URL": status changes POSTed to
	// on_change_callback (checked, and recorded, before the token is spent: a bad one leaves the
	// link usable once corrected).
	if err := f.Transfers.SetInteractiveCallbacks(r.Context(), t.ID, r.URL.Query().Get("on_change_callback"), r.URL.Query().Get("callback")); err != nil {
		var ie *transfer.InputError
		if errors.As(err, &ie) {
			tr := f.translator(lang)
			f.render(w, r, http.StatusBadRequest, "error", &data{Lang: lang, tr: tr, Static: "/static", Title: tr("forbidden.title"), Text: ie.Msg})
			return
		}
		httpx.Internal(w, r, err)
		return
	}
	shared := t.Memo != "" || strings.HasPrefix(t.Account, "M")
	first, err := f.Marks.UseChallenge(r.Context(), sha256.Sum256([]byte("sep24 url\x00"+token)), expires, t.Account, shared)
	if err != nil {
		httpx.Internal(w, r, err)
		return
	}
	if !first {
		f.fail(w, r, http.StatusForbidden, lang, "used")
		return
	}
	exp := now.Add(sessionLifetime).Unix()
	c := &http.Cookie{Name: cookieName, Value: t.ID + "." + strconv.FormatInt(exp, 10) + "." + f.Links.sessionMAC(t.ID, t.Account, t.Memo, exp),
		Path: "/flow/", MaxAge: int(sessionLifetime.Seconds()), HttpOnly: true, Secure: f.Secure, SameSite: http.SameSiteLaxMode}
	if f.Secure {
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, f.here(t, lang), http.StatusSeeOther)
}

type formField struct{ Name, Label, Input, Value string }

// step renders what the transaction waits for from the user.
func (f *Flow) step(w http.ResponseWriter, r *http.Request, t *transfer.Transaction, sess, lang, problem string, entered map[string]string) {
	if t.Status != transfer.Incomplete {
		http.Redirect(w, r, f.Links.moreInfoPath(t.ID, lang), http.StatusSeeOther)
		return
	}
	tr := f.translator(lang)
	d := &data{Lang: lang, tr: tr, Static: "/static", Title: tr("title."+string(t.Kind), t.AssetCode), Asset: t.AssetCode,
		CSRF: f.Links.csrf(sess), Text: problem}
	status, missing, _, err := f.KYC.CustomerStatus(r.Context(), t.Account, t.Memo, t.KYCType)
	if err != nil {
		httpx.Internal(w, r, err)
		return
	}
	switch status {
	case kyc.Rejected:
		f.fail(w, r, http.StatusOK, lang, "rejected")
	case kyc.Processing:
		d.Text, d.Refresh = tr("flow.wait"), "5"
		f.render(w, r, http.StatusOK, "flow-wait", d)
	case kyc.Accepted:
		d.Action = "/flow/" + url.PathEscape(t.ID) + "/confirm?lang=" + url.QueryEscape(lang)
		if t.RequestedAmount != nil {
			d.Amount = transfer.FormatAmount(*t.RequestedAmount)
		}
		if v, ok := entered["amount"]; ok {
			d.Amount = v
		}
		if t.Exchange() {
			f.exchangeTerms(d, t, tr)
		} else if _, dir, err := f.Transfers.Asset(t.AssetCode, t.Kind); err == nil {
			if dir.MinAmount != "" && dir.MaxAmount != "" {
				d.Limits = tr("flow.limits", dir.MinAmount, dir.MaxAmount)
			}
			if dir.FeeFixed != "" || dir.FeePercent != "" {
				d.Fees = tr("flow.fees", orZero(dir.FeeFixed), orZero(dir.FeePercent))
			}
		}
		status := http.StatusOK
		if problem != "" {
			status = http.StatusBadRequest
		}
		f.render(w, r, status, "flow-confirm", d)
	default: // NEEDS_INFO
		d.Action = "/flow/" + url.PathEscape(t.ID) + "/kyc?lang=" + url.QueryEscape(lang)
		for _, name := range missing {
			fd, ok := sep9.Lookup(name)
			if !ok {
				continue
			}
			input := "text"
			switch {
			case fd.Type == sep9.Binary:
				input = "file" // a photo of an ID, a proof of address
			case name == "email_address":
				input = "email"
			case fd.Type == sep9.Date:
				input = "date"
			case name == "mobile_number":
				input = "tel"
			}
			value, typed := entered[name]
			if !typed {
				value = t.Prefill[name] // what the wallet passed with its request
			}
			label, ok := f.brand().text(lang, "field."+name)
			if !ok {
				label = fd.Description
			}
			d.Fields = append(d.Fields, formField{Name: name, Label: label, Input: input, Value: value})
		}
		status := http.StatusOK
		if problem != "" {
			status = http.StatusBadRequest
		}
		f.render(w, r, status, "flow-kyc", d)
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// post checks a form post: the session and the CSRF token (403 page otherwise), and reads the
// form (bounded).
func (f *Flow) post(w http.ResponseWriter, r *http.Request) (*transfer.Transaction, string, string, bool) {
	t := f.load(w, r)
	if t == nil {
		return nil, "", "", false
	}
	lang := f.lang(r, t)
	sess := f.session(r, t)
	if sess == "" {
		f.fail(w, r, http.StatusForbidden, lang, "used")
		return nil, "", "", false
	}
	var err error
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/form-data") {
		// The KYC form, with the customer's files: at most the KYC quota.
		r.Body = http.MaxBytesReader(w, r.Body, f.KYC.Config.CustomerQuota+64<<10)
		err = r.ParseMultipartForm(64 << 10)
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		err = r.ParseForm()
	}
	if err != nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(f.Links.csrf(sess))) {
		tr := f.translator(lang)
		f.render(w, r, http.StatusForbidden, "error", &data{Lang: lang, tr: tr, Static: "/static", Title: tr("forbidden.title"), Text: tr("flow.csrf")})
		return nil, "", "", false
	}
	return t, sess, lang, true
}

// postKYC stores the customer fields the form asked for, through the KYC service (the same
// validation as SEP-12's PUT /customer); a refused value shows the form again, values kept.
func (f *Flow) postKYC(w http.ResponseWriter, r *http.Request) {
	t, sess, lang, ok := f.post(w, r)
	if !ok {
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	values := map[string]string{}
	for name, vs := range r.PostForm {
		if fd, known := sep9.Lookup(name); known && fd.Type != sep9.Binary && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			values[name] = strings.TrimSpace(vs[0])
		}
	}
	binary := map[string]kyc.BinaryValue{}
	if r.MultipartForm != nil {
		for name, fhs := range r.MultipartForm.File {
			fd, known := sep9.Lookup(name)
			if !known || fd.Type != sep9.Binary || len(fhs) == 0 || fhs[0].Size == 0 {
				continue
			}
			if fhs[0].Size > f.KYC.Config.MaxFileSize {
				f.step(w, r, t, sess, lang, fmt.Sprintf("%s is larger than %d bytes", name, f.KYC.Config.MaxFileSize), values)
				return
			}
			fh, err := fhs[0].Open()
			if err != nil {
				httpx.Internal(w, r, err)
				return
			}
			data, err := io.ReadAll(io.LimitReader(fh, f.KYC.Config.MaxFileSize+1))
			fh.Close()
			if err != nil {
				httpx.Internal(w, r, err)
				return
			}
			binary[name] = kyc.BinaryValue{Data: data}
		}
	}
	_, err := f.KYC.Put(r.Context(), kyc.Principal{Account: t.Account, Memo: t.Memo}, &kyc.PutRequest{Type: t.KYCType, Values: values, Binary: binary})
	var ie *kyc.InputError
	if errors.As(err, &ie) {
		f.step(w, r, t, sess, lang, ie.Msg, values)
		return
	}
	if err != nil {
		httpx.Internal(w, r, err)
		return
	}
	http.Redirect(w, r, f.here(t, lang), http.StatusSeeOther)
}

// postConfirm confirms the amount: the transaction then waits for the user's transfer, and
// its status page shows how to pay.
func (f *Flow) postConfirm(w http.ResponseWriter, r *http.Request) {
	t, sess, lang, ok := f.post(w, r)
	if !ok {
		return
	}
	amount := strings.TrimSpace(r.PostForm.Get("amount"))
	t2, err := f.Transfers.ConfirmInteractive(r.Context(), t.ID, amount)
	var ie *transfer.InputError
	if errors.As(err, &ie) {
		f.step(w, r, t, sess, lang, ie.Msg, map[string]string{"amount": amount})
		return
	}
	if err != nil {
		httpx.Internal(w, r, err)
		return
	}
	f.step(w, r, t2, sess, lang, "", nil)
}

// exchangeTerms shows an exchange on the amount page: the amount is in the asset the user sends;
// a firm quote fixes it and says what the user gets, until when; without one, the rate is
// the day's when the money arrives.
func (f *Flow) exchangeTerms(d *data, t *transfer.Transaction, tr func(string, ...any) string) {
	in, out, feeAsset := t.Assets()
	d.Asset = quotes.Code(in)
	if q := t.Quote; q != nil {
		d.Amount, d.Fixed = transfer.FormatAmount(q.SellAmount), true
		d.Quote = tr("flow.quote", transfer.FormatAmount(q.SellAmount)+" "+quotes.Code(in), transfer.FormatAmount(q.BuyAmount)+" "+quotes.Code(out),
			transfer.FormatAmount(q.Fee)+" "+quotes.Code(feeAsset), q.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
		return
	}
	d.Quote = tr("flow.exchange", quotes.Code(in), quotes.Code(out))
}
