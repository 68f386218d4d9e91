package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/anchorkit/anchor/internal/events"
)

// FileName is the database file inside the data dir.
const FileName = "anchor.db"

// SchemaVersion is the schema this build writes. Bump it and append to migrations together.
const SchemaVersion = 20

var (
	bucketMeta       = []byte("meta")
	bucketChallenges = []byte("sep10_challenges")
	// bucketAccountModes: G... account → 's' (authenticates as a shared account) or 'n'.
	bucketAccountModes = []byte("sep10_account_modes")
	keySchemaVersion   = []byte("schema_version")

	bucketCustomers     = []byte("kyc_customers")      // id → Customer JSON
	bucketCustomerKeys  = []byte("kyc_customer_keys")  // account \x00 memo → id
	bucketFiles         = []byte("kyc_files")          // file id → File JSON
	bucketFileData      = []byte("kyc_file_data")      // file id → contents
	bucketCustomerFiles = []byte("kyc_customer_files") // customer id \x00 file id → ""
	bucketEvents        = []byte("kyc_events")         // customer id \x00 seq → Event JSON (append-only)
	bucketCallbacks     = []byte("callbacks")          // kind/id → callback.Item JSON
	bucketPendingFiles  = []byte("kyc_pending_files")  // account \x00 memo \x00 file id → "" (not yet attached)
	bucketTombstones    = []byte("kyc_tombstones")     // account \x00 memo → Tombstone JSON (a rejection past erasure)
	bucketTombstoneIDs  = []byte("kyc_tombstone_ids")  // erased customer id → account \x00 memo
	bucketKYCBytes      = []byte("kyc_bytes")          // G... account → file bytes stored (8 bytes)
	// The customers newest first (kyc list reads only its page): updated-at (8 bytes, unix ns,
	// big-endian) ‖ id → "", and id → its current key's 8 bytes there.
	bucketCustomersByUpdated = []byte("kyc_customers_by_updated")
	bucketCustomerUpdated    = []byte("kyc_customer_updated")
	// The review queue, newest first: the same keys, for customers not rejected with a field
	// waiting for review (PROCESSING or VERIFICATION_REQUIRED) — every customer PROCESSING for
	// some type is there, so kyc list --status processing reads the queue, not every customer.
	bucketCustomersInReview = []byte("kyc_customers_in_review")
)

// migrations[i] upgrades a database from schema version i to i+1.
var migrations = []func(tx *bolt.Tx) error{
	0:  createBuckets(bucketMeta, bucketChallenges),
	1:  createBuckets(bucketCustomers, bucketCustomerKeys, bucketFiles, bucketFileData, bucketCustomerFiles, bucketEvents, bucketCallbacks, bucketPendingFiles),
	3:  createBuckets(bucketTreasuryOps, bucketTreasuryCursors, bucketTreasuryUnmatched),
	4:  createBuckets(bucketSlotsFree, bucketSlotsWipe, bucketSlotsReady),
	5:  countOpen,
	6:  createBuckets(bucketTombstones, bucketTombstoneIDs),
	7:  buildWaitingIndexes,
	8:  countBytes,
	9:  createBuckets(bucketAccountModes),
	10: createBuckets(bucketCustomersByUpdated, bucketCustomerUpdated), // filled at schema 13
	11: createBuckets(bucketTreasuryProposals),
	12: createBuckets(bucketCustomersInReview), // filled by indexCustomers
	13: func(tx *bolt.Tx) error {
		if err := createBuckets(bucketTreasuryUnmatchedByTime)(tx); err != nil {
			return err
		}
		return indexUnmatched(tx)
	},
	14: createBuckets(bucketAPIKeys, bucketIdem),
	15: createBuckets(bucketEventLog, bucketEventSubjects, bucketDeliveries),
	16: createBuckets(bucketQuotes),
	17: rekeyDeliveries,
	18: createBuckets(bucketEventFeeds),
	19: createBuckets(bucketTreasuryReconcile),
	2:  createBuckets(bucketTransfers, bucketTransfersByOwner, bucketTransfersByTime, bucketTransfersStellar, bucketTransfersExt, bucketTransferMemos),
}

func createBuckets(names ...[]byte) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, b := range names {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the file.
	LockTimeout time.Duration
	// NoSync skips fsync on commit (tests and benchmarks only: acknowledged writes may be lost).
	NoSync bool
}

// Bolt is the bbolt implementation of Store.
type Bolt struct {
	db     *bolt.DB
	keys   *keyring
	refill sync.Mutex // one refillReady at a time
	wiping sync.Mutex // one WipeErasedKeys at a time
	marks  *marks     // used SEP-10 challenges on their way to disk (marks.go)
	// commits groups the writes that share a commit (commit.go).
	commits *committer
	events  *events.Recorder
}

