package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

// openStore opens the store the configuration names: PostgreSQL when database_url is set
// (shared with the other replicas and usable while they serve), else the bbolt file in
// data_dir (which one process holds at a time).
func openStore(ctx context.Context, cfg *config.Config) (store.Backend, error) {
	if cfg.DatabaseURL != "" {
		// The data dir still holds the admin socket.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		return postgres.Open(ctx, cfg.DatabaseURL.Reveal())
	}
	return store.Open(cfg.DataDir, store.Options{})
}
