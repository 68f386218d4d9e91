package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var (
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)

// exports are the queries that list each kind: key, body, and a file's contents.
var exports = map[string]string{
	"customers":     "SELECT id, body::text, NULL::bytea FROM kyc_customers",
	"files":         "SELECT id, body::text, data FROM kyc_files",
	"events":        "SELECT lpad(seq::text, 20, '0'), body::text, NULL::bytea FROM kyc_events",
	"tombstones":    "SELECT account || chr(31) || memo, body::text, NULL::bytea FROM kyc_tombstones",
	"kyc_changed":   "SELECT account || chr(31) || memo, '', mark FROM kyc_changed",
	"transfers":     "SELECT id, body::text, NULL::bytea FROM transfers",
	"memos":         "SELECT namespace || chr(31) || memo, id, NULL::bytea FROM transfer_memos",
	"callbacks":     "SELECT kind || '/' || id, body::text, NULL::bytea FROM callbacks",
	"treasury_ops":  "SELECT id, body::text, NULL::bytea FROM treasury_ops",
	"cursors":       "SELECT account, cursor, NULL::bytea FROM treasury_cursors",
	"unmatched":     "SELECT account || '/' || token, body::text, NULL::bytea FROM treasury_unmatched",
	"proposals":     "SELECT id, body::text, NULL::bytea FROM treasury_proposals",
	"reconcile":     "SELECT name, body::text, NULL::bytea FROM treasury_reconcile",
	"account_modes": "SELECT account, CASE WHEN shared THEN 's' ELSE 'n' END, NULL::bytea FROM account_modes",
	"challenges":    "SELECT encode(hash, 'hex'), extract(epoch FROM expires)::bigint::text, NULL::bytea FROM used_challenges",
	"api_keys":      "SELECT id, body::text, NULL::bytea FROM api_keys",
	"quotes":        "SELECT id, body::text, NULL::bytea FROM quotes",
	"biz_events":    "SELECT lpad(id::text, 20, '0'), body::text, convert_to(seq::text, 'UTF8') FROM events",
	"deliveries":    "SELECT endpoint || chr(31) || subject || chr(31) || seq::text, body::text, NULL::bytea FROM event_deliveries",
	"feeds":         "SELECT endpoint, id::text, NULL::bytea FROM event_feeds",
}

