package edsig

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

func readGz(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type edgeCase struct {
	name          string
	pub, msg, sig []byte
}

// edgeCases are the C2SP vectors and the speccheck cases, which between them accept and refuse.
func edgeCases(t *testing.T) []edgeCase {
	var c2sp []struct {
		A, R, S, M string
		Flags      []string
	}
	readGz(t, "testdata/ed25519vectors.json.gz", &c2sp)
	var spec []struct {
		Message   string `json:"message"`
		PubKey    string `json:"pub_key"`
		Signature string `json:"signature"`
	}
	readGz(t, "testdata/speccheck_cases.json.gz", &spec)
	if len(c2sp) < 700 || len(spec) != 12 {
		t.Fatalf("vectors: %d C2SP, %d speccheck", len(c2sp), len(spec))
	}
	var out []edgeCase
	for i, v := range c2sp {
		out = append(out, edgeCase{name: "c2sp " + string(rune('0'+i%10)) + " " + v.M, pub: unhex(t, v.A), msg: []byte(v.M),
			sig: append(unhex(t, v.R), unhex(t, v.S)...)})
	}
	for i, v := range spec {
		out = append(out, edgeCase{name: "speccheck " + string(rune('a'+i)), pub: unhex(t, v.PubKey), msg: unhex(t, v.Message), sig: unhex(t, v.Signature)})
	}
	return out
}

// Verify takes and refuses what crypto/ed25519 does, on every edge case.
func TestVerifyMatchesTheStandardLibrary(t *testing.T) {
	accepted, refused := 0, 0
	for i, c := range edgeCases(t) {
		want := ed25519.Verify(c.pub, c.msg, c.sig)
		if got := Verify(c.pub, c.msg, c.sig); got != want {
			t.Errorf("case %d (%s): Verify = %v, crypto/ed25519 = %v", i, c.name, got, want)
		}
		if want {
			accepted++
		} else {
			refused++
		}
	}
	// Both outcomes occur, so that the comparison covers each.
	if accepted < 100 || refused < 100 {
		t.Fatalf("%d accepted, %d refused: the vectors did not exercise both", accepted, refused)
	}
}

// Sign gives crypto/ed25519's bytes; Verify takes them, and refuses any change to the key,
// the message or the signature, as crypto/ed25519 does.
func TestSignMatchesTheStandardLibrary(t *testing.T) {
	for i := 0; i < 200; i++ {
		var seed [32]byte
		_, _ = rand.Read(seed[:])
		msg := make([]byte, i%70)
		_, _ = rand.Read(msg)
		std := ed25519.NewKeyFromSeed(seed[:])
		pub := std.Public().(ed25519.PublicKey)
		sig := NewKey(seed).Sign(msg)
		if want := ed25519.Sign(std, msg); !bytes.Equal(sig, want) {
			t.Fatalf("seed %x: Sign = %x, crypto/ed25519 = %x", seed, sig, want)
		}
		if !Verify(pub, msg, sig) {
			t.Fatalf("seed %x: own signature refused", seed)
		}
		for _, b := range [][]byte{pub, msg, sig} {
			if len(b) == 0 {
				continue
			}
			j := i % len(b)
			b[j] ^= 1 << (i % 8)
			if got, want := Verify(pub, msg, sig), ed25519.Verify(pub, msg, sig); got || want {
				t.Fatalf("seed %x: a flipped bit was accepted (edsig %v, crypto/ed25519 %v)", seed, got, want)
			}
			b[j] ^= 1 << (i % 8)
		}
	}
}

func TestVerifyRefusesMalformedLengths(t *testing.T) {
	var seed [32]byte
	std := ed25519.NewKeyFromSeed(seed[:])
	pub := std.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(std, []byte("m"))
	for name, c := range map[string][2][]byte{
		"short key": {pub[:31], sig}, "long key": {append(pub, 0), sig}, "no key": {nil, sig},
		"short signature": {pub, sig[:63]}, "long signature": {pub, append(sig, 0)}, "no signature": {pub, nil},
	} {
		if Verify(c[0], []byte("m"), c[1]) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzVerify holds Verify to crypto/ed25519 on arbitrary inputs, seeded with valid signatures.
func FuzzVerify(f *testing.F) {
	var seed [32]byte
	std := ed25519.NewKeyFromSeed(seed[:])
	f.Add([]byte(std.Public().(ed25519.PublicKey)), []byte("m"), ed25519.Sign(std, []byte("m")))
	f.Add(make([]byte, 32), []byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			if Verify(pub, msg, sig) {
				t.Fatal("a key of the wrong length was accepted")
			}
			return
		}
		if got, want := Verify(pub, msg, sig), ed25519.Verify(pub, msg, sig); got != want {
			t.Fatalf("Verify = %v, crypto/ed25519 = %v", got, want)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	var seed [32]byte
	std := ed25519.NewKeyFromSeed(seed[:])
	pub, msg := std.Public().(ed25519.PublicKey), make([]byte, 32)
	sig := ed25519.Sign(std, msg)
	b.Run("edsig", func(b *testing.B) {
		for b.Loop() {
			Verify(pub, msg, sig)
		}
	})
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(pub, msg, sig)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	var seed [32]byte
	msg := make([]byte, 32)
	k, std := NewKey(seed), ed25519.NewKeyFromSeed(seed[:])
	b.Run("edsig", func(b *testing.B) {
		for b.Loop() {
			k.Sign(msg)
		}
	})
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(std, msg)
		}
	})
}
