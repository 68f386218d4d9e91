package kyc_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store/storetest"
	"github.com/anchorkit/anchor/pkg/callbacksig"
)

func newService(t testing.TB, autoApprove bool) *kyc.Service {
	st := storetest.Open(t)
	return &kyc.Service{Store: st, AllowHTTPCallbacks: true, Config: config.KYC{
		AutoApprove: autoApprove, MaxFileSize: 1 << 20, CustomerQuota: 4 << 20, DefaultType: "sep6-deposit",
		Types: config.DefaultCustomerTypes()}}
}

var person = map[string]string{"first_name": "Jane", "last_name": "Doe", "email_address": "jane@example.com"}

// TestCallbackRetriedWithBackoff: a failing receiver gets the callback again, later, and the
// delivered body is signed and carries the new status.
func TestCallbackRetriedWithBackoff(t *testing.T) {
	svc := newService(t, false)
	signer := keypair.MustRandom()
	var mu sync.Mutex
	var times []time.Time
	var bodies []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := callbacksig.Verify(r.Header.Get("Signature"), r.Host, body, signer.Address(), time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		mu.Lock()
		times = append(times, time.Now())
		bodies = append(bodies, string(body))
		n := len(times)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	calls := func() int { mu.Lock(); defer mu.Unlock(); return len(times) }
	defer rcv.Close()
	d := callback.NewDispatcher(svc.Store.(callback.Queue), signer, rcv.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Renderers[kyc.CallbackKind] = svc.RenderCallback
	d.BaseDelay = 50 * time.Millisecond
	svc.Wake = d.Wake
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)

	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	id, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetCallback(ctx, p, kyc.CallbackRequest{ID: id, URL: rcv.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "t"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for calls() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // a fourth call would come within this
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 3 {
		t.Fatalf("%d calls, want 3 (two failures, then success, then none)", len(times))
	}
	// The first retry waits at least the base delay (50 ms), the second at least twice it: lower
	// bounds only, since a loaded machine (the race detector, CI) can only make them later
	// (comparing the two gaps failed when the first was late).
	if gap1, gap2 := times[1].Sub(times[0]), times[2].Sub(times[1]); gap1 < 40*time.Millisecond || gap2 < 90*time.Millisecond {
		t.Errorf("retries not backed off: %s then %s", gap1, gap2)
	}
	if !strings.Contains(bodies[2], `"status":"ACCEPTED"`) {
		t.Fatalf("body %q", bodies[2])
	}
}

func TestAutoApprove(t *testing.T) {
	for _, auto := range []bool{false, true} {
		svc := newService(t, auto)
		ctx := context.Background()
		p := kyc.Principal{Account: keypair.MustRandom().Address()}
		if _, err := svc.Put(ctx, p, &kyc.PutRequest{Values: map[string]string{"first_name": "Jane"}}); err != nil {
			t.Fatal(err)
		}
		r, _ := svc.Get(ctx, p, kyc.GetQuery{})
		if r.Status != kyc.NeedsInfo {
			t.Fatalf("auto=%v partial: %s", auto, r.Status)
		}
		svc.Put(ctx, p, &kyc.PutRequest{Values: person})
		r, _ = svc.Get(ctx, p, kyc.GetQuery{})
		want := kyc.Processing
		if auto {
			want = kyc.Accepted
		}
		if r.Status != want {
			t.Fatalf("auto=%v complete: %s, want %s", auto, r.Status, want)
		}
	}
}

// TestStatusRules: one table over the SEP-12 status rules.
func TestStatusRules(t *testing.T) {
	typ := config.CustomerType{Fields: []string{"first_name", "email_address"}, Optional: []string{"mobile_number"}}
	acc, proc, rej := kyc.FieldState{Status: kyc.FieldAccepted}, kyc.FieldState{Status: kyc.FieldProcessing}, kyc.FieldState{Status: kyc.FieldRejected}
	cases := []struct {
		name   string
		c      *kyc.Customer
		status kyc.Status
	}{
		{"unknown customer", nil, kyc.NeedsInfo},
		{"missing a required field", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc}}, kyc.NeedsInfo},
		{"all provided, in review", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": proc}}, kyc.Processing},
		{"all accepted", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": acc}}, kyc.Accepted},
		{"optional field in review", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": acc, "mobile_number": proc}}, kyc.Processing},
		{"required field rejected", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": rej, "email_address": acc}}, kyc.NeedsInfo},
		{"optional field rejected", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": acc, "mobile_number": rej}}, kyc.NeedsInfo},
		{"rejected customer", &kyc.Customer{Rejected: true, Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": acc}}, kyc.Rejected},
		{"field of another type ignored", &kyc.Customer{Fields: map[string]kyc.FieldState{"first_name": acc, "email_address": acc, "bank_number": proc}}, kyc.Accepted},
	}
	for _, c := range cases {
		if got := c.c.StatusFor(typ); got != c.status {
			t.Errorf("%s: %s, want %s", c.name, got, c.status)
		}
		r := kyc.Describe(c.c, typ)
		if r.Status == kyc.NeedsInfo && len(r.Fields) == 0 {
			t.Errorf("%s: NEEDS_INFO without fields", c.name)
		}
		if r.Status == kyc.Rejected && r.Message == "" {
			t.Errorf("%s: REJECTED without message", c.name)
		}
	}
}

// TestCallbackOnAnyTypesChange: the status callback is queued when the customer's status for any
// type changes, not only for the type the PUT names.
func TestCallbackOnAnyTypesChange(t *testing.T) {
	svc := newService(t, false)
	ctx := context.Background()
	q := svc.Store.(callback.Queue)
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	id, err := svc.Put(ctx, p, &kyc.PutRequest{Values: person})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetCallback(ctx, p, kyc.CallbackRequest{ID: id, URL: "https://wallet.example/cb"}); err != nil {
		t.Fatal(err)
	}
	drain := func() int {
		due, _ := q.DueCallbacks(ctx, time.Now().Add(time.Hour), 100)
		for _, it := range due {
			q.FinishCallback(ctx, it, nil)
		}
		return len(due)
	}
	drain()
	// sep6-deposit stays PROCESSING; sep6-withdraw goes from NEEDS_INFO to PROCESSING.
	if _, err := svc.Put(ctx, p, &kyc.PutRequest{Type: "sep6-deposit", Values: map[string]string{"bank_account_number": "1", "bank_number": "2"}}); err != nil {
		t.Fatal(err)
	}
	if n := drain(); n != 1 {
		t.Fatalf("%d callbacks queued after another type's status changed, want 1", n)
	}
}

// TestDecisionRules: request-info always leads to NEEDS_INFO (also for an optional or extra
// field); approve explains what blocks it; a decision that changes nothing adds no audit entry.
func TestDecisionRules(t *testing.T) {
	svc := newService(t, false)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	id, _ := svc.Put(ctx, p, &kyc.PutRequest{Values: map[string]string{"first_name": "J", "last_name": "D", "email_address": "j@example.com", "mobile_number": "+14155552671"}})
	if st, err := svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "c"}); err != nil || st != kyc.Accepted {
		t.Fatalf("approve: %s %v", st, err)
	}
	events := func() int { e, _ := svc.Store.Events(ctx, id); return len(e) }
	n := events()
	if st, err := svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "c"}); err != nil || st != kyc.Accepted || events() != n {
		t.Fatalf("approving an accepted customer: %s %v, %d events (was %d)", st, err, events(), n)
	}
	for _, field := range []string{"mobile_number", "occupation"} { // optional for the type; not used by it
		if st, err := svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionRequestInfo, By: "c", Field: field, Reason: "again please"}); err != nil || st != kyc.NeedsInfo {
			t.Fatalf("request-info %s: %s %v", field, st, err)
		}
	}
	_, err := svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "c"})
	var be *kyc.BlockedError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "mobile_number") || !strings.Contains(err.Error(), "occupation") {
		t.Fatalf("approve with rejected fields: %v", err)
	}
}

// TestListPerType: kyc list has a row per customer and type: a customer accepted for deposits
// stays listed as ACCEPTED for sep6-deposit after it sends withdrawal fields.
func TestListPerType(t *testing.T) {
	svc := newService(t, false)
	ctx := context.Background()
	p := kyc.Principal{Account: keypair.MustRandom().Address()}
	id, _ := svc.Put(ctx, p, &kyc.PutRequest{Values: person})
	svc.Decide(ctx, id, kyc.Decision{Action: kyc.ActionApprove, By: "c"})
	if _, err := svc.Put(ctx, p, &kyc.PutRequest{Type: "sep6-withdraw", Values: map[string]string{"bank_account_number": "1", "bank_number": "2"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.List(ctx, kyc.ListFilter{Type: "sep6-deposit", Status: kyc.Accepted})
	if len(got) != 1 || got[0].ID != id || got[0].Type != "sep6-deposit" {
		t.Fatalf("accepted depositors: %+v", got)
	}
	if got, _ := svc.List(ctx, kyc.ListFilter{Type: "sep6-withdraw", Status: kyc.Processing}); len(got) != 1 {
		t.Fatalf("withdrawers in review: %+v", got)
	}
}
