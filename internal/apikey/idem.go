package apikey

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IdemRetention is how long an answer is kept for retries of the same call.
const IdemRetention = 24 * time.Hour

var (
	// ErrIdemReused: the Idempotency-Key was used before with another request (422).
	ErrIdemReused = errors.New("this Idempotency-Key was used with another request; use a new key for a new call")
	// ErrIdemRunning: a call with the key is still running (409): retry when it has answered.
	ErrIdemRunning = errors.New("a call with this Idempotency-Key is still running; retry once it has answered")
)

// CheckIdemKey refuses an Idempotency-Key that is empty, too long or not printable ASCII.
func CheckIdemKey(key string) error {
	if key == "" || len(key) > 255 {
		return inputErr("Idempotency-Key: give 1 to 255 characters (a UUID, say)")
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return inputErr("Idempotency-Key: only printable ASCII without spaces")
		}
	}
	return nil
}

// Begin claims key for a call (request is its digest) until now+lease. It returns nil when the
// caller is to make the call (and then Finish or Abandon it), the earlier answer when the same
// call was made before, ErrIdemReused for another request under the key, and ErrIdemRunning
// while the first call runs. A claim whose lease lapsed (its server died mid-call) is taken
// over: the call is made again, and the services' own exactly-once rules (a transaction moves
// once, a treasury action is submitted once) keep it from acting twice.
func (s *Service) Begin(ctx context.Context, scope, key, request string, lease time.Duration) (*Idem, error) {
	now := s.now().UTC()
	var prior *Idem
	err := s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		prior = nil
		r, err := tx.Idem(scope, key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case r.Request != request:
			return ErrIdemReused
		case r.Done:
			prior = r
			return nil
		case now.Before(r.Until):
			return ErrIdemRunning
		}
		return tx.PutIdem(&Idem{V: 1, Scope: scope, Key: key, Request: request, CreatedAt: now, Until: now.Add(lease)})
	})
	if err != nil {
		return nil, err
	}
	return prior, nil
}

// Finish records the answer of a call Begin let through.
func (s *Service) Finish(ctx context.Context, scope, key, request string, status int, contentType string, body []byte) error {
	return s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		r, err := tx.Idem(scope, key)
		if err != nil {
			return err
		}
		if r.Request != request {
			return fmt.Errorf("idempotency record %q changed under its call", key)
		}
		r.Done, r.Status, r.ContentType, r.Body = true, status, contentType, body
		return tx.PutIdem(r)
	})
}

// Abandon lets the key be used again at once: the call failed without an answer worth
// repeating (the database or Horizon was unavailable), and a retry should make it again.
func (s *Service) Abandon(ctx context.Context, scope, key, request string) error {
	return s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		r, err := tx.Idem(scope, key)
		if errors.Is(err, ErrNotFound) || (err == nil && (r.Done || r.Request != request)) {
			return nil
		}
		if err != nil {
			return err
		}
		r.Until = time.Time{}
		return tx.PutIdem(r)
	})
}

// Prune forgets the answers older than IdemRetention.
func (s *Service) Prune(ctx context.Context) (int, error) {
	n := 0
	err := s.Store.APIKeyUpdate(ctx, func(tx Tx) error {
		var err error
		n, err = tx.DeleteIdemBefore(s.now().Add(-IdemRetention))
		return err
	})
	return n, err
}
