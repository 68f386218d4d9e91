package store

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/anchorkit/anchor/internal/apikey"
)

var _ apikey.Store = (*Bolt)(nil)

var (
	bucketAPIKeys = []byte("api_keys")    // key id → apikey.Key JSON
	bucketIdem    = []byte("idempotency") // key id \x00 Idempotency-Key → apikey.Idem JSON
)

// APIKeyUpdate implements apikey.Store.
func (s *Bolt) APIKeyUpdate(ctx context.Context, fn func(apikey.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(apikeyTx{tx}) })
}

// APIKeyView implements apikey.Store.
func (s *Bolt) APIKeyView(ctx context.Context, fn func(apikey.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(apikeyTx{tx}) })
}

type apikeyTx struct{ tx *bolt.Tx }

func (t apikeyTx) Key(id string) (*apikey.Key, error) {
	raw := t.tx.Bucket(bucketAPIKeys).Get([]byte(id))
	if raw == nil {
		return nil, apikey.ErrNotFound
	}
	var k apikey.Key
	return &k, decode(bucketAPIKeys, []byte(id), raw, &k)
}

func (t apikeyTx) Keys() ([]apikey.Key, error) {
	var out []apikey.Key
	err := t.tx.Bucket(bucketAPIKeys).ForEach(func(k, v []byte) error {
		var key apikey.Key
		if err := decode(bucketAPIKeys, k, v, &key); err != nil {
			return err
		}
		out = append(out, key)
		return nil
	})
	return out, err
}

func (t apikeyTx) PutKey(k *apikey.Key) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bucketAPIKeys).Put([]byte(k.ID), raw)
}

func idemKey(scope, key string) []byte { return []byte(scope + "\x00" + key) }

func (t apikeyTx) Idem(scope, key string) (*apikey.Idem, error) {
	k := idemKey(scope, key)
	raw := t.tx.Bucket(bucketIdem).Get(k)
	if raw == nil {
		return nil, apikey.ErrNotFound
	}
	var r apikey.Idem
	return &r, decode(bucketIdem, k, raw, &r)
}

func (t apikeyTx) PutIdem(r *apikey.Idem) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bucketIdem).Put(idemKey(r.Scope, r.Key), raw)
}

func (t apikeyTx) DeleteIdemBefore(before time.Time) (int, error) {
	var old [][]byte
	err := t.tx.Bucket(bucketIdem).ForEach(func(k, v []byte) error {
		var r apikey.Idem
		if err := decode(bucketIdem, k, v, &r); err != nil {
			return err
		}
		if r.CreatedAt.Before(before) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range old {
		if err := t.tx.Bucket(bucketIdem).Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}
