package sep10

import (
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"
)

const testNet = "Test SDF Network ; September 2015"

type fixture struct {
	server, old, client, clientDomain, other *keypair.Full
	now                                      time.Time
}

func newFixture() *fixture {
	return &fixture{
		server: keypair.MustRandom(), old: keypair.MustRandom(), client: keypair.MustRandom(),
		clientDomain: keypair.MustRandom(), other: keypair.MustRandom(),
		now: time.Unix(1_800_000_000, 0),
	}
}

func (f *fixture) params() ChallengeParams {
	return ChallengeParams{
		Server: f.server, ClientAccount: f.client.Address(), HomeDomain: "example.com",
		WebAuthDomain: "auth.example.com", Network: testNet, Now: f.now, Lifetime: 15 * time.Minute,
	}
}

func (f *fixture) verifyParams() VerifyParams {
	return VerifyParams{
		ServerKeys: []string{f.server.Address(), f.old.Address()}, Network: testNet,
		HomeDomains: []string{"example.com"}, WebAuthDomain: "auth.example.com",
		Now: f.now.Add(time.Minute), MaxLifetime: 16 * time.Minute,
	}
}

// signEnv re-signs env's transaction with kps (replacing signatures when reset).
func signEnv(t *testing.T, env *xdr.TransactionEnvelope, reset bool, kps ...*keypair.Full) {
	t.Helper()
	if reset {
		env.V1.Signatures = nil
	}
	hash, err := network.HashTransactionInEnvelope(*env, testNet)
	if err != nil {
		t.Fatal(err)
	}
	for _, kp := range kps {
		sig, err := kp.SignDecorated(hash[:])
		if err != nil {
			t.Fatal(err)
		}
		env.V1.Signatures = append(env.V1.Signatures, sig)
	}
}

func md(src *keypair.Full, name, value string) xdr.Operation {
	m := xdr.MustMuxedAddress(src.Address())
	return manageData(&m, name, []byte(value))
}

func TestVerifyRules(t *testing.T) {
	for _, resign := range []bool{false, true} {
		t.Run(map[bool]string{false: "verify", true: "resign"}[resign], func(t *testing.T) { testVerifyRules(t, resign) })
	}
}

