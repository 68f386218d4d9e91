package sep10

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"
)

func TestMemoSignerGivesTheKeysSignatures(t *testing.T) {
	kp := keypair.MustRandom()
	m := NewMemoSigner(kp, 4) // tiny: slots are reused all the time
	hashes := make([][]byte, 50)
	for i := range hashes {
		hashes[i] = make([]byte, 32)
		rand.Read(hashes[i])
	}
	hashes = append(hashes, make([]byte, 32)) // the all-zero hash must not hit an empty slot
	for round := 0; round < 3; round++ {
		for _, h := range hashes {
			got, err := m.Sign(h)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := kp.Sign(h)
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: memoized signature differs from the key's", round)
			}
		}
	}
	long := []byte("not a hash: longer than 32 bytes, signed directly")
	got, _ := m.Sign(long)
	want, _ := kp.Sign(long)
	if !bytes.Equal(got, want) {
		t.Fatal("signature of a non-hash differs")
	}
}
