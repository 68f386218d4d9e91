package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
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

func countsLine(rep *store.CheckReport) string {
	return fmt.Sprintf("%d transactions, %d customers, %d treasury actions", rep.Records["sep6_transactions"], rep.Records["kyc_customers"], rep.Records["treasury_ops"])
}

func printCheck(f *Factory, rep *store.CheckReport) {
	for _, p := range rep.Problems {
		fmt.Fprintf(f.IO.Out, "problem: %s\n", p)
	}
}

func newStoreCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Look after the store: check it, copy it to PostgreSQL"}
	cmd.AddCommand(newStoreCopyCmd(f))
	var dataDir string
	var jsonOut bool
	check := &cobra.Command{
		Use:   "check [--data-dir DIR] [--json]",
		Short: "Verify the store: schema, every record decodes, indexes agree with records; exit 1 on a problem",
		Long: `Verify a store: its schema version, that every transaction, customer (unsealed with the
keyring), treasury action, unmatched payment, proposal and audit event decodes, and that the
indexes (transactions by time, customers by update, the review queue, unmatched payments by
time) and the records agree both ways. While anchor serve runs it checks through the admin
socket; otherwise it opens the store read-only, without migrating it. Exit 1 on any problem.`,
		Example: "  anchor store check\n  anchor store check --data-dir /srv/anchor/data --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := checkStore(cmd.Context(), f, dataDir)
			if err != nil {
				return err
			}
			if jsonOut {
				if err := writeJSON(f.IO.Out, rep); err != nil {
					return err
				}
			} else {
				printCheck(f, rep)
				fmt.Fprintf(f.IO.Out, "schema %d; %s; %d problem(s)\n", rep.Schema, countsLine(rep), len(rep.Problems))
			}
			if !rep.OK() {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("the store has %d problem(s)", len(rep.Problems))}
			}
			return nil
		},
	}
	check.Flags().StringVar(&dataDir, "data-dir", "", "the data directory (default: data_dir)")
	check.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.AddCommand(check)
	return cmd
}

func checkStore(ctx context.Context, f *Factory, dataDir string) (*store.CheckReport, error) {
	if dataDir == "" {
		cfg, err := f.Config(nil)
		if err != nil {
			return nil, err
		}
		dataDir = cfg.DataDir
		if c := admin.Dial(ctx, admin.SocketPath(dataDir)); c != nil {
			return c.Check(ctx)
		}
		if cfg.DatabaseURL != "" {
			st, err := openStore(ctx, cfg)
			if err != nil {
				return nil, err
			}
			defer st.Close()
			return st.Check(ctx)
		}
	}
	return store.CheckDir(ctx, dataDir)
}