func testVerifyRules(t *testing.T, resign bool) {
	memo := uint64(1234567)
	type tc struct {
		name string
		// build changes the challenge parameters.
		build func(f *fixture, p *ChallengeParams)
		// mutate changes the transaction; the server then signs it again (with signer, default f.server).
		mutate func(f *fixture, tx *xdr.Transaction)
		signer func(f *fixture) *keypair.Full
		// envelope replaces the whole signed envelope (for envelope-level cases).
		envelope func(t *testing.T, f *fixture, env *xdr.TransactionEnvelope)
		// clients sign after the server (default: the client's master key).
		clients func(f *fixture) []*keypair.Full
		verify  func(f *fixture, p *VerifyParams)
		account func(f *fixture) *Account
		raw     string
		wantErr string
		check   func(t *testing.T, f *fixture, c *Challenge, signed []string)
	}
	cases := []tc{
		{name: "valid new account, master key signs", check: func(t *testing.T, f *fixture, c *Challenge, signed []string) {
			if c.Subject() != f.client.Address() || c.HomeDomain != "example.com" || c.ClientDomain != "" {
				t.Errorf("subject %q home %q client domain %q", c.Subject(), c.HomeDomain, c.ClientDomain)
			}
		}},
		{name: "valid with id memo gives G:memo subject", build: func(f *fixture, p *ChallengeParams) { p.Memo = &memo },
			check: func(t *testing.T, f *fixture, c *Challenge, _ []string) {
				if want := f.client.Address() + ":1234567"; c.Subject() != want {
					t.Errorf("subject %q, want %q", c.Subject(), want)
				}
			}},
		{name: "valid muxed account gives M subject", build: func(f *fixture, p *ChallengeParams) {
			p.ClientAccount = muxed(f.client, 42)
		}, check: func(t *testing.T, f *fixture, c *Challenge, _ []string) {
			if c.Subject() != muxed(f.client, 42) || c.AccountID != f.client.Address() {
				t.Errorf("subject %q account %q", c.Subject(), c.AccountID)
			}
		}},
		{name: "challenge signed by a previous signing key is accepted",
			build: func(f *fixture, p *ChallengeParams) { p.Server = f.old }},
		{name: "client domain signed", build: withClientDomain, clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.client, f.clientDomain} },
			check: func(t *testing.T, f *fixture, c *Challenge, _ []string) {
				if c.ClientDomain != "wallet.example" || c.ClientDomainAccount != f.clientDomain.Address() {
					t.Errorf("client domain %q %q", c.ClientDomain, c.ClientDomainAccount)
				}
			}},
		{name: "wrong network passphrase", verify: func(f *fixture, p *VerifyParams) { p.Network = "Public Global Stellar Network ; September 2015" }, wantErr: "not signed by the server"},
		{name: "expired", verify: func(f *fixture, p *VerifyParams) { p.Now = f.now.Add(16 * time.Minute) }, wantErr: "expired"},
		{name: "not yet valid", verify: func(f *fixture, p *VerifyParams) { p.Now = f.now.Add(-time.Minute) }, wantErr: "not yet valid"},
		{name: "wrong home domain", verify: func(f *fixture, p *VerifyParams) { p.HomeDomains = []string{"other.com"} }, wantErr: "home domain"},
		{name: "wrong web_auth_domain", verify: func(f *fixture, p *VerifyParams) { p.WebAuthDomain = "other.example.com" }, wantErr: "web_auth_domain"},
		{name: "extra operation that is not manage_data", mutate: func(f *fixture, tx *xdr.Transaction) {
			src := xdr.MustMuxedAddress(f.server.Address())
			tx.Operations = append(tx.Operations, xdr.Operation{SourceAccount: &src, Body: xdr.OperationBody{Type: xdr.OperationTypeInflation}})
		}, wantErr: "not a manage_data"},
		{name: "reordered operations", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations[0], tx.Operations[1] = tx.Operations[1], tx.Operations[0]
		}, wantErr: "home domain"},
		{name: "web_auth_domain operation with client source", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations[1] = md(f.client, WebAuthDomainKey, "auth.example.com")
		}, wantErr: "web_auth_domain operation source"},
		{name: "extra manage_data operation with client source", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations = append(tx.Operations, md(f.client, "extra", "x"))
		}, wantErr: "source must be the server"},
		{name: "extra manage_data operation with server source is allowed", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations = append(tx.Operations, md(f.server, "reserved", "x"))
		}},
		{name: "repeated web_auth_domain operation", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations = append(tx.Operations, md(f.server, WebAuthDomainKey, "auth.example.com"))
		}, wantErr: "repeats"},
		{name: "first operation without source account", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Operations[0].SourceAccount = nil
		}, wantErr: "no source account"},
		{name: "no operations", mutate: func(f *fixture, tx *xdr.Transaction) { tx.Operations = nil }, wantErr: "no operations"},
		{name: "sequence number not 0", mutate: func(f *fixture, tx *xdr.Transaction) { tx.SeqNum = 1 }, wantErr: "sequence number"},
		{name: "no time bounds", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Cond = xdr.Preconditions{Type: xdr.PreconditionTypePrecondNone}
		}, wantErr: "time bounds"},
		{name: "time bounds longer than the challenge lifetime", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.Cond.TimeBounds.MaxTime += 3600
		}, wantErr: "longer than"},
		{name: "transaction source is not the server", mutate: func(f *fixture, tx *xdr.Transaction) {
			tx.SourceAccount = xdr.MustMuxedAddress(f.other.Address())
		}, signer: func(f *fixture) *keypair.Full { return f.other }, wantErr: "source account is not the server"},
		{name: "missing server signature", envelope: func(t *testing.T, f *fixture, env *xdr.TransactionEnvelope) {
			signEnv(t, env, true, f.client)
		}, clients: none, wantErr: "not signed by the server"},
		{name: "server signature by another key", envelope: func(t *testing.T, f *fixture, env *xdr.TransactionEnvelope) {
			signEnv(t, env, true, f.other)
		}, wantErr: "not signed by the server"},
		{name: "missing client signature", clients: none, wantErr: "master key"},
		{name: "extra unknown signature", clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.client, f.other} }, wantErr: "unrecognized"},
		{name: "client signature repeated", clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.client, f.client} }, wantErr: "unrecognized"},
		{name: "signed by another account instead of the client", clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.other} }, wantErr: "master key"},
		{name: "memo with muxed account", build: func(f *fixture, p *ChallengeParams) { p.ClientAccount = muxed(f.client, 7) },
			mutate: func(f *fixture, tx *xdr.Transaction) {
				id := xdr.Uint64(5)
				tx.Memo = xdr.Memo{Type: xdr.MemoTypeMemoId, Id: &id}
			}, wantErr: "memo and a muxed"},
		{name: "text memo", mutate: func(f *fixture, tx *xdr.Transaction) {
			s := "hello"
			tx.Memo = xdr.Memo{Type: xdr.MemoTypeMemoText, Text: &s}
		}, wantErr: "id memo"},
		{name: "tampered nonce", envelope: func(t *testing.T, f *fixture, env *xdr.TransactionEnvelope) {
			v := *env.V1.Tx.Operations[0].Body.ManageDataOp.DataValue
			v2 := append(xdr.DataValue{}, v...)
			// Substitute another base64 character, so that only the signature can catch it.
			if v2[0] == 'A' {
				v2[0] = 'B'
			} else {
				v2[0] = 'A'
			}
			env.V1.Tx.Operations[0].Body.ManageDataOp.DataValue = &v2
		}, wantErr: "not signed by the server"},
		{name: "nonce of the wrong length", mutate: func(f *fixture, tx *xdr.Transaction) {
			v := xdr.DataValue("short")
			tx.Operations[0].Body.ManageDataOp.DataValue = &v
		}, wantErr: "nonce"},
		{name: "client_domain signature missing", build: withClientDomain, wantErr: "client domain"},
		{name: "client_domain signed by the wrong key", build: withClientDomain,
			clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.client, f.other} }, wantErr: "client domain"},
		{name: "fee bump envelope", envelope: func(t *testing.T, f *fixture, env *xdr.TransactionEnvelope) {
			inner := *env.V1
			*env = xdr.TransactionEnvelope{Type: xdr.EnvelopeTypeEnvelopeTypeTxFeeBump, FeeBump: &xdr.FeeBumpTransactionEnvelope{
				Tx: xdr.FeeBumpTransaction{FeeSource: xdr.MustMuxedAddress(f.client.Address()), Fee: 400,
					InnerTx: xdr.FeeBumpTransactionInnerTx{Type: xdr.EnvelopeTypeEnvelopeTypeTx, V1: &inner}},
			}}
		}, clients: none, wantErr: "v1 transaction envelope"},
		{name: "not base64 XDR", raw: "not-a-transaction", wantErr: "base64 XDR"},
		{name: "empty transaction", raw: "-", wantErr: "required"},
		{name: "existing account meets medium threshold with two signers",
			clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.client, f.other} },
			account: func(f *fixture) *Account {
				return &Account{MediumThreshold: 2, Signers: []Signer{{f.client.Address(), 1}, {f.other.Address(), 1}}}
			}, check: func(t *testing.T, f *fixture, c *Challenge, signed []string) {
				if len(signed) != 2 {
					t.Errorf("signed %v", signed)
				}
			}},
		{name: "existing account below medium threshold",
			account: func(f *fixture) *Account {
				return &Account{MediumThreshold: 2, Signers: []Signer{{f.client.Address(), 1}, {f.other.Address(), 1}}}
			}, wantErr: "threshold"},
		{name: "existing account with master weight 0",
			account: func(f *fixture) *Account {
				return &Account{MediumThreshold: 1, Signers: []Signer{{f.client.Address(), 0}, {f.other.Address(), 1}}}
			}, wantErr: "not from signers"},
		{name: "existing account signed only by a non-signer",
			clients: func(f *fixture) []*keypair.Full { return []*keypair.Full{f.other} },
			account: func(f *fixture) *Account {
				return &Account{MediumThreshold: 0, Signers: []Signer{{f.client.Address(), 1}}}
			},
			wantErr: "not from signers"},
		{name: "server key as signer of the client account does not count",
			clients: none,
			account: func(f *fixture) *Account {
				return &Account{MediumThreshold: 1, Signers: []Signer{{f.client.Address(), 1}, {f.server.Address(), 10}}}
			}, wantErr: "not signed by any signer"},
		{name: "existing account with zero thresholds needs one signer", account: func(f *fixture) *Account {
			return &Account{Signers: []Signer{{f.client.Address(), 1}}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture()
			p := f.params()
			if c.build != nil {
				c.build(f, &p)
			}
			_, env := buildDecoded(t, p)
			if c.mutate != nil {
				c.mutate(f, &env.V1.Tx)
				signer := p.Server.(*keypair.Full)
				if c.signer != nil {
					signer = c.signer(f)
				}
				signEnv(t, &env, true, signer)
			}
			if c.envelope != nil {
				c.envelope(t, f, &env)
			}
			clients := []*keypair.Full{f.client}
			if c.clients != nil {
				clients = c.clients(f)
			}
			if env.V1 != nil {
				signEnv(t, &env, false, clients...)
			}
			txB64, err := xdr.MarshalBase64(env)
			if err != nil {
				t.Fatal(err)
			}
			switch c.raw {
			case "":
			case "-":
				txB64 = ""
			default:
				txB64 = c.raw
			}
			vp := f.verifyParams()
			if resign {
				vp.Signer = f.server
			}
			if c.verify != nil {
				c.verify(f, &vp)
			}
			var acct *Account
			if c.account != nil {
				acct = c.account(f)
			}
			ch, err := ReadChallenge(txB64, vp)
			var signed []string
			if err == nil {
				signed, err = ch.VerifySignatures(acct)
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.check != nil {
					c.check(t, f, ch, signed)
				}
				return
			}
			if err == nil {
				t.Fatalf("verified; want error containing %q", c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, c.wantErr)
			}
			if !IsInputError(err) {
				t.Fatalf("error %v is not an InputError", err)
			}
		})
	}
}

