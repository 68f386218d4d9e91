package transfer

import (
	"context"
	"log/slog"
	"sync"
)

// Advancer moves a customer's waiting transactions on after a change of its KYC, on one worker
// the server owns (Run), instead of a goroutine per request: a KYC change only queues the
// customer, once however often it changes before the worker gets to it. The queue is bounded;
// a customer that does not fit is left to the server's periodic reconcile pass.
type Advancer struct {
	svc    *Service
	logger *slog.Logger
	max    int

	mu      sync.Mutex
	pending map[owner]bool
	queue   []owner
	wake    chan struct{}
}

type owner struct{ account, memo string }

// NewAdvancer returns an Advancer over svc holding at most max customers in its queue.
func NewAdvancer(svc *Service, logger *slog.Logger, max int) *Advancer {
	return &Advancer{svc: svc, logger: logger, max: max, pending: map[owner]bool{}, wake: make(chan struct{}, 1)}
}

// Enqueue asks for the customer's waiting transactions to be looked at; it never blocks.
func (a *Advancer) Enqueue(account, memo string) {
	o := owner{account, memo}
	a.mu.Lock()
	if !a.pending[o] && len(a.queue) < a.max {
		a.pending[o] = true
		a.queue = append(a.queue, o)
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run works through the queue until ctx ends.
func (a *Advancer) Run(ctx context.Context) error {
	for {
		a.mu.Lock()
		var next *owner
		if len(a.queue) > 0 {
			o := a.queue[0]
			a.queue = a.queue[1:]
			delete(a.pending, o)
			next = &o
		}
		a.mu.Unlock()
		if next != nil {
			if err := a.svc.AdvanceCustomer(ctx, next.account, next.memo); err != nil && ctx.Err() == nil {
				a.logger.Warn("advance transactions after a KYC change", "err", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.wake:
		}
	}
}
