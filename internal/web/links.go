// Package web serves anchor's pages for people (not wallets' programs): today the status page
// of a transaction that SEP-6 (and SEP-24) objects link to as more_info_url. Pages are rendered
// on the server with html/template and one embedded stylesheet: no JavaScript, a
// Content-Security-Policy that allows none, readable on a phone.
package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"time"
)

// Links makes and checks the capability URLs of the pages: a transaction's status page is
// opened from a wallet without its session, so the URL carries a MAC of the transaction id
// (keyed with the server's JWT secret, for this purpose only) instead.
type Links struct {
	base string
	key  []byte
}

// NewLinks returns the links of the server at base (public_url), keyed with secret.
func NewLinks(base string, secret []byte) *Links {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("anchor web links v1")) // a key of its own, derived from the secret
	return &Links{base: base, key: m.Sum(nil)}
}

func (l *Links) mac(id string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("more_info_url\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// MoreInfo is the URL of a transaction's status page; lang, when set, is passed on (SEP-6: "If
// lang was passed in the request, a lang query parameter should be added to the URL").
func (l *Links) MoreInfo(id, lang string) string { return l.base + l.moreInfoPath(id, lang) }

// moreInfoPath is MoreInfo without the server's base (a redirect on the host in use).
func (l *Links) moreInfoPath(id, lang string) string {
	q := url.Values{"token": {l.mac(id)}}
	if lang != "" {
		q.Set("lang", lang)
	}
	return "/tx/" + url.PathEscape(id) + "?" + q.Encode()
}

// Valid says whether token opens the status page of id.
func (l *Links) Valid(id, token string) bool {
	return hmac.Equal([]byte(token), []byte(l.mac(id)))
}

// InteractiveLifetime is how long a SEP-24 interactive URL can be opened.
const InteractiveLifetime = 5 * time.Minute

// Interactive is the URL a wallet opens for a SEP-24 transaction's interactive flow. Its token
// carries its expiry and a nonce, under a MAC bound to the transaction and the account and memo
// that started it; the flow's first load spends it (exchanging it for a session), so it opens
// the flow once.
func (l *Links) Interactive(id, account, memo, lang string, expires time.Time) (string, error) {
	raw := make([]byte, 8+16, 8+16+sha256.Size)
	binary.BigEndian.PutUint64(raw, uint64(expires.Unix()))
	if _, err := rand.Read(raw[8:24]); err != nil {
		return "", err
	}
	raw = append(raw, l.interactiveMAC(id, account, memo, raw[:24])...)
	q := url.Values{"token": {base64.RawURLEncoding.EncodeToString(raw)}}
	if lang != "" {
		q.Set("lang", lang)
	}
	return l.base + "/flow/" + url.PathEscape(id) + "?" + q.Encode(), nil
}

func (l *Links) interactiveMAC(id, account, memo string, head []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("sep24 interactive\x00" + id + "\x00" + account + "\x00" + memo + "\x00"))
	m.Write(head)
	return m.Sum(nil)
}

// Errors of CheckInteractive.
var (
	ErrBadToken     = errors.New("the link is not valid")
	ErrExpiredToken = errors.New("the link has expired")
)

// CheckInteractive verifies an interactive URL's token for the transaction of account and
// memo, and returns when it expires. It does not spend it: the caller marks it used once.
func (l *Links) CheckInteractive(id, account, memo, token string, now time.Time) (time.Time, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 24+sha256.Size || !hmac.Equal(raw[24:], l.interactiveMAC(id, account, memo, raw[:24])) {
		return time.Time{}, ErrBadToken
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	if !now.Before(expires) {
		return expires, ErrExpiredToken
	}
	return expires, nil
}
