package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

var _ store.Backend = (*Store)(nil)

// ErrNoBackup: PostgreSQL is backed up with its own tools.
var ErrNoBackup = errors.New("anchor backup copies a bbolt store; back PostgreSQL up with its own tools (pg_dump, or base backups with WAL archiving: docs/scale-out.md)")

// Ping implements store.Backend: the database answers and accepts writes (a standby does not).
func (s *Store) Ping(ctx context.Context) error {
	var standby bool
	if err := s.pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return classify(err)
	}
	if standby {
		return errors.New("the database is a read-only standby")
	}
	return nil
}

// Backup implements store.Backend by refusing (ErrNoBackup).
func (s *Store) Backup(context.Context, io.Writer) error { return ErrNoBackup }

// Check implements store.Backend: the schema version, that every record decodes and holds the
// id it is stored under, and that the look-up tables name records that exist. (The ordering
// indexes are PostgreSQL's own and cannot disagree with the rows.)
func (s *Store) Check(ctx context.Context) (*store.CheckReport, error) {
	rep := &store.CheckReport{Records: map[string]int{}, Problems: []string{}}
	problem := func(format string, args ...any) {
		if len(rep.Problems) < 100 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	var err error
	if rep.Schema, err = s.SchemaVersion(ctx); err != nil {
		return nil, err
	}
	if newest := SchemaVersion(); rep.Schema != newest {
		problem("schema %d, this anchor writes %d (anchor serve migrates an older one when it opens it)", rep.Schema, newest)
		return rep, nil
	}
	err = s.view(ctx, func(b base) error {
		each := func(table, sql string, check func(key string, raw []byte) error) error {
			rows, err := b.query(sql)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var key string
				var raw []byte
				if err := rows.Scan(&key, &raw); err != nil {
					return err
				}
				rep.Records[table]++
				if err := check(key, raw); err != nil {
					problem("%s %q: %v", table, key, err)
				}
			}
			return rows.Err()
		}
		checks := []struct {
			table, sql string
			check      func(key string, raw []byte) error
		}{
			{"transfers", "SELECT id, body FROM transfers", func(k string, raw []byte) error {
				var t transfer.Transaction
				if err := json.Unmarshal(raw, &t); err != nil {
					return err
				}
				if t.ID != k {
					return fmt.Errorf("holds id %q", t.ID)
				}
				return nil
			}},
			{"kyc_customers", "SELECT id, body FROM kyc_customers", func(k string, raw []byte) error {
				var c kyc.Customer
				if err := json.Unmarshal(raw, &c); err != nil {
					return err
				}
				if c.ID != k {
					return fmt.Errorf("holds id %q", c.ID)
				}
				return nil
			}},
			{"kyc_events", "SELECT seq::text, body FROM kyc_events", decodes[kyc.Event]},
			{"kyc_files", "SELECT id, body FROM kyc_files", decodes[kyc.File]},
			{"callbacks", "SELECT kind || '/' || id, body FROM callbacks", decodes[callback.Item]},
			{"treasury_ops", "SELECT id, body FROM treasury_ops", decodes[treasury.Op]},
			{"treasury_proposals", "SELECT id, body FROM treasury_proposals", decodes[treasury.Proposal]},
			{"treasury_unmatched", "SELECT account || '/' || token, body FROM treasury_unmatched", decodes[treasury.Unmatched]},
			// Look-ups naming nothing.
			{"kyc_customer_keys", "SELECT k.account || '/' || k.memo, ''::bytea FROM kyc_customer_keys k", nil},
		}
		for _, c := range checks {
			if err := each(c.table, c.sql, func(k string, raw []byte) error {
				if c.check == nil {
					return nil
				}
				return c.check(k, raw)
			}); err != nil {
				return err
			}
		}
		dangling := []struct{ what, sql string }{
			{"kyc_customer_order entry names no customer", "SELECT o.id FROM kyc_customer_order o LEFT JOIN kyc_customers c ON c.id = o.id WHERE c.id IS NULL"},
			{"customer missing from kyc_customer_order", "SELECT c.id FROM kyc_customers c LEFT JOIN kyc_customer_order o ON o.id = c.id WHERE o.id IS NULL"},
			{"kyc_customer_keys entry names no customer", "SELECT k.account || '/' || k.memo FROM kyc_customer_keys k LEFT JOIN kyc_customers c ON c.id = k.id WHERE c.id IS NULL"},
			{"kyc_files entry names no customer", "SELECT f.id FROM kyc_files f LEFT JOIN kyc_customers c ON c.id = f.customer_id WHERE f.customer_id <> '' AND c.id IS NULL"},
			{"transfer_memos entry names no transaction", "SELECT m.namespace || '/' || m.memo FROM transfer_memos m LEFT JOIN transfers t ON t.id = m.id WHERE t.id IS NULL AND m.id <> ''"},
			{"transfer_stellar_ids entry names no transaction", "SELECT s.hash FROM transfer_stellar_ids s LEFT JOIN transfers t ON t.id = s.id WHERE t.id IS NULL"},
			{"transfer_external_ids entry names no transaction", "SELECT e.ref FROM transfer_external_ids e LEFT JOIN transfers t ON t.id = e.id WHERE t.id IS NULL"},
		}
		for _, d := range dangling {
			rows, err := b.query(d.sql + " LIMIT 100")
			if err != nil {
				return err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				problem("%s: %q", d.what, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

func decodes[T any](_ string, raw []byte) error {
	var v T
	return json.Unmarshal(raw, &v)
}
