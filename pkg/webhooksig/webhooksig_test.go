package webhooksig_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anchorkit/anchor/pkg/webhooksig"
)

func TestSignVerify(t *testing.T) {
	secret, body := []byte("s3cr3t-of-the-endpoint"), []byte(`{"id":1,"type":"transaction.created"}`)
	now := time.Unix(1_800_000_000, 0)
	h := webhooksig.Sign(secret, body, now)
	if err := webhooksig.Verify(secret, h, body, now.Add(time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	// A rotation: the old and the new secret's signatures both in the header.
	rotated := h + ",v1=" + strings.Split(webhooksig.Sign([]byte("new"), body, now), "v1=")[1]
	if err := webhooksig.Verify([]byte("new"), rotated, body, now, 0); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	for name, c := range map[string]struct {
		secret, body []byte
		header       string
		at           time.Time
		want         error
	}{
		"another body":    {secret, []byte(`{"id":2}`), h, now, webhooksig.ErrMismatch},
		"another secret":  {[]byte("x"), body, h, now, webhooksig.ErrMismatch},
		"replayed later":  {secret, body, h, now.Add(6 * time.Minute), webhooksig.ErrTimestamp},
		"from the future": {secret, body, h, now.Add(-6 * time.Minute), webhooksig.ErrTimestamp},
		"no header":       {secret, body, "", now, webhooksig.ErrMalformed},
		"no signature":    {secret, body, "t=1800000000", now, webhooksig.ErrMalformed},
		"not hex":         {secret, body, "t=1800000000,v1=zz", now, webhooksig.ErrMalformed},
	} {
		if err := webhooksig.Verify(c.secret, c.header, c.body, c.at, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