func none(*fixture) []*keypair.Full { return nil }

// buildDecoded builds a challenge and decodes it with the SDK.
func buildDecoded(t *testing.T, p ChallengeParams) (string, xdr.TransactionEnvelope) {
	t.Helper()
	txB64, err := BuildChallenge(p)
	if err != nil {
		t.Fatal(err)
	}
	var env xdr.TransactionEnvelope
	if err := xdr.SafeUnmarshalBase64(txB64, &env); err != nil {
		t.Fatal(err)
	}
	return txB64, env
}

func withClientDomain(f *fixture, p *ChallengeParams) {
	p.ClientDomain, p.ClientDomainAccount = "wallet.example", f.clientDomain.Address()
}

func muxed(kp *keypair.Full, id uint64) string {
	m, err := xdr.MuxedAccountFromAccountId(kp.Address(), id)
	if err != nil {
		panic(err)
	}
	return m.Address()
}

func TestBuildChallengeShape(t *testing.T) {
	f := newFixture()
	p := f.params()
	memo := uint64(9)
	p.Memo = &memo
	withClientDomain(f, &p)
	_, env := buildDecoded(t, p)
	tx := env.V1.Tx
	if tx.SeqNum != 0 || tx.SourceAccount.Address() != f.server.Address() {
		t.Errorf("seq %d source %s", tx.SeqNum, tx.SourceAccount.Address())
	}
	tb := tx.Cond.TimeBounds
	if int64(tb.MinTime) != f.now.Unix() || int64(tb.MaxTime) != f.now.Add(15*time.Minute).Unix() {
		t.Errorf("time bounds %d..%d", tb.MinTime, tb.MaxTime)
	}
	if tx.Memo.Type != xdr.MemoTypeMemoId || uint64(*tx.Memo.Id) != 9 {
		t.Errorf("memo %+v", tx.Memo)
	}
	want := []struct{ src, key, val string }{
		{f.client.Address(), "example.com auth", ""},
		{f.server.Address(), "web_auth_domain", "auth.example.com"},
		{f.clientDomain.Address(), "client_domain", "wallet.example"},
	}
	if len(tx.Operations) != len(want) {
		t.Fatalf("%d operations", len(tx.Operations))
	}
	for i, w := range want {
		op := tx.Operations[i]
		if op.SourceAccount.Address() != w.src || string(op.Body.ManageDataOp.DataName) != w.key {
			t.Errorf("op %d: %s %q", i, op.SourceAccount.Address(), op.Body.ManageDataOp.DataName)
		}
		if w.val != "" && string(*op.Body.ManageDataOp.DataValue) != w.val {
			t.Errorf("op %d value %q", i, *op.Body.ManageDataOp.DataValue)
		}
	}
	if n := len(*tx.Operations[0].Body.ManageDataOp.DataValue); n != 64 {
		t.Errorf("nonce is %d bytes", n)
	}
	if len(env.V1.Signatures) != 1 {
		t.Errorf("%d signatures", len(env.V1.Signatures))
	}
}

