package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/httpx"
)

// Peer is the OS identity of the process at the other end of an admin socket connection, read
// from the kernel (SO_PEERCRED), not from anything the client says.
type Peer struct {
	UID, GID, PID int
	// Groups are the process's supplementary groups (from /proc/PID/status) and its GID.
	Groups []int
	// User is the user name, or "uid N" when the user database has none.
	User string
}

type peerKey struct{}

// ConnContext puts the peer of a unix socket connection in the context of its requests (for
// http.Server.ConnContext). A connection whose peer cannot be read has none, and Authorize
// refuses it whenever roles are configured.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	p, err := peerOf(uc)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFrom returns the peer of the connection a request came on.
func PeerFrom(ctx context.Context) (*Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(*Peer)
	return p, ok
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

// procGroups reads the supplementary groups of a live process.
func procGroups(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			var out []int
			for _, f := range strings.Fields(rest) {
				if g, err := strconv.Atoi(f); err == nil {
					out = append(out, g)
				}
			}
			return out
		}
	}
	return nil
}

// Role is what a request needs to be allowed.
type Role string

// Roles of the admin socket.
const (
	RoleRead       Role = "read"       // any configured group
	RoleCompliance Role = "compliance" // KYC decisions
	RoleTreasury   Role = "treasury"   // money moves
	RoleOperator   Role = "operator"   // transaction moves
	// RoleOwner is the server's own OS user and root: API keys are made and revoked by them
	// only (a key for any role is every role's power).
	RoleOwner Role = "owner"
)

// Roles maps each role to the gid of its group (-1: not configured).
type Roles struct {
	Compliance, Treasury, Operator int
	// Owner is the server's own uid: it, and root, may do everything.
	Owner int
}

// Enabled reports whether any group is configured (the socket is then open to other users).
func (r Roles) Enabled() bool { return r.Compliance >= 0 || r.Treasury >= 0 || r.Operator >= 0 }

// ResolveRoles turns the admin.*_group settings into gids, naming the key of a group that does
// not exist.
func ResolveRoles(c config.Admin) (Roles, error) {
	r := Roles{Compliance: -1, Treasury: -1, Operator: -1, Owner: os.Getuid()}
	for _, g := range []struct {
		key, name string
		gid       *int
	}{{"admin.compliance_group", c.ComplianceGroup, &r.Compliance}, {"admin.treasury_group", c.TreasuryGroup, &r.Treasury}, {"admin.operator_group", c.OperatorGroup, &r.Operator}} {
		if g.name == "" {
			continue
		}
		if n, err := strconv.Atoi(g.name); err == nil && n >= 0 {
			*g.gid = n
			continue
		}
		grp, err := user.LookupGroup(g.name)
		if err != nil {
			return r, fmt.Errorf("config: %s: no OS group %q on this machine", g.key, g.name)
		}
		*g.gid, _ = strconv.Atoi(grp.Gid)
	}
	return r, nil
}

// RoleOf says which role a request to the admin API needs: reads need any group, writes the
// group of what they change.
func RoleOf(r *http.Request) Role {
	if r.URL.Path == "/v1/backup" {
		return RoleOperator // a backup holds every customer's personal data
	}
	if r.URL.Path == "/v1/apikeys" || strings.HasPrefix(r.URL.Path, "/v1/apikeys/") {
		return RoleOwner
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return RoleRead
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/kyc/"):
		return RoleCompliance
	case strings.HasPrefix(r.URL.Path, "/v1/tx/"), strings.HasPrefix(r.URL.Path, "/v1/events/"):
		return RoleOperator
	default:
		return RoleTreasury
	}
}

// allows reports whether peer p may act in role.
func (r Roles) allows(p *Peer, role Role) bool {
	if p.UID == 0 || p.UID == r.Owner {
		return true
	}
	in := func(gid int) bool { return gid >= 0 && slices.Contains(p.Groups, gid) }
	switch role {
	case RoleCompliance:
		return in(r.Compliance)
	case RoleTreasury:
		return in(r.Treasury)
	case RoleOperator:
		return in(r.Operator)
	case RoleOwner:
		return false
	default:
		return in(r.Compliance) || in(r.Treasury) || in(r.Operator)
	}
}

var groupKey = map[Role]string{RoleCompliance: "admin.compliance_group", RoleTreasury: "admin.treasury_group", RoleOperator: "admin.operator_group"}

// Authorize lets a request through only when its peer may act in the role it needs (with roles
// configured), and records the peer as the request's actor.
func Authorize(h http.Handler, roles Roles) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PeerFrom(r.Context())
		if !ok {
			if roles.Enabled() {
				httpx.Error(w, http.StatusForbidden, "the admin socket could not identify the calling OS user")
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		// Health says only that a server answers (the CLI's probe): no role needed.
		if role := RoleOf(r); roles.Enabled() && r.URL.Path != "/v1/health" && !roles.allows(p, role) {
			msg := fmt.Sprintf("%s may not do this: %s needs membership of the %s group (%s)", p.User, role, role, groupKey[role])
			switch role {
			case RoleOwner:
				msg = p.User + " may not manage API keys: only the server's own OS user and root may"
			case RoleRead:
				msg = p.User + " is in none of the admin groups (admin.compliance_group, admin.treasury_group, admin.operator_group)"
			}
			httpx.Error(w, http.StatusForbidden, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type actorKey struct{}

// WithActor names who makes the requests of ctx when no socket peer does (the operator API:
// "apikey:NAME"); Actor prefers it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor is who the audit trail records for a request: the OS user of its connection, with what
// the client passed as --by kept as a note; the client's word alone when the peer is unknown.
func Actor(ctx context.Context, by string) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return ActorNote(a, by)
	}
	p, ok := PeerFrom(ctx)
	if !ok {
		return by
	}
	return ActorNote(p.User, by)
}

// ActorNote is user, with note appended when it says something else.
func ActorNote(user, note string) string {
	note = strings.TrimSpace(note)
	if note == "" || note == user {
		return user
	}
	if strings.HasPrefix(note, user+" (--by ") {
		return note // the CLI composed it already for the same OS user
	}
	return user + " (--by " + note + ")"
}
