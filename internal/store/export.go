package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/events"
)

var _ Exporter = (*Bolt)(nil)

// Export implements Exporter: the records of a kind, personal data unsealed.
func (s *Bolt) Export(ctx context.Context, kind string, fn func(Record) error) error {
	if kind == "challenges" {
		if err := s.flushMarks(); err != nil { // the marks still in memory too
			return err
		}
	}
	return s.db.View(func(tx *bolt.Tx) error {
		kt := kycTx{tx, s.keys}
		each := func(bucket []byte, rec func(k, v []byte) (Record, error)) error {
			return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, err := rec(k, v)
				if err != nil {
					return fmt.Errorf("%s %q: %w", bucket, k, err)
				}
				return fn(r)
			})
		}
		canonical := func(k, v []byte) (Record, error) {
			b, err := Canonical(kind, v)
			return Record{Key: string(k), Body: b}, err
		}
		value := func(k, v []byte) (Record, error) { return Record{Key: string(k), Body: bytes.Clone(v)}, nil }
		// Keys of two parts (account and memo, namespace and memo) are joined by PairSep.
		pair := func(rec func(k, v []byte) (Record, error)) func(k, v []byte) (Record, error) {
			return func(k, v []byte) (Record, error) {
				r, err := rec(k, v)
				r.Key = strings.Replace(r.Key, "\x00", PairSep, 1)
				return r, err
			}
		}
		switch kind {
		case "customers":
			return each(bucketCustomers, func(k, v []byte) (Record, error) {
				plain, err := kt.open(v)
				if err != nil {
					return Record{}, err
				}
				return canonical(k, plain)
			})
		case "files":
			return each(bucketFiles, func(k, v []byte) (Record, error) {
				r, err := canonical(k, v)
				if err != nil {
					return r, err
				}
				if sealed := tx.Bucket(bucketFileData).Get(k); sealed != nil {
					data, err := kt.open(sealed)
					if err != nil {
						return r, err
					}
					r.Data = bytes.Clone(data)
					if r.Data == nil {
						r.Data = []byte{}
					}
				}
				return r, nil
			})
		case "events":
			return each(bucketEvents, func(k, v []byte) (Record, error) {
				r, err := canonical(k, v)
				r.Key = eventKey(binary.BigEndian.Uint64(k[len(k)-8:]))
				return r, err
			})
		case "tombstones":
			return each(bucketTombstones, pair(canonical))
		case "kyc_changed":
			return each(bucketKYCChanged, pair(value))
		case "transfers":
			return each(bucketTransfers, canonical)
		case "memos":
			return each(bucketTransferMemos, pair(value))
		case "callbacks":
			return each(bucketCallbacks, canonical)
		case "treasury_ops":
			return each(bucketTreasuryOps, canonical)
		case "cursors":
			return each(bucketTreasuryCursors, value)
		case "unmatched":
			return each(bucketTreasuryUnmatched, canonical)
		case "proposals":
			return each(bucketTreasuryProposals, canonical)
		case "reconcile":
			return each(bucketTreasuryReconcile, canonical)
		case "api_keys":
			return each(bucketAPIKeys, canonical)
		case "quotes":
			return each(bucketQuotes, canonical)
		case "biz_events":
			return each(bucketEventLog, func(k, v []byte) (Record, error) {
				r, err := canonical(k, v)
				r.Key = eventKey(binary.BigEndian.Uint64(k))
				return r, err
			})
		case "deliveries":
			return each(bucketDeliveries, func(k, v []byte) (Record, error) {
				r, err := canonical(k, v)
				var d events.Delivery
				if err == nil {
					err = json.Unmarshal(v, &d)
				}
				r.Key = d.Endpoint + PairSep + d.Subject + PairSep + strconv.Itoa(d.Seq)
				return r, err
			})
		case "feeds":
			return each(bucketEventFeeds, func(k, v []byte) (Record, error) {
				if len(v) < 8 {
					return Record{}, fmt.Errorf("%w: a feed of %d bytes", ErrCorrupt, len(v))
				}
				return Record{Key: string(k), Body: []byte(strconv.FormatUint(binary.BigEndian.Uint64(v), 10))}, nil
			})
		case "account_modes":
			return each(bucketAccountModes, value)
		case "challenges":
			return each(bucketChallenges, func(k, _ []byte) (Record, error) {
				return ChallengeRecord(k[8:], int64(binary.BigEndian.Uint64(k[:8]))), nil
			})
		}
		return fmt.Errorf("unknown kind %q", kind)
	})
}

// PairSep joins the two parts of a Record key (PostgreSQL text cannot hold NUL, bbolt's keys'
// separator).
const PairSep = "\x1f"

// eventKey orders events by their sequence number as text.
func eventKey(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// EventKey is an event's Record key.
func EventKey(seq uint64) string { return eventKey(seq) }

// ChallengeRecord is a used SEP-10 challenge as a Record: its hash, and its expiry (Unix s).
func ChallengeRecord(hash []byte, expires int64) Record {
	return Record{Key: hex.EncodeToString(hash), Body: []byte(strconv.FormatInt(expires, 10))}
}
