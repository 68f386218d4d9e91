package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

// openStore opens the store the configuration names: PostgreSQL when database_url is set
// (shared with the other replicas and usable while they serve), else the bbolt file in
// data_dir (which one process holds at a time).
func openStore(ctx context.Context, cfg *config.Config) (store.Backend, error) {
	rec, err := events.NewRecorder(cfg)
	if err != nil {
		return nil, err
	}
	var st store.Backend
	if cfg.DatabaseURL != "" {
		// The data dir still holds the admin socket.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		st, err = postgres.Open(ctx, cfg.DatabaseURL.Reveal())
	} else {
		st, err = store.Open(cfg.DataDir, store.Options{})
	}
	if err != nil {
		return nil, err
	}
	// Every change the services make through it, from the server or the CLI, is an event.
	if err := st.SetEvents(rec); err != nil {
		st.Close()
		return nil, fmt.Errorf("events: start the webhooks' feeds: %w", err)
	}
	return st, nil
}