var _ Store = (*Bolt)(nil)

// Open opens (creating if needed) the database in dataDir and migrates it to SchemaVersion.
// It fails fast with ErrLocked when another process holds the file.
func Open(dataDir string, opts Options) (*Bolt, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 500 * time.Millisecond
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s: %w (is anchor serve running?)", path, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	keys, err := openKeyring(filepath.Join(dataDir, KeyringName), opts.NoSync)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Bolt{db: db, keys: keys, commits: &committer{db: db}}
	if err := s.migrate(); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	// Finish erasures a crash interrupted between the deletion and the wipe of the key.
	if err := s.WipeErasedKeys(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.startMarks(); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

func (s *Bolt) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		v := 0
		if b := tx.Bucket(bucketMeta); b != nil {
			if raw := b.Get(keySchemaVersion); len(raw) == 8 {
				v = int(binary.BigEndian.Uint64(raw))
			}
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w (schema %d, this anchor knows %d)", ErrNewerSchema, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate to schema %d: %w", v+1, err)
			}
			if v == 4 {
				// Schema 5 seals personal data (keyring.go): seal what earlier versions stored.
				if err := (kycTx{tx, s.keys}).sealPlain(); err != nil {
					return fmt.Errorf("migrate to schema 5: %w", err)
				}
			}
			if v == 12 {
				// Schema 11 orders customers by update (kyc list) and schema 13 keeps the review
				// queue in that order: index what is stored, once both buckets exist.
				if err := (kycTx{tx, s.keys}).indexCustomers(); err != nil {
					return fmt.Errorf("migrate to schema 13: %w", err)
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, uint64(v)))
	})
}

// idsWithPrefix returns up to limit keys of bucket name that start with prefix (ids are keys).
func (s *Bolt) idsWithPrefix(ctx context.Context, name []byte, prefix string, limit int) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)) && len(out) < limit; k, _ = c.Next() {
			out = append(out, string(k))
		}
		return ctx.Err()
	})
	return out, err
}

// TransferIDsWithPrefix implements transfer.Store.
func (s *Bolt) TransferIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(ctx, bucketTransfers, prefix, limit)
}

// CustomerIDsWithPrefix implements kyc.Store.
func (s *Bolt) CustomerIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(ctx, bucketCustomers, prefix, limit)
}

// Close closes the database.
// Close writes the last SEP-10 marks, records a clean stop and closes the files.
func (s *Bolt) Close() error { return errors.Join(s.stopMarks(), s.db.Close(), s.keys.close()) }

// Ping proves the store writable: one write transaction, committed (and synced) like any other.
func (s *Bolt) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("ready_probe"), binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano())))
	})
}

// SchemaVersion reads the schema version from the meta bucket.
func (s *Bolt) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(keySchemaVersion)
		if len(raw) != 8 {
			return ErrNotFound
		}
		v = int(binary.BigEndian.Uint64(raw))
		return nil
	})
	return v, err
}

// challengeRecord is the value stored per used challenge: {"v":1,"used_at":UNIX_SECONDS}.
func challengeRecord(usedAt time.Time) []byte {
	b := append(make([]byte, 0, 40), `{"v":1,"used_at":`...)
	b = strconv.AppendInt(b, usedAt.Unix(), 10)
	return append(b, '}')
}

// challengeKey is the challenge's expiry (big-endian Unix seconds) followed by its hash:
// new marks append at the right edge of the B+tree, and pruning deletes a prefix range.
func challengeKey(hash [32]byte, expires time.Time) []byte {
	k := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(k, uint64(expires.Unix()))
	return append(k, hash[:]...)
}

// UseChallenge implements ChallengeStore. The mark is made in memory and written by the
// background flusher within markFlushEvery (marks.go): a token does not wait for an fsync, and
// a crash that loses the last marks makes the next open refuse every challenge issued before it.
// A challenge's expiry is part of what its server signature covers, so the same challenge
// always maps to the same key.
func (s *Bolt) UseChallenge(ctx context.Context, hash [32]byte, expires time.Time, account string, shared bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	mode := byte('n')
	if shared {
		mode = 's'
	}
	return s.useMark(challengeKey(hash, expires), challengeRecord(time.Now()), account, mode)
}

func (s *Bolt) PruneChallenges(ctx context.Context, before time.Time) (int, error) {
	if err := s.flushMarks(); err != nil {
		return 0, err
	}
	limit := make([]byte, 8)
	binary.BigEndian.PutUint64(limit, uint64(before.Unix()))
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChallenges).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