func TestChallengeInputErrors(t *testing.T) {
	f := newFixture()
	memo := uint64(1)
	for name, p := range map[string]func(*ChallengeParams){
		"missing account":         func(p *ChallengeParams) { p.ClientAccount = "" },
		"bad account":             func(p *ChallengeParams) { p.ClientAccount = "GABC" },
		"secret seed as account":  func(p *ChallengeParams) { p.ClientAccount = f.client.Seed() },
		"memo with muxed account": func(p *ChallengeParams) { p.ClientAccount = muxed(f.client, 3); p.Memo = &memo },
		"home domain too long":    func(p *ChallengeParams) { p.HomeDomain = strings.Repeat("a", 61) },
	} {
		t.Run(name, func(t *testing.T) {
			cp := f.params()
			p(&cp)
			if _, err := BuildChallenge(cp); !IsInputError(err) {
				t.Fatalf("got %v, want an input error", err)
			}
		})
	}
}

// TestChallengeEncodingMatchesSDK checks the hand-assembled envelope and hash against the
// SDK's own encoder and hasher.
func TestChallengeEncodingMatchesSDK(t *testing.T) {
	f := newFixture()
	p := f.params()
	withClientDomain(f, &p)
	for _, m := range []*uint64{nil, new(uint64)} {
		p.Memo = m
		txB64, env := buildDecoded(t, p)
		again, err := xdr.MarshalBase64(env)
		if err != nil || again != txB64 {
			t.Fatalf("SDK re-encoding differs:\n%s\n%s", again, txB64)
		}
		want, _ := network.HashTransactionInEnvelope(env, testNet)
		vp := f.verifyParams()
		vp.Now = f.now
		c, err := ReadChallenge(txB64, vp)
		if err != nil {
			t.Fatal(err)
		}
		if c.Hash != want {
			t.Fatal("hash differs from the SDK's")
		}
	}
}

// TestClientDomainKeyThatIsAlsoASigner: when the client_domain key is also a signer of the
// client account, its one signature counts for both (SEP-10 does not ask it to sign twice).
func TestClientDomainKeyThatIsAlsoASigner(t *testing.T) {
	f := newFixture()
	p := f.params()
	withClientDomain(f, &p)
	tx, err := BuildChallenge(p)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignChallenge(tx, testNet, f.client, f.clientDomain)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ReadChallenge(signed, f.verifyParams())
	if err != nil {
		t.Fatal(err)
	}
	acct := &Account{Signers: []Signer{{Key: f.client.Address(), Weight: 1}, {Key: f.clientDomain.Address(), Weight: 1}}, MediumThreshold: 2}
	got, err := ch.VerifySignatures(acct)
	if err != nil || len(got) != 2 {
		t.Fatalf("client + client-domain signer meeting the threshold: %v %v", got, err)
	}
	acct.MediumThreshold = 3
	if _, err := ch.VerifySignatures(acct); err == nil {
		t.Fatal("weight 2 met a threshold of 3")
	}
}
