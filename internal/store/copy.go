package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Moving an anchor between backends (anchor store copy). Each backend exports what it keeps as
// Records of the kinds below and imports them; indexes, counters and look-ups are rebuilt by the
// importing backend from the records. A Record's Body is canonical (the record decoded and
// encoded again), so that the same record has the same bytes on both sides and the copy can be
// verified by a checksum per kind.

// CopyKinds are the kinds of records, in the order they are copied.
var CopyKinds = []string{
	"customers", "files", "events", "tombstones", "kyc_changed",
	"transfers", "memos", "callbacks",
	"treasury_ops", "cursors", "unmatched", "proposals", "reconcile",
	"account_modes", "challenges", "api_keys",
	"biz_events", "deliveries", "feeds", "quotes",
}

// Record is one stored record in a backend-neutral form.
type Record struct {
	Key  string // unique within its kind
	Body []byte // the record (canonical JSON) or its value
	Data []byte // a file's contents (files only; nil when it has none)
}

// Exporter lists a store's records of a kind.
type Exporter interface {
	Export(ctx context.Context, kind string, fn func(Record) error) error
}

// Importer writes records of a kind into a store; writing the same records again changes
// nothing (a copy can be restarted).
type Importer interface {
	Import(ctx context.Context, kind string, recs []Record) error
}

// Canonical decodes a record's JSON as the type its kind holds and encodes it again.
func Canonical(kind string, raw []byte) ([]byte, error) {
	var v any
	switch kind {
	case "customers":
		v = &kyc.Customer{}
	case "files":
		v = &kyc.File{}
	case "events":
		v = &kyc.Event{}
	case "tombstones":
		v = &kyc.Tombstone{}
	case "transfers":
		v = &transfer.Transaction{}
	case "callbacks":
		v = &callback.Item{}
	case "treasury_ops":
		v = &treasury.Op{}
	case "unmatched":
		v = &treasury.Unmatched{}
	case "proposals":
		v = &treasury.Proposal{}
	case "reconcile":
		v = &treasury.ReconcileRun{}
	case "api_keys":
		v = &apikey.Key{}
	case "biz_events":
		v = &events.Event{}
	case "deliveries":
		v = &events.Delivery{}
	case "quotes":
		v = &quotes.Quote{}
	default:
		return raw, nil // a plain value
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, kind, err)
	}
	return json.Marshal(v)
}

// KindSum is a kind's count and checksum (SHA-256 over its records in key order).
type KindSum struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	Sum   string `json:"sha256"`
}

// Sums computes every kind's count and checksum in a store.
func Sums(ctx context.Context, e Exporter) ([]KindSum, error) {
	out := make([]KindSum, 0, len(CopyKinds))
	for _, kind := range CopyKinds {
		var recs []Record
		if err := e.Export(ctx, kind, func(r Record) error {
			recs = append(recs, Record{Key: r.Key, Body: sha(r.Body), Data: sha(r.Data)})
			return nil
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.Key, b.Key) })
		h := sha256.New()
		for _, r := range recs {
			fmt.Fprintf(h, "%q %x %x\n", r.Key, r.Body, r.Data)
		}
		out = append(out, KindSum{Kind: kind, Count: len(recs), Sum: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

func sha(b []byte) []byte {
	if b == nil {
		return nil
	}
	s := sha256.Sum256(b)
	return s[:]
}

// ErrCopyMismatch: the target's records differ from the source's after a copy.
var ErrCopyMismatch = errors.New("the copy differs from its source")

// Copy copies every record of from into to, a batch at a time, calling progress after each
// kind, and then verifies the target: the same count and checksum per kind (ErrCopyMismatch
// names the kinds that differ).
func Copy(ctx context.Context, from Exporter, to Importer, progress func(kind string, n int)) ([]KindSum, error) {
	const batch = 500
	for _, kind := range CopyKinds {
		var recs []Record
		n := 0
		flush := func() error {
			if len(recs) == 0 {
				return nil
			}
			err := to.Import(ctx, kind, recs)
			n, recs = n+len(recs), recs[:0]
			return err
		}
		if err := from.Export(ctx, kind, func(r Record) error {
			recs = append(recs, r)
			if len(recs) == batch {
				return flush()
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("copy %s: %w", kind, err)
		}
		if err := flush(); err != nil {
			return nil, fmt.Errorf("copy %s: %w", kind, err)
		}
		if progress != nil {
			progress(kind, n)
		}
	}
	want, err := Sums(ctx, from)
	if err != nil {
		return nil, err
	}
	e, ok := to.(Exporter)
	if !ok {
		return want, nil
	}
	got, err := Sums(ctx, e)
	if err != nil {
		return nil, err
	}
	var bad []string
	for i := range want {
		if want[i] != got[i] {
			bad = append(bad, fmt.Sprintf("%s (source %d records, target %d)", want[i].Kind, want[i].Count, got[i].Count))
		}
	}
	if len(bad) > 0 {
		return got, fmt.Errorf("%w: %s", ErrCopyMismatch, strings.Join(bad, ", "))
	}
	return got, nil
}
