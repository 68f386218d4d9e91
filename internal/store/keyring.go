package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Erasure by crypto-shredding. Every record of personal data (a customer record, a file's
// contents) is sealed with AES-256-GCM under a data key of its own. The keys live outside bbolt,
// in fixed 32-byte slots of the keyring file, and a sealed value names its slot; erasing a record
// costs one overwrite of its slot, whatever the size of the database. bbolt keeps freed pages on
// disk until it reuses them, so the ciphertext of an erased record may linger in the database,
// but never its key. Which slots are to wipe or free is kept in bbolt (numbers only).

// KeyringName is the keyring file inside the data dir.
const KeyringName = "anchor.keys"

const keySize = 32

var (
	bucketSlotsReady = []byte("kyc_key_slots_ready") // slot → "": holds a fresh key, durably, unused
	bucketSlotsFree  = []byte("kyc_key_slots_free")  // slot → "": wiped, may be reused
	bucketSlotsWipe  = []byte("kyc_key_slots_wipe")  // slot → "": erased, to be wiped
	keyNextSlot      = []byte("next_key_slot")       // in meta
)

// sealed values start with this byte (plain JSON starts with '{').
const sealedV1 = 0x01

type keyring struct {
	mu     sync.Mutex
	f      *os.File
	noSync bool
}

func openKeyring(path string, noSync bool) (*keyring, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	return &keyring{f: f, noSync: noSync}, nil
}

func (k *keyring) close() error { return k.f.Close() }

// put writes key into slot durably (before the bbolt transaction that references it commits).
func (k *keyring) put(slot uint64, key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.f.WriteAt(key, int64(slot)*keySize); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if k.noSync {
		return nil
	}
	return k.f.Sync()
}

// putFresh writes a new random key into each slot, with one fsync for all.
func (k *keyring) putFresh(slots []uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := make([]byte, keySize)
	for _, slot := range slots {
		if _, err := rand.Read(key); err != nil {
			return err
		}
		if _, err := k.f.WriteAt(key, int64(slot)*keySize); err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
	}
	if k.noSync {
		return nil
	}
	return k.f.Sync()
}

func (k *keyring) get(slot uint64) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := k.f.ReadAt(key, int64(slot)*keySize); err != nil {
		return nil, fmt.Errorf("keyring: slot %d: %w", slot, err)
	}
	if bytes.Equal(key, make([]byte, keySize)) {
		return nil, fmt.Errorf("keyring: slot %d was wiped", slot)
	}
	return key, nil
}

// wipe overwrites the slots with zeros, with one fsync for all.
func (k *keyring) wipe(slots []uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	zeros := make([]byte, keySize)
	for _, slot := range slots {
		if _, err := k.f.WriteAt(zeros, int64(slot)*keySize); err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
	}
	if k.noSync {
		return nil
	}
	return k.f.Sync()
}

