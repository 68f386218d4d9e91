// Package fault is the error family the services share: a caller's mistake (InputError: 400 on
// HTTP, exit 2 in the CLI) and a missing record (every service's not-found error is
// ErrNotFound by errors.Is: 404, exit 1), so that transports map them without knowing which
// service answered.
package fault

import (
	"errors"
	"fmt"
	"net/url"
)

// InputError is a request refused as asked, its message for the caller.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Input is an InputError with a formatted message.
func Input(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is what every service's not-found error is, by errors.Is.
var ErrNotFound = errors.New("not found")

// NotFound is a service's own not-found error (its own message and identity) that is also
// ErrNotFound.
func NotFound(msg string) error { return &notFound{msg} }

type notFound struct{ msg string }

func (e *notFound) Error() string        { return e.msg }
func (e *notFound) Is(target error) bool { return target == ErrNotFound }

// ErrSharedMismatch is a SEP-10 authentication refused by the stores: an account that
// authenticated with a memo (a shared account, SEP-12) now authenticates without one, or the
// reverse. It lives here, below both the stores that return it and SEP-10, which answers it.
var ErrSharedMismatch = errors.New("the account authenticates inconsistently as a shared account")

// WithoutURL is err without the URL that Go's HTTP client quotes in its errors (*url.Error):
// a receiver's token may be in the URL's path or query, and these errors reach the log, the
// store and public answers. The caller names the receiver by its host where it needs to.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// URLHost names a URL by its host, for messages that must not quote the URL itself (a token may
// be in its path or query); fallback when it has none.
func URLHost(raw, fallback string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return fallback
}
