package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

// param is a query parameter.
type param struct{ Name, Type, Doc string }

// doc describes one endpoint of the admin API for the OpenAPI description. Body and Answer are
// zero values of the request and answer types (nil: none); Media is the answer's media type
// when it is not JSON.
type doc struct {
	Summary string
	Query   []param
	Body    any
	Answer  any
	Media   string
}

var byParam = param{"by", "string", "a note on who asks, recorded after the key's name"}
var dryRun = param{"dry_run", "string", "1: plan the action, submit nothing"}

// docs describe every endpoint the admin API mounts (TestSpecCoversEveryRoute).
var docs = map[string]doc{
	"GET /v1/health": {Summary: "Whether the server answers", Answer: map[string]string{}},
	"GET /v1/events": {Summary: "Events after an id, in the order they were committed; with wait, a long poll that answers as soon as there is one",
		Query: []param{{"after", "integer", "the last event id you have (0: from the oldest kept)"}, {"limit", "integer", "at most this many (100, at most 1000)"}, {"wait", "string", "wait up to this long for an event (30s; at most 60s)"}}, Answer: []events.Event{}},
	"GET /v1/events/failed":                 {Summary: "Dead letters: deliveries that failed for the whole retry period", Answer: []events.Delivery{}},
	"POST /v1/events/redeliver":             {Summary: "Send an event again (its dead letters, and to each webhook that has sent it), or every dead letter", Body: admin.RedeliverRequest{}, Answer: map[string]int{}},
	"GET /v1/events/webhooks/{name}":        {Summary: "A webhook's backlog: events its feed has yet to send, the oldest of them, deliveries retrying and dead letters", Answer: views.Webhook{}},
	"GET /v1/kyc/customers":                 {Summary: "Customers, newest change first", Query: []param{{"status", "string", "ACCEPTED, PROCESSING, NEEDS_INFO or REJECTED"}, {"type", "string", "SEP-12 customer type"}, {"limit", "integer", "at most this many"}}, Answer: []views.CustomerRow{}},
	"GET /v1/kyc/customers/{id}":            {Summary: "A customer with their data, files and audit trail", Answer: views.Customer{}},
	"GET /v1/kyc/files/{id}":                {Summary: "A KYC file's contents (its metadata in the X-File header)", Media: "application/octet-stream"},
	"GET /v1/kyc/ids":                       {Summary: "Customer ids that start with a prefix", Query: []param{{"prefix", "string", "the start of the id"}, {"limit", "integer", "at most this many (200)"}}, Answer: []string{}},
	"GET /v1/kyc/ids/{prefix}":              {Summary: "The customer id a unique prefix names", Answer: map[string]string{}},
	"POST /v1/kyc/customers/{id}/decisions": {Summary: "Approve, reject or ask a customer for more information", Body: kyc.Decision{}, Answer: map[string]string{}},
	"GET /v1/tx": {Summary: "Transactions, newest first (streamed)", Query: []param{{"status", "string", "SEP-6/24 status"}, {"kind", "string", "deposit or withdrawal (exchanges included), deposit-exchange or withdrawal-exchange"},
		{"account", "string", "the owner's account"}, {"reference", "string", "a deposit's reference"}, {"stuck_for", "string", "only those unchanged for this long (30m, 2h)"}, {"limit", "integer", "at most this many"}}, Answer: []views.Tx{}},
	"GET /v1/tx/{id}":               {Summary: "A transaction with its history", Answer: views.TxDetail{}},
	"GET /v1/quotes":                {Summary: "SEP-38 firm quotes, newest first", Query: []param{{"account", "string", "only this account's"}, {"limit", "integer", "at most this many"}}, Answer: []views.Quote{}},
	"GET /v1/quotes/{id}":           {Summary: "A firm quote, with the transaction that used it", Answer: views.Quote{}},
	"POST /v1/tx/{id}/actions":      {Summary: "Move a transaction: hold, release, fail, refund, deposit received, withdraw received or paid, or price an exchange", Body: transfer.Action{}, Answer: views.Tx{}},
	"GET /v1/tx-ids":                {Summary: "Transaction ids that start with a prefix", Query: []param{{"prefix", "string", "the start of the id"}, {"limit", "integer", "at most this many (200)"}}, Answer: []string{}},
	"GET /v1/tx-ids/{prefix}":       {Summary: "The transaction id a unique prefix names", Answer: map[string]string{}},
	"GET /v1/backup":                {Summary: "A consistent snapshot of the store (bbolt; PostgreSQL has backups of its own)", Media: "application/x-tar"},
	"GET /v1/store/check":           {Summary: "Check that every record decodes and the indexes agree", Answer: store.CheckReport{}},
	"GET /v1/treasury/unmatched":    {Summary: "Payments to the anchor that matched no transaction, newest first", Query: []param{{"unsettled", "string", "1: only those not settled"}, {"limit", "integer", "at most this many"}}, Answer: []views.Payment{}},
	"POST /v1/treasury/credit/{id}": {Summary: "Send a deposit's tokens (exactly once)", Query: []param{byParam}, Answer: views.Tx{}},
	"POST /v1/treasury/credit": {Summary: "Credit every deposit waiting for its tokens; one JSON line per deposit as it is done, then a line with done: true",
		Query: []param{byParam}, Media: "application/x-ndjson"},
	"POST /v1/treasury/payments/{id}/return":  {Summary: "Send an unmatched payment back to its sender", Query: []param{byParam, dryRun}, Answer: views.Op{}},
	"POST /v1/treasury/payments/{id}/resolve": {Summary: "Tie an unmatched payment to a withdrawal, or settle it with a note", Query: []param{byParam}, Body: admin.ResolveRequest{}, Answer: views.Payment{}},
	"POST /v1/treasury/weights":               {Summary: "The signature weight an envelope carries against its source's thresholds", Query: []param{byParam}, Body: Envelope{}, Answer: treasury.Weights{}},
	"GET /v1/treasury/proposals":              {Summary: "Actions the two-person rule holds for a second person", Answer: []views.Proposal{}},
	"POST /v1/treasury/proposals/{id...}":     {Summary: "Approve a held action (another key than the one that proposed it); its id's slash as is or as %2F", Query: []param{byParam, dryRun}, Answer: views.Op{}},
	"POST /v1/treasury/burn-withdrawals":      {Summary: "Burn the tokens of paid withdrawals", Query: []param{byParam, dryRun}, Answer: []views.Op{}},
	"POST /v1/treasury/prepare-credit/{id}":   {Summary: "Prepare a deposit's credit for offline signing", Query: []param{byParam, {"unsigned", "string", "1: leave the signatures to the offline signers"}, {"valid_for", "string", "how long the envelope may land (24h)"}}, Answer: views.Op{}},
	"GET /v1/treasury/plan-credit/{id}":       {Summary: "What crediting a deposit would submit", Query: []param{byParam}, Answer: views.Op{}},
	"POST /v1/treasury/submit":                {Summary: "Submit an envelope signed offline", Query: []param{byParam}, Body: Envelope{}, Answer: views.Op{}},
	"GET /v1/treasury/reconcile":              {Summary: "Compare the ledger with the store: supply, transactions, actions", Query: []param{byParam}, Answer: views.Report{}},
	"POST /v1/treasury/actions":               {Summary: "Burn, mint, or pay from the distribution account", Query: []param{byParam}, Body: admin.ActionRequest{}, Answer: views.Op{}},
}

