package cmd

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

func newBackupCmd(f *Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Write a consistent snapshot of the store (database and keyring), with a checksum file",
		Long: `Write a consistent snapshot of the store to FILE: a tar archive of the database (a bbolt read
transaction's copy, taken while anchor serve keeps serving, through its admin socket) and the
keyring that unseals the customers' personal data. It is written to a temporary file, synced
and renamed, then FILE.sha256 is written (sha256sum's format). Without a server the store is
read directly. The archive holds personal data and their keys: keep it as you keep the
database, and expire old backups (an erased customer stays readable in backups taken before).`,
		Example: "  anchor backup --out /var/backups/anchor/anchor-$(date +%F).tar",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("--out FILE is required")}
			}
			cfg, err := f.Config(nil)
			if err != nil {
				return err
			}
			if cfg.DatabaseURL != "" {
				return postgres.ErrNoBackup
			}
			write := func(w io.Writer) error {
				if c := admin.Dial(cmd.Context(), admin.SocketPath(cfg.DataDir)); c != nil {
					return c.Backup(cmd.Context(), w)
				}
				st, err := openStore(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				defer st.Close()
				return st.Backup(cmd.Context(), w)
			}
			sum, size, err := writeAtomically(out, write)
			if err != nil {
				return err
			}
			line := hex.EncodeToString(sum) + "  " + filepath.Base(out) + "\n"
			if _, _, err := writeAtomically(out+".sha256", func(w io.Writer) error { _, err := io.WriteString(w, line); return err }); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "wrote %s (%d bytes) and %s.sha256\n", out, size, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the backup file to write (mode 0600)")
	return cmd
}

// writeAtomically writes path through a temporary file in its directory (mode 0600), synced and
// renamed into place, and returns the SHA-256 and size of what was written.
func writeAtomically(path string, write func(io.Writer) error) ([]byte, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return nil, 0, err
	}
	if err := errors.Join(bw.Flush(), tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// verifyChecksum checks file against file.sha256 (sha256sum's format).
func verifyChecksum(file string) error {
	raw, err := os.ReadFile(file + ".sha256")
	if err != nil {
		return fmt.Errorf("no checksum file %s.sha256 (written by anchor backup; --no-checksum to restore without it)", file)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(raw)), " ")
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want) {
		return fmt.Errorf("%s does not match its checksum (%s, want %s): the file is damaged or not the one backed up", file, got, want)
	}
	return nil
}

func newRestoreCmd(f *Factory) *cobra.Command {
	var dataDir string
	var force, noChecksum bool
	cmd := &cobra.Command{
		Use:   "restore FILE [--data-dir DIR] [--force]",
		Short: "Restore a backup into a data directory, after checking it",
		Long: `Check FILE against FILE.sha256, unpack it beside the data directory's files, run the store
check on what was unpacked, and only then move it into place (keyring first, then database).
A database that a running anchor holds is never replaced; an existing one only with --force.
The data directory defaults to the configuration's data_dir.`,
		Example: "  anchor restore /var/backups/anchor/anchor-2026-12-01.tar --data-dir /srv/anchor/data",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				cfg, err := f.Config(nil)
				if err != nil {
					return usageError{fmt.Errorf("give --data-dir DIR (no configuration here to take data_dir from: %v)", err)}
				}
				dataDir = cfg.DataDir
			}
			if !noChecksum {
				if err := verifyChecksum(args[0]); err != nil {
					return err
				}
			}
			in, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			rep, err := store.Restore(cmd.Context(), bufio.NewReaderSize(in, 1<<20), dataDir, force)
			if rep != nil && !rep.OK() {
				printCheck(f, rep)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "restored %s into %s (schema %d; %s)\n", args[0], dataDir, rep.Schema, countsLine(rep))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the data directory to restore into (default: data_dir)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing database (never one in use)")
	cmd.Flags().BoolVar(&noChecksum, "no-checksum", false, "restore without FILE.sha256 (the store check still runs)")
	return cmd
}
