package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/config"
)

// TestAuthorizeByRole: each admin route needs its role; root and the server's own user may do
// everything; members of any group may read; without groups everyone who reaches the socket may.
func TestAuthorizeByRole(t *testing.T) {
	roles := Roles{Compliance: 10, Treasury: 20, Operator: 30, Owner: 999}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(Actor(r.Context(), "note"))) })
	h := Authorize(ok, roles)
	routes := map[Role][2]string{
		RoleRead:       {"GET", "/v1/tx"},
		RoleCompliance: {"POST", "/v1/kyc/customers/x/decisions"},
		RoleOperator:   {"POST", "/v1/tx/x/actions"},
		RoleTreasury:   {"POST", "/v1/treasury/credit/x"},
	}
	peers := map[string]*Peer{
		"root":       {UID: 0, User: "root"},
		"owner":      {UID: 999, User: "anchor"},
		"compliance": {UID: 1, User: "alice", Groups: []int{10}},
		"treasury":   {UID: 2, User: "tom", Groups: []int{20, 5}},
		"operator":   {UID: 3, User: "olga", Groups: []int{30}},
		"nobody":     {UID: 4, User: "eve", Groups: []int{5}},
	}
	allowed := map[string][]Role{
		"root":       {RoleRead, RoleCompliance, RoleOperator, RoleTreasury},
		"owner":      {RoleRead, RoleCompliance, RoleOperator, RoleTreasury},
		"compliance": {RoleRead, RoleCompliance},
		"treasury":   {RoleRead, RoleTreasury},
		"operator":   {RoleRead, RoleOperator},
		"nobody":     {},
	}
	for name, p := range peers {
		for role, rt := range routes {
			t.Run(name+"/"+string(role), func(t *testing.T) {
				if got := RoleOf(httptest.NewRequest(rt[0], rt[1], nil)); got != role {
					t.Fatalf("RoleOf %v = %s", rt, got)
				}
				req := httptest.NewRequest(rt[0], rt[1], nil).WithContext(context.WithValue(context.Background(), peerKey{}, p))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				want := false
				for _, r := range allowed[name] {
					want = want || r == role
				}
				if (rec.Code == 200) != want {
					t.Fatalf("%s %s by %s: %d %s", rt[0], rt[1], name, rec.Code, rec.Body)
				}
				if want && rec.Body.String() != p.User+" (--by note)" {
					t.Fatalf("actor %q", rec.Body)
				}
				if !want && (rec.Code != 403 || !strings.Contains(rec.Body.String(), p.User)) {
					t.Fatalf("refusal %d %s", rec.Code, rec.Body)
				}
			})
		}
	}
	// Health answers everyone (the CLI's probe); no groups: no refusals; no peer with groups: refused.
	req := httptest.NewRequest("GET", "/v1/health", nil).WithContext(context.WithValue(context.Background(), peerKey{}, peers["nobody"]))
	if rec := serve(h, req); rec.Code != 200 {
		t.Fatalf("health: %d", rec.Code)
	}
	open := Authorize(ok, Roles{Compliance: -1, Treasury: -1, Operator: -1})
	req = httptest.NewRequest("POST", "/v1/treasury/credit/x", nil).WithContext(context.WithValue(context.Background(), peerKey{}, peers["nobody"]))
	if rec := serve(open, req); rec.Code != 200 {
		t.Fatalf("no groups: %d", rec.Code)
	}
	if rec := serve(h, httptest.NewRequest("GET", "/v1/tx", nil)); rec.Code != 403 {
		t.Fatalf("unknown peer with groups: %d", rec.Code)
	}
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestResolveRoles(t *testing.T) {
	r, err := ResolveRoles(config.Admin{ComplianceGroup: "4201", OperatorGroup: "root"})
	if err != nil || r.Compliance != 4201 || r.Operator != 0 || r.Treasury != -1 || !r.Enabled() {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ResolveRoles(config.Admin{TreasuryGroup: "no-such-group-here"}); err == nil || !strings.Contains(err.Error(), "admin.treasury_group") {
		t.Fatalf("unknown group: %v", err)
	}
	if r, _ := ResolveRoles(config.Admin{}); r.Enabled() {
		t.Fatal("no groups configured, yet enabled")
	}
}

func TestActorNote(t *testing.T) {
	for _, c := range [][3]string{{"alice", "", "alice"}, {"alice", "alice", "alice"}, {"alice", "Bob", "alice (--by Bob)"}, {"alice", "alice (--by Bob)", "alice (--by Bob)"}, {"eve", "alice (--by Bob)", "eve (--by alice (--by Bob))"}} {
		if got := ActorNote(c[0], c[1]); got != c[2] {
			t.Errorf("ActorNote(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
