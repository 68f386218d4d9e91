package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/anchorkit/anchor/internal/store"
)

// Maintenance is what backups and store checks need from the running server's store.
type Maintenance interface {
	Backup(ctx context.Context, w io.Writer) error
	Check(ctx context.Context) (*store.CheckReport, error)
}

// mountMaintenance adds GET /v1/backup (the archive, streamed without a deadline: a large
// store takes its time) and GET /v1/store/check.
func mountMaintenance(mux mux, st Maintenance) {
	mux.HandleFunc("GET /v1/backup", func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		if err := st.Backup(r.Context(), w); err != nil {
			panic(http.ErrAbortHandler) // the client sees a cut archive, never a short one as whole
		}
	})
	mux.HandleFunc("GET /v1/store/check", func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		rep, err := st.Check(r.Context())
		reply(w, r, rep, err)
	})
}

// Backup asks the running server for a snapshot of its store and writes it to w.
func (c *Client) Backup(ctx context.Context, w io.Writer) error {
	return c.do(ctx, "GET", "/v1/backup", nil, stream(func(body io.Reader) error {
		n, err := io.Copy(w, body)
		if err != nil {
			return fmt.Errorf("backup cut short after %d bytes: %w", n, err)
		}
		return nil
	}))
}

// Check asks the running server to check its store.
func (c *Client) Check(ctx context.Context) (*store.CheckReport, error) {
	var out store.CheckReport
	if err := c.do(ctx, "GET", "/v1/store/check", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
