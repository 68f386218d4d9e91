package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

func newStoreCopyCmd(f *Factory) *cobra.Command {
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "copy --from PATH --to postgres://... [--force]",
		Short: "Copy a bbolt store into PostgreSQL, then verify the copy (counts and a checksum per kind)",
		Long: `Copy everything a bbolt store holds into a PostgreSQL database: customers with their files
(unsealed with the keyring beside the database), the audit trail, tombstones, transactions with
their history, references and memos, queued callbacks, treasury actions, cursors, unmatched
payments, proposals, the last reconcile, and the used SEP-10 challenges. Then compare source
and target, kind by kind: the same number of records and the same SHA-256 over them, or exit 1.

The source is anchor.db (or its data directory) of a stopped anchor serve; the target is
migrated first and must be empty, unless --force (copy over what it holds) or it holds an
unfinished copy of the same source: an interrupted copy is simply run again. Then set
database_url and start the replicas (docs/scale-out.md).`,
		Example: "  anchor store copy --from /srv/anchor/data/anchor.db --to postgres://anchor@db.internal/anchor",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageError{errors.New("give --from PATH (anchor.db or its data directory) and --to URL (postgres://user@host/database)")}
			}
			dir := from
			if fi, err := os.Stat(from); err != nil {
				return fmt.Errorf("--from %s: %w", from, err)
			} else if !fi.IsDir() {
				dir = filepath.Dir(from)
			}
			if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
				return fmt.Errorf("--from %s: no %s there", from, store.FileName)
			}
			src, err := store.Open(dir, store.Options{})
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := postgres.Open(cmd.Context(), to)
			if err != nil {
				return err
			}
			defer dst.Close()
			source, _ := filepath.Abs(filepath.Join(dir, store.FileName))
			if err := dst.BeginCopy(cmd.Context(), source, force); err != nil {
				return err
			}
			sums, err := store.Copy(cmd.Context(), src, dst, func(kind string, n int) {
				fmt.Fprintf(f.IO.ErrOut, "copied %d %s\n", n, kind)
			})
			if sums != nil {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "KIND\tRECORDS\tSHA-256")
				for _, s := range sums {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Kind, s.Count, s.Sum[:16])
				}
				tw.Flush()
			}
			if err != nil {
				return &ExitError{Code: ExitFailure, Err: err}
			}
			if err := dst.EndCopy(cmd.Context(), source); err != nil {
				return err
			}
			total := 0
			for _, s := range sums {
				total += s.Count
			}
			fmt.Fprintf(f.IO.Out, "copied %d records from %s to %s; verified: every kind's count and checksum match\n", total, source, postgres.Redact(to))
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the bbolt store: anchor.db or its data directory (anchor serve stopped)")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL database (postgres://...)")
	cmd.Flags().BoolVar(&force, "force", false, "copy into a database that already holds records")
	return cmd
}
