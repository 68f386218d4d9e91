package sep10

import (
	"strings"
	"testing"
	"time"
)

// TestClientCheck: the wallet side accepts a challenge from a server whose clock is a little
// ahead or behind (ClockSkew, a few minutes by default), refuses one far off, and refuses a
// challenge for another account or memo than it asked for.
func TestClientCheck(t *testing.T) {
	fx := newFixture()
	memo := uint64(42)
	otherMemo := uint64(43)
	c := &Client{Endpoint: "https://auth.example.com/auth", ServerKey: fx.server.Address(), Network: testNet, HomeDomain: "example.com",
		Now: func() time.Time { return fx.now }}
	build := func(serverAhead time.Duration, m *uint64) string {
		p := fx.params()
		p.Now, p.Memo = fx.now.Add(serverAhead), m
		tx, err := BuildChallenge(p)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	for _, tc := range []struct {
		name    string
		tx      string
		account string
		memo    *uint64
		skew    time.Duration
		want    string // "" = accepted
	}{
		{"in sync", build(0, nil), fx.client.Address(), nil, 0, ""},
		{"server a second ahead", build(time.Second, nil), fx.client.Address(), nil, 0, ""},
		{"server 4 minutes ahead", build(4*time.Minute, nil), fx.client.Address(), nil, 0, ""},
		{"server 20 minutes ahead", build(20*time.Minute, nil), fx.client.Address(), nil, 0, "not yet valid"},
		{"server a second ahead, skew disabled", build(time.Second, nil), fx.client.Address(), nil, -1, "not yet valid"},
		{"server 16 minutes behind (expired by 1)", build(-16*time.Minute, nil), fx.client.Address(), nil, 0, ""},
		{"server 30 minutes behind", build(-30*time.Minute, nil), fx.client.Address(), nil, 0, "expired"},
		{"another account", build(0, nil), fx.other.Address(), nil, 0, "account"},
		{"memo asked, none given", build(0, nil), fx.client.Address(), &memo, 0, "memo"},
		{"another memo", build(0, &otherMemo), fx.client.Address(), &memo, 0, "memo"},
		{"memo given, none asked", build(0, &memo), fx.client.Address(), nil, 0, "memo"},
		{"same memo", build(0, &memo), fx.client.Address(), &memo, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.ClockSkew = tc.skew
			_, err := c.Check(tc.tx, tc.account, tc.memo)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Check: %v, want %q", err, tc.want)
			}
		})
	}
}
