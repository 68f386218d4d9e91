package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/anchorkit/anchor/internal/store/pgtest"
	"github.com/anchorkit/anchor/internal/store/postgres"
)

func BenchmarkUseChallengeAlone(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	i := uint64(0)
	for b.Loop() {
		i++
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
		if _, err := s.UseChallenge(ctx, h, time.Now().Add(time.Hour), "GABC", true); err != nil {
			b.Fatal(err)
		}
	}
}
