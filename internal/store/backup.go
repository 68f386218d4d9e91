package store

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Backup writes a consistent snapshot of the store to w while it serves: a tar archive of the
// database (bbolt's read-transaction copy, WriteTo) and the keyring, which holds the keys of the
// sealed personal data. The keyring is copied after the snapshot began, so it holds every key
// the snapshot's records name (keys are written before the records that use them commit).
func (s *Bolt) Backup(ctx context.Context, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	now := time.Now()
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tw.WriteHeader(&tar.Header{Name: FileName, Mode: 0o600, Size: tx.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tx.WriteTo(tw); err != nil {
			return err
		}
		s.keys.mu.Lock()
		defer s.keys.mu.Unlock()
		fi, err := s.keys.f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: KeyringName, Mode: 0o600, Size: fi.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, io.NewSectionReader(s.keys.f, 0, fi.Size()))
		return err
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return tw.Close()
}

// ErrInUse: a restore would replace a database that a running anchor holds.
var ErrInUse = errors.New("the database is in use (stop anchor serve first)")

// Restore unpacks a backup archive (Backup) into dataDir: both files are written beside the
// live ones, checked (Check on the restored store), and only then renamed into place, keyring
// first. An existing database is replaced only with force, and never while a process holds it.
func Restore(ctx context.Context, r io.Reader, dataDir string, force bool) (*CheckReport, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	live := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(live); err == nil {
		db, err := bolt.Open(live, 0o600, &bolt.Options{Timeout: 300 * time.Millisecond, ReadOnly: true})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("restore into %s: %w", dataDir, ErrInUse)
		}
		if err == nil {
			db.Close()
		}
		if !force {
			return nil, fmt.Errorf("restore into %s: a database is there already (use --force to replace it)", dataDir)
		}
	}
	stage, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	tr := tar.NewReader(r)
	got := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("restore: not a backup archive: %w", err)
		}
		if h.Name != FileName && h.Name != KeyringName || h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("restore: unexpected entry %q in the archive", h.Name)
		}
		f, err := os.OpenFile(filepath.Join(stage, h.Name), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return nil, fmt.Errorf("restore: %w", err)
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return nil, err
		}
		got[h.Name] = true
	}
	if !got[FileName] || !got[KeyringName] {
		return nil, errors.New("restore: the archive lacks the database or the keyring")
	}
	rep, err := CheckDir(ctx, stage)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return rep, fmt.Errorf("restore: the backup does not pass the store check (%d problem(s)); nothing was replaced", len(rep.Problems))
	}
	for _, name := range []string{KeyringName, FileName} {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dataDir, name)); err != nil {
			return rep, err
		}
	}
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return rep, nil
}

// CheckReport is what a store check found.
type CheckReport struct {
	Schema   int            `json:"schema"`
	Records  map[string]int `json:"records"`
	Problems []string       `json:"problems"`
}

// OK reports a store without problems.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// CheckDir opens the store in dir read-only, without migrating it, and checks it (Check).
func CheckDir(ctx context.Context, dir string) (*CheckReport, error) {
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: 500 * time.Millisecond, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s: %w (is anchor serve running? anchor store check asks it then)", dir, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	keys, err := os.Open(filepath.Join(dir, KeyringName))
	if err != nil {
		return nil, fmt.Errorf("store: keyring: %w", err)
	}
	defer keys.Close()
	return check(ctx, db, &keyring{f: keys})
}

// Check verifies the open store (anchor store check while the server runs).
func (s *Bolt) Check(ctx context.Context) (*CheckReport, error) { return check(ctx, s.db, s.keys) }

