package treasury

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/anchorkit/anchor/internal/transfer"
)

// Deposits lists the ids of the deposits in the given statuses (one pass over the store),
// ordered by the order of statuses, newest first within one.
func Deposits(ctx context.Context, transfers *transfer.Service, statuses ...transfer.Status) ([]string, error) {
	list, err := transfers.OperatorList(ctx, transfer.OpsFilter{AnyStatus: statuses, Kind: transfer.Deposit})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b *transfer.Transaction) int {
		return slices.Index(statuses, a.Status) - slices.Index(statuses, b.Status)
	})
	ids := make([]string, len(list))
	for i, tx := range list {
		ids[i] = tx.ID
	}
	return ids, nil
}

// ResumeCredits carries on the credits an operator started: deposits left in pending_stellar
// (a crash or a Horizon outage mid-way) and deposits in pending_trust whose account has since
// added the trustline. Deposits still without a trustline, and prepared envelopes waiting for
// outside signatures, are left as they are without a write. It never starts a credit of a
// pending_anchor deposit: that is the operator's decision. It returns how many completed.
func (t *Treasury) ResumeCredits(ctx context.Context, transfers *transfer.Service) (int, error) {
	ids, err := Deposits(ctx, transfers, transfer.PendingStellar, transfer.PendingTrust)
	if err != nil {
		return 0, err
	}
	completed := 0
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return completed, err
		}
		tx, err := t.Credit(ctx, id)
		switch {
		case errors.Is(err, ErrAwaitingSignatures), errors.As(err, new(*transfer.ComplianceError)), errors.As(err, new(*ProposedError)):
			// Waiting for outside signatures or for compliance: anchor tx show says so.
		case err != nil:
			errs = append(errs, fmt.Errorf("deposit %s: %w", id, err))
		case tx.Status == transfer.Completed:
			completed++
		}
	}
	return completed, errors.Join(errs...)
}