// Envelope is the body of the calls that take a transaction envelope.
type Envelope struct {
	Envelope string `json:"envelope"`
}

// allRoutes are the patterns of every endpoint the admin API mounts with every part present
// (the description does not depend on what a server has configured).
func allRoutes() []string {
	var st *store.Bolt // only its type: nothing is called while the routes are mounted
	api := admin.API{Treasury: func(string) (*treasury.Treasury, *keypair.Full, error) { return nil, nil, nil }, Maintenance: st, Events: st, Quotes: admin.LocalQuotes{}}
	return admin.Routes(context.Background(), api)
}

var pathParam = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// Spec is the OpenAPI 3 description of the operator API, built from the admin API's routes,
// the docs above and the Go types of the views (so that it cannot drift from the code).
func Spec() []byte {
	g := &schemas{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	routes := allRoutes()
	sort.Strings(routes)
	for _, pattern := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		d, ok := docs[pattern]
		if !ok {
			d = doc{Summary: "(undocumented)"}
		}
		oaPath := pathParam.ReplaceAllString(path, "{$1}")
		role := admin.RoleOf(httptest.NewRequest(method, pathParam.ReplaceAllString(path, "x"), nil))
		op := map[string]any{
			"summary":          d.Summary,
			"operationId":      operationID(method, oaPath),
			"description":      "Needs " + roleText(role) + ".",
			"x-anchor-role":    string(role),
			"responses":        responses(g, d, method),
			"security":         []any{map[string]any{"apiKey": []string{}}},
			"x-anchor-pattern": pattern,
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range d.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Doc, "schema": map[string]any{"type": q.Type}})
		}
		if method == "POST" {
			params = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
			if d.Body != nil {
				op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.of(reflect.TypeOf(d.Body))}}}
			}
		}
		if params != nil {
			op["parameters"] = params
		}
		if paths[oaPath] == nil {
			paths[oaPath] = map[string]any{}
		}
		paths[oaPath][strings.ToLower(method)] = op
	}
	errSchema := map[string]any{"type": "object", "required": []string{"error"}, "properties": map[string]any{"error": map[string]any{"type": "string"}}}
	g.defs["Error"] = errSchema
	spec := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "anchor operator API",
			"version": "1",
			"description": "The operations of the anchor CLI for the business's programs, on operator_listen. " +
				"Authenticate with an API key (anchor apikey create) as Authorization: Bearer KEY; its role limits what it may do. " +
				"Answers are the CLI's --json views: decimal amounts, RFC 3339 times. Errors are {\"error\": \"...\"}. " +
				"A call that changes something may carry an Idempotency-Key: a retry with the same key and request gets the first answer " +
				"(Idempotent-Replayed: true) and acts no second time. See docs/integration.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"apiKey": map[string]any{"type": "http", "scheme": "bearer", "description": "an API key of anchor apikey create"},
			},
			"parameters": map[string]any{
				"IdempotencyKey": map[string]any{"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string", "maxLength": 255},
					"description": "makes the call at most once: a retry with the same key and request within 24 h gets the first answer"},
			},
		},
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func roleText(r admin.Role) string {
	switch r {
	case admin.RoleRead:
		return "any key (read-only, compliance, treasury or operator)"
	case admin.RoleOwner:
		return "the server's own OS user (not available to keys)"
	}
	return "a " + string(r) + " key"
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '{' || r == '}' }) {
		if part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func responses(g *schemas, d doc, method string) map[string]any {
	errRef := func(why string) map[string]any {
		return map[string]any{"description": why, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	ok := map[string]any{"description": "the answer"}
	switch {
	case d.Media != "":
		ok["content"] = map[string]any{d.Media: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
	case d.Answer != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.of(reflect.TypeOf(d.Answer))}}
	}
	out := map[string]any{
		"200": ok,
		"400": errRef("a refused request: the message says why"),
		"401": errRef("no key, or a key that is unknown, revoked or expired"),
		"403": errRef("the key's role may not make this call"),
		"404": errRef("no such record"),
		"503": errRef("the database or Horizon is unavailable: retry later (Retry-After)"),
	}
	if method == "POST" {
		out["202"] = errRef("held by the two-person rule: another key approves it (POST /v1/treasury/proposals/{id})")
		out["409"] = errRef("the move is not allowed in the transaction's status, or a call with this Idempotency-Key still runs")
		out["422"] = errRef("the Idempotency-Key was used with another request")
	}
	return out
}

// schemas turns Go types into JSON Schemas, named after their types in components.
type schemas struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})
var durationType = reflect.TypeOf(time.Duration(0))
var rawType = reflect.TypeOf(json.RawMessage{})

func (g *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "a JSON view (docs/json.md)"}
	case t == durationType:
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.of(t.Elem())
		if _, ref := s["$ref"]; ref {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if pkg := t.PkgPath(); !strings.HasSuffix(pkg, "/views") && !strings.HasSuffix(pkg, "/operator") {
			name = pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
		}
		key := strings.ReplaceAll(name, ".", "_")
		if _, ok := g.defs[key]; !ok {
			g.defs[key] = nil // a placeholder: recursive types end here
			g.defs[key] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + key}
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var fields func(t reflect.Type)
	fields = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				fields(ft)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.of(f.Type)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
		}
	}
	fields(t)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}