// check verifies a store: its schema version; that every record of the transfers, customers,
// treasury actions, unmatched payments and proposals decodes (personal data unsealed with the
// keyring); and that the indexes and the records agree both ways.
func check(ctx context.Context, db *bolt.DB, keys *keyring) (*CheckReport, error) {
	rep := &CheckReport{Records: map[string]int{}, Problems: []string{}}
	problem := func(format string, args ...any) {
		if len(rep.Problems) < 100 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			problem("no meta bucket: not an anchor store")
			return nil
		}
		if raw := meta.Get(keySchemaVersion); len(raw) == 8 {
			rep.Schema = int(binary.BigEndian.Uint64(raw))
		}
		if rep.Schema != SchemaVersion {
			problem("schema %d, this anchor writes %d (anchor serve migrates an older one when it opens it)", rep.Schema, SchemaVersion)
			if rep.Schema > SchemaVersion || rep.Schema < 13 {
				return nil // the indexes below may not exist yet
			}
		}
		each := func(name []byte, fn func(k, v []byte) error) {
			b := tx.Bucket(name)
			if b == nil {
				problem("bucket %s is missing", name)
				return
			}
			_ = b.ForEach(func(k, v []byte) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				rep.Records[string(name)]++
				if err := fn(k, v); err != nil {
					problem("%s %q: %v", name, k, err)
				}
				return nil
			})
		}
		has := func(name, key []byte) bool { b := tx.Bucket(name); return b != nil && b.Get(key) != nil }
		// Transfers and their time index, both ways.
		each(bucketTransfers, func(k, v []byte) error {
			var t transfer.Transaction
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if t.ID != string(k) {
				return fmt.Errorf("holds id %q", t.ID)
			}
			return nil
		})
		each(bucketTransfersByTime, func(k, _ []byte) error {
			if len(k) < 8 || !has(bucketTransfers, k[8:]) {
				return errors.New("names no transaction")
			}
			return nil
		})
		if a, b := rep.Records[string(bucketTransfers)], rep.Records[string(bucketTransfersByTime)]; a != b {
			problem("%d transactions but %d entries in %s", a, b, bucketTransfersByTime)
		}
		// Customers: unsealed with the keyring; the update index and the review queue agree.
		kt := kycTx{tx, keys}
		review := 0
		each(bucketCustomers, func(k, v []byte) error {
			c, err := kt.decodeCustomer(k, v)
			if err != nil {
				return err
			}
			ts := tx.Bucket(bucketCustomerUpdated).Get(k)
			if ts == nil || !has(bucketCustomersByUpdated, append(bytes.Clone(ts), k...)) {
				return errors.New("is missing from the update-order index")
			}
			if InReview(c) {
				review++
				if !has(bucketCustomersInReview, append(bytes.Clone(ts), k...)) {
					return errors.New("waits for review but is missing from the review queue")
				}
			}
			return nil
		})
		each(bucketCustomersByUpdated, func(k, _ []byte) error {
			if len(k) < 8 || !has(bucketCustomers, k[8:]) {
				return errors.New("names no customer")
			}
			return nil
		})
		if a, b := rep.Records[string(bucketCustomers)], rep.Records[string(bucketCustomersByUpdated)]; a != b {
			problem("%d customers but %d entries in %s", a, b, bucketCustomersByUpdated)
		}
		each(bucketCustomersInReview, func(k, _ []byte) error {
			if len(k) < 8 || !has(bucketCustomers, k[8:]) {
				return errors.New("names no customer")
			}
			return nil
		})
		if n := rep.Records[string(bucketCustomersInReview)]; n != review {
			problem("%d customers wait for review but the review queue has %d entries", review, n)
		}
		// Treasury records.
		each(bucketTreasuryOps, func(_, v []byte) error { var op treasury.Op; return json.Unmarshal(v, &op) })
		each(bucketTreasuryProposals, func(_, v []byte) error { var p treasury.Proposal; return json.Unmarshal(v, &p) })
		each(bucketTreasuryUnmatched, func(k, v []byte) error {
			var u treasury.Unmatched
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			if !has(bucketTreasuryUnmatchedByTime, unmatchedTimeKey(u.At, k)) {
				return errors.New("is missing from the time index")
			}
			return nil
		})
		if a, b := rep.Records[string(bucketTreasuryUnmatched)], rep.Records[string(bucketTreasuryUnmatchedByTime)]; a != b {
			problem("%d unmatched payments but %d entries in %s", a, b, bucketTreasuryUnmatchedByTime)
		}
		each(bucketEvents, func(_, v []byte) error { var e kyc.Event; return json.Unmarshal(v, &e) })
		return ctx.Err()
	})
	return rep, err
}
