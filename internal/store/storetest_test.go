package store_test

import (
	"testing"

	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/store/storetest"
)

// TestBoltContract: the bbolt store passes the contract suite (internal/store/postgres runs the
// same suite against PostgreSQL).
func TestBoltContract(t *testing.T) {
	storetest.ChallengeStore(t, func(t *testing.T) store.ChallengeStore {
		s, err := store.Open(t.TempDir(), store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestBoltRecords: the records' contract on bbolt (one process: both handles are the store).
func TestBoltRecords(t *testing.T) {
	storetest.Records(t, func(t *testing.T) (store.Backend, store.Backend) {
		s, err := store.Open(t.TempDir(), store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, s
	})
}

// TestMain stops the PostgreSQL cluster the copy tests start.
func TestMain(m *testing.M) { storetest.Main(m) }
