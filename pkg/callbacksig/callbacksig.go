// Package callbacksig signs and verifies the Signature header of anchor callbacks (SEP-12
// "Customer callback PUT", also used by SEP-6 and SEP-24): t=<timestamp>, s=<base64 signature>
// over "<timestamp>.<host>.<body>" with the anchor's SIGNING_KEY.
package callbacksig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
)

// Sign returns the Signature header value for body sent to host at time now.
func Sign(kp *keypair.Full, host string, body []byte, now time.Time) (string, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := kp.Sign(payload(ts, host, body))
	if err != nil {
		return "", err
	}
	return "t=" + ts + ", s=" + base64.StdEncoding.EncodeToString(sig), nil
}

func payload(ts, host string, body []byte) []byte {
	p := make([]byte, 0, len(ts)+len(host)+len(body)+2)
	p = append(append(append(append(p, ts...), '.'), host...), '.')
	return append(p, body...)
}

// Verify checks a Signature (or X-Stellar-Signature) header as a wallet must: the signature by
// signingKey (the anchor's SIGNING_KEY) over the timestamp, this host and the body, and a
// timestamp no older than maxAge.
func Verify(header, host string, body []byte, signingKey string, now time.Time, maxAge time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		// Cut at the first "=" only: base64 padding keeps its own.
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "s":
			sig = v
		}
	}
	if ts == "" || sig == "" {
		return errors.New("callbacksig: header must be t=<timestamp>, s=<signature>")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("callbacksig: bad timestamp")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("callbacksig: timestamp is %s away from now", age.Round(time.Second))
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errors.New("callbacksig: signature is not base64")
	}
	kp, err := keypair.ParseAddress(signingKey)
	if err != nil {
		return fmt.Errorf("callbacksig: the signing key %q is not a Stellar account (G...)", signingKey)
	}
	if err := kp.Verify(payload(ts, host, body), raw); err != nil {
		return errors.New("callbacksig: signature does not verify")
	}
	return nil
}