// Export implements store.Exporter, in one snapshot per kind.
func (s *Store) Export(ctx context.Context, kind string, fn func(store.Record) error) error {
	sql, ok := exports[kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", kind)
	}
	return s.view(ctx, func(b base) error {
		rows, err := b.query(sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key, body string
			var data []byte
			if err := rows.Scan(&key, &body, &data); err != nil {
				return err
			}
			r := store.Record{Key: key, Body: []byte(body), Data: data}
			switch kind {
			case "events":
				if r.Body, err = withEventSeq(r.Body, key); err != nil {
					return fmt.Errorf("%s %q: %w", kind, key, err)
				}
			case "kyc_changed":
				r.Body, r.Data = data, nil
			case "biz_events":
				if r.Body, err = withEventID(r.Body, key, string(data)); err != nil {
					return fmt.Errorf("%s %q: %w", kind, key, err)
				}
				r.Data = nil
			case "files":
			default:
				r.Data = nil
			}
			if r.Body, err = store.Canonical(kind, r.Body); err != nil {
				return fmt.Errorf("%s %q: %w", kind, key, err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// Import implements store.Importer: every write is an upsert, so a copy can be run again.
func (s *Store) Import(ctx context.Context, kind string, recs []store.Record) error {
	return s.update(ctx, func(b base) error {
		for _, r := range recs {
			if err := importOne(b, kind, r); err != nil {
				return fmt.Errorf("%s %q: %w", kind, r.Key, err)
			}
		}
		if kind == "events" {
			return b.exec("SELECT setval(pg_get_serial_sequence('kyc_events', 'seq'), greatest((SELECT max(seq) FROM kyc_events), 1))")
		}
		if kind == "biz_events" {
			return b.exec("SELECT setval(pg_get_serial_sequence('events', 'id'), greatest((SELECT max(id) FROM events), 1))")
		}
		return nil
	})
}

func decodeAs[T any](r store.Record) (*T, error) {
	v := new(T)
	return v, json.Unmarshal(r.Body, v)
}

func importOne(b base, kind string, r store.Record) error {
	k, tr, o := kycTx{b}, transferTx{b}, opTx{b}
	pair := func() (string, string) { a, m, _ := strings.Cut(r.Key, store.PairSep); return a, m }
	switch kind {
	case "customers":
		c, err := decodeAs[kyc.Customer](r)
		if err != nil {
			return err
		}
		return k.PutCustomer(c)
	case "files":
		f, err := decodeAs[kyc.File](r)
		if err != nil {
			return err
		}
		return k.PutFile(f, r.Data)
	case "events":
		e, err := decodeAs[kyc.Event](r)
		if err != nil {
			return err
		}
		return b.exec("INSERT INTO kyc_events (seq, customer_id, body) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING", int64(e.Seq), e.CustomerID, string(r.Body))
	case "tombstones":
		t, err := decodeAs[kyc.Tombstone](r)
		if err != nil {
			return err
		}
		return k.PutTombstone(t)
	case "kyc_changed":
		account, memo := pair()
		return b.exec(`INSERT INTO kyc_changed (account, memo, mark) VALUES ($1, $2, $3)
			ON CONFLICT (account, memo) DO UPDATE SET mark = excluded.mark`, account, memo, r.Body)
	case "transfers":
		t, err := decodeAs[transfer.Transaction](r)
		if err != nil {
			return err
		}
		return tr.Put(t)
	case "memos":
		ns, memo := pair()
		return b.exec(`INSERT INTO transfer_memos (namespace, memo, id) VALUES ($1, $2, $3)
			ON CONFLICT (namespace, memo) DO UPDATE SET id = excluded.id`, ns, memo, string(r.Body))
	case "callbacks":
		it, err := decodeAs[callback.Item](r)
		if err != nil {
			return err
		}
		return b.exec(`INSERT INTO callbacks (kind, id, due_ns, body) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, id) DO UPDATE SET due_ns = excluded.due_ns, body = excluded.body`, it.Kind, it.ID, ns(it.Due), string(r.Body))
	case "treasury_ops":
		op, err := decodeAs[treasury.Op](r)
		if err != nil {
			return err
		}
		return o.PutOp(op)
	case "cursors":
		return o.PutCursor(r.Key, string(r.Body))
	case "unmatched":
		u, err := decodeAs[treasury.Unmatched](r)
		if err != nil {
			return err
		}
		return o.PutUnmatched(u)
	case "proposals":
		p, err := decodeAs[treasury.Proposal](r)
		if err != nil {
			return err
		}
		return o.PutProposal(p)
	case "reconcile":
		run, err := decodeAs[treasury.ReconcileRun](r)
		if err != nil {
			return err
		}
		if r.Key != "last" {
			return fmt.Errorf("a reconcile record named %q (only \"last\" is kept)", r.Key)
		}
		return o.PutLastReconcile(run)
	case "api_keys":
		k, err := decodeAs[apikey.Key](r)
		if err != nil {
			return err
		}
		return apikeyTx{b}.PutKey(k)
	case "account_modes":
		return b.exec(`INSERT INTO account_modes (account, shared) VALUES ($1, $2)
			ON CONFLICT (account) DO UPDATE SET shared = excluded.shared`, r.Key, string(r.Body) == "s")
	case "quotes":
		return b.exec("INSERT INTO quotes (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body", r.Key, string(r.Body))
	case "biz_events":
		e, err := decodeAs[events.Event](r)
		if err != nil {
			return err
		}
		raw, err := body(e)
		if err != nil {
			return err
		}
		if err := b.exec(`INSERT INTO event_subjects (subject, seq) VALUES ($1, $2)
			ON CONFLICT (subject) DO UPDATE SET seq = greatest(event_subjects.seq, excluded.seq)`, e.Subject, e.Seq); err != nil {
			return err
		}
		return b.exec(`INSERT INTO events (id, subject, seq, at_ns, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Subject, e.Seq, ns(e.At), raw)
	case "deliveries":
		d, err := decodeAs[events.Delivery](r)
		if err != nil {
			return err
		}
		return insertDelivery(b, d)
	case "feeds":
		// The cursor's position is that of its event as copied (or of the last before it).
		id, err := strconv.ParseUint(string(r.Body), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: feed %s: %v", store.ErrCorrupt, r.Key, err)
		}
		return b.exec(`INSERT INTO event_feeds (endpoint, xid, id, at_ns)
			VALUES ($1, coalesce((SELECT xid FROM events WHERE id <= $2 ORDER BY id DESC LIMIT 1), '0'::xid8), $2, $3)
			ON CONFLICT (endpoint) DO UPDATE SET xid = excluded.xid, id = excluded.id, at_ns = excluded.at_ns`,
			r.Key, id, time.Now().UnixNano())
	case "challenges":
		return b.exec(`INSERT INTO used_challenges (hash, expires) VALUES (decode($1, 'hex'), to_timestamp($2::bigint))
			ON CONFLICT (hash) DO NOTHING`, r.Key, string(r.Body))
	}
	return fmt.Errorf("unknown kind %q", kind)
}

// copyTables are the tables a copy fills; a target holding rows in any is not empty.
var copyTables = []string{"kyc_customers", "kyc_files", "kyc_events", "kyc_tombstones", "transfers", "transfer_memos",
	"callbacks", "treasury_ops", "treasury_unmatched", "treasury_proposals", "account_modes", "used_challenges", "api_keys", "events", "event_deliveries", "quotes"}

// Empty reports whether the database holds no record yet (store copy refuses to copy over
// one without --force).
func (s *Store) Empty(ctx context.Context) (bool, error) {
	for _, t := range copyTables {
		var any bool
		if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{t}.Sanitize()+")").Scan(&any); err != nil {
			return false, classify(err)
		}
		if any {
			return false, nil
		}
	}
	return true, nil
}

// BeginCopy records that a copy from source starts, and refuses a database that holds records
// unless force is set or they come from an unfinished copy of the same source (a restart).
func (s *Store) BeginCopy(ctx context.Context, source string, force bool) error {
	empty, err := s.Empty(ctx)
	if err != nil {
		return err
	}
	if !empty && !force {
		var unfinished bool
		err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM store_copies WHERE source = $1 AND finished_at IS NULL)", source).Scan(&unfinished)
		if err != nil {
			return classify(err)
		}
		if !unfinished {
			return fmt.Errorf("the target database already holds records; copy into an empty one, or give --force to copy over them")
		}
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO store_copies (source) VALUES ($1)
		ON CONFLICT (source) DO UPDATE SET started_at = now(), finished_at = NULL`, source)
	return classify(err)
}

// EndCopy records that the copy from source finished and was verified.
func (s *Store) EndCopy(ctx context.Context, source string) error {
	_, err := s.pool.Exec(ctx, "UPDATE store_copies SET finished_at = now() WHERE source = $1", source)
	return classify(err)
}