// sealAt seals plain for the record k of bucket name: under the key of the record's slot when
// it is sealed already (an update), else under a new key in a new slot.
func (t kycTx) sealAt(name, k, plain []byte) ([]byte, error) {
	if raw := t.tx.Bucket(name).Get(k); len(raw) >= 9 && raw[0] == sealedV1 {
		slot := binary.BigEndian.Uint64(raw[1:9])
		key, err := t.keys.get(slot)
		if err != nil {
			return nil, err
		}
		return seal(key, slot, plain)
	}
	// A slot whose fresh key is on disk already (refillReady), else one made now (an fsync).
	if k, _ := t.tx.Bucket(bucketSlotsReady).Cursor().First(); k != nil {
		slot := binary.BigEndian.Uint64(k)
		if err := t.tx.Bucket(bucketSlotsReady).Delete(k); err != nil {
			return nil, err
		}
		key, err := t.keys.get(slot)
		if err != nil {
			return nil, err
		}
		return seal(key, slot, plain)
	}
	slot, err := t.allocSlot()
	if err != nil {
		return nil, err
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := t.keys.put(slot, key); err != nil {
		return nil, err
	}
	return seal(key, slot, plain)
}

// readyBatch is how many fresh keys refillReady writes with one fsync.
const readyBatch = 256

// refillReady makes sure some slots hold fresh keys, durably, before a write needs one: new
// records then take a slot without an fsync of the keyring each (one per readyBatch instead).
// The keys are written and synced inside the bbolt transaction that marks their slots ready,
// so no other allocation can take those slots meanwhile.
func (s *Bolt) refillReady(ctx context.Context) error {
	var low bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		n := 0
		c := tx.Bucket(bucketSlotsReady).Cursor()
		for k, _ := c.First(); k != nil && n < readyBatch/4; k, _ = c.Next() {
			n++
		}
		low = n < readyBatch/4
		return nil
	}); err != nil || !low {
		return err
	}
	s.refill.Lock()
	defer s.refill.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := kycTx{tx, s.keys}
		slots := make([]uint64, readyBatch)
		for i := range slots {
			slot, err := t.allocSlot()
			if err != nil {
				return err
			}
			slots[i] = slot
		}
		if err := s.keys.putFresh(slots); err != nil {
			return err
		}
		for _, slot := range slots {
			if err := tx.Bucket(bucketSlotsReady).Put(binary.BigEndian.AppendUint64(nil, slot), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t kycTx) allocSlot() (uint64, error) {
	if k, _ := t.tx.Bucket(bucketSlotsFree).Cursor().First(); k != nil {
		slot := binary.BigEndian.Uint64(k)
		return slot, t.tx.Bucket(bucketSlotsFree).Delete(k)
	}
	meta := t.tx.Bucket(bucketMeta)
	var next uint64
	if v := meta.Get(keyNextSlot); len(v) == 8 {
		next = binary.BigEndian.Uint64(v)
	}
	return next, meta.Put(keyNextSlot, binary.BigEndian.AppendUint64(nil, next+1))
}

// shredAt drops the key of the record k of bucket name (before the record is deleted): its slot
// goes to the wipe list, and WipeErasedKeys overwrites it once this transaction has committed.
func (t kycTx) shredAt(name, k []byte) error {
	raw := t.tx.Bucket(name).Get(k)
	if len(raw) < 9 || raw[0] != sealedV1 {
		return nil
	}
	return t.tx.Bucket(bucketSlotsWipe).Put(bytes.Clone(raw[1:9]), nil)
}

// sealPlain seals the customer records and file contents stored in the clear (before schema 5).
func (t kycTx) sealPlain() error {
	for _, name := range [][]byte{bucketCustomers, bucketFileData} {
		var keys [][]byte
		if err := t.tx.Bucket(name).ForEach(func(k, v []byte) error {
			if len(v) == 0 || v[0] != sealedV1 {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			sealed, err := t.sealAt(name, k, bytes.Clone(t.tx.Bucket(name).Get(k)))
			if err != nil {
				return err
			}
			if err := t.tx.Bucket(name).Put(k, sealed); err != nil {
				return err
			}
		}
	}
	return nil
}

// seal encrypts plain under the owner's key: 0x01, slot (8), nonce (12), ciphertext.
func seal(key []byte, slot uint64, plain []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+8+gcm.NonceSize(), 1+8+gcm.NonceSize()+len(plain)+gcm.Overhead())
	out[0] = sealedV1
	binary.BigEndian.PutUint64(out[1:9], slot)
	if _, err := rand.Read(out[9:]); err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[9:], plain, out[:9]), nil
}

// open decrypts a sealed value, or returns a plain (pre-encryption) one as it is.
func (t kycTx) open(raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != sealedV1 {
		return raw, nil
	}
	if len(raw) < 1+8+12 {
		return nil, errors.New("sealed value too short")
	}
	slot := binary.BigEndian.Uint64(raw[1:9])
	key, err := t.keys.get(slot)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, raw[9:9+gcm.NonceSize()], raw[9+gcm.NonceSize():], raw[:9])
	if err != nil {
		return nil, fmt.Errorf("sealed value does not open: %w", err)
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// WipeErasedKeys overwrites the keyring slots of erased customers (their data can then never be
// read again, wherever its ciphertext lingers) and frees them for reuse. kyc.Service calls it
// after a deletion commits; Open calls it to finish what a crash interrupted.
func (s *Bolt) WipeErasedKeys(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Concurrent erasures: one wipes what all of them left, the others find nothing left.
	s.wiping.Lock()
	defer s.wiping.Unlock()
	var slots [][]byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketSlotsWipe).Cursor().First(); k == nil {
			return nil
		}
		return tx.Bucket(bucketSlotsWipe).ForEach(func(k, _ []byte) error {
			slots = append(slots, bytes.Clone(k))
			return nil
		})
	}); err != nil {
		return err
	}
	if len(slots) == 0 {
		return nil
	}
	nums := make([]uint64, len(slots))
	for i, k := range slots {
		nums[i] = binary.BigEndian.Uint64(k)
	}
	if err := s.keys.wipe(nums); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, k := range slots {
			if err := tx.Bucket(bucketSlotsWipe).Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSlotsFree).Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
