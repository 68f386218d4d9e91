// Package web serves anchor's pages for people (not wallets' programs): today the status page
// of a transaction that SEP-6 (and SEP-24) objects link to as more_info_url. Pages are rendered
// on the server with html/template and one embedded stylesheet: no JavaScript, a
// Content-Security-Policy that allows none, readable on a phone.
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
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
func (l *Links) MoreInfo(id, lang string) string {
	q := url.Values{"token": {l.mac(id)}}
	if lang != "" {
		q.Set("lang", lang)
	}
	return l.base + "/tx/" + url.PathEscape(id) + "?" + q.Encode()
}

// Valid says whether token opens the status page of id.
func (l *Links) Valid(id, token string) bool {
	return hmac.Equal([]byte(token), []byte(l.mac(id)))
}
