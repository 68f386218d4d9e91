// Package webhooksig signs and verifies anchor's event webhooks. Each delivery carries
//
//	Anchor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// A receiver recomputes the HMAC over the timestamp and the raw body with the endpoint's
// secret, compares it in constant time, and refuses a timestamp too far from its clock (a
// replayed delivery). During a secret's rotation the header may hold several v1 values; one
// matching is enough. The package imports nothing of anchor's: receivers written in Go use it.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is the signature's header.
const Header = "Anchor-Signature"

// DefaultTolerance is how far from the receiver's clock a delivery's timestamp may be.
const DefaultTolerance = 5 * time.Minute

var (
	// ErrMalformed: the header is missing or not t=...,v1=....
	ErrMalformed = errors.New("webhooksig: malformed " + Header + " header")
	// ErrTimestamp: the timestamp is outside the tolerance (a replay, or a clock off).
	ErrTimestamp = errors.New("webhooksig: timestamp outside the tolerance")
	// ErrMismatch: no signature matches the body and secret.
	ErrMismatch = errors.New("webhooksig: signature does not match")
)

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the header value for body sent at now.
func Sign(secret, body []byte, now time.Time) string {
	ts := now.Unix()
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac(secret, ts, body)))
}

// Verify checks a header value against body and secret at now, with tolerance (0: the
// default). It returns nil only for an authentic, fresh delivery.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrMalformed
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrMalformed
			}
			sigs = append(sigs, b)
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrMismatch
}
