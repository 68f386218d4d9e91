package events

import (
	"context"

	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

// RecordReconcile records a reconcile that found differences (its report's view) in st, when
// st records events; a clean reconcile is no event.
func RecordReconcile(ctx context.Context, st any, rep *treasury.Report) error {
	r, ok := st.(Recording)
	if !ok || rep == nil || rep.OK {
		return nil
	}
	return r.RecordEvent(ctx, ReconcileDifferences, "reconcile", views.NewReport(rep))
}
