package postgres

import (
	"context"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
)

var _ apikey.Store = (*Store)(nil)

// APIKeyUpdate implements apikey.Store.
func (s *Store) APIKeyUpdate(ctx context.Context, fn func(apikey.Tx) error) error {
	return s.update(ctx, func(b base) error { return fn(apikeyTx{b}) })
}

// APIKeyView implements apikey.Store.
func (s *Store) APIKeyView(ctx context.Context, fn func(apikey.Tx) error) error {
	return s.view(ctx, func(b base) error { return fn(apikeyTx{b}) })
}

type apikeyTx struct{ base }

func (t apikeyTx) Key(id string) (*apikey.Key, error) {
	var k apikey.Key
	if err := t.getJSON("api_keys", id, &k, apikey.ErrNotFound, "SELECT body FROM api_keys WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &k, nil
}

func (t apikeyTx) Keys() ([]apikey.Key, error) {
	ks, err := listJSON[apikey.Key](t.base, "api_keys", "SELECT body, id FROM api_keys ORDER BY id")
	out := make([]apikey.Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, *k)
	}
	return out, err
}

func (t apikeyTx) PutKey(k *apikey.Key) error {
	raw, err := body(k)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO api_keys (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, k.ID, raw)
}

func (t apikeyTx) Idem(scope, key string) (*apikey.Idem, error) {
	var r apikey.Idem
	if err := t.getJSON("idempotency", scope+"/"+key, &r, apikey.ErrNotFound, "SELECT body FROM idempotency WHERE scope = $1 AND key = $2", scope, key); err != nil {
		return nil, err
	}
	return &r, nil
}

func (t apikeyTx) PutIdem(r *apikey.Idem) error {
	raw, err := body(r)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO idempotency (scope, key, created_ns, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope, key) DO UPDATE SET created_ns = excluded.created_ns, body = excluded.body`, r.Scope, r.Key, ns(r.CreatedAt), raw)
}

func (t apikeyTx) DeleteIdemBefore(before time.Time) (int, error) {
	tag, err := t.execNow("DELETE FROM idempotency WHERE created_ns < $1", ns(before))
	return int(tag.RowsAffected()), err
}
