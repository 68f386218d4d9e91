package treasury

import (
	"context"
	"sync"
)

// One source account's transactions are built and submitted one at a time: each takes the
// account's next sequence number, so two at once would race for it (tx_bad_seq, rebuilds).
// Within this process a semaphore per account orders them; across processes (replicas on one
// PostgreSQL) Locker does.

// Locker serializes the transactions of one source account across processes.
type Locker interface {
	// LockSource waits until no other process builds or submits from account and holds that
	// until unlock is called.
	LockSource(ctx context.Context, account string) (unlock func(), err error)
}

var sources sync.Map // account → chan struct{} (a semaphore of one)

type heldSource struct{ account string }

// lockSource holds account for the caller: nested calls with the returned context (build
// creating the account, then paying) hold it already and take nothing.
func (t *Treasury) lockSource(ctx context.Context, account string) (context.Context, func(), error) {
	if ctx.Value(heldSource{account}) != nil {
		return ctx, func() {}, nil
	}
	v, _ := sources.LoadOrStore(account, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ctx, nil, ctx.Err()
	}
	unlock := func() { <-sem }
	if t.Locker != nil {
		unlockOthers, err := t.Locker.LockSource(ctx, account)
		if err != nil {
			unlock()
			return ctx, nil, err
		}
		unlock = func() { unlockOthers(); <-sem }
	}
	return context.WithValue(ctx, heldSource{account}, true), unlock, nil
}
