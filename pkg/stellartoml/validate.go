package stellartoml

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/stellar/go-stellar-sdk/strkey"
	"golang.org/x/net/publicsuffix"
)

// Severity of a Finding.
type Severity string

// Severities, from worst.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one problem found in a stellar.toml. Key is the path of the field, e.g.
// "CURRENCIES[0].code"; Line is 1-based, 0 when the problem is about the whole file.
type Finding struct {
	Severity Severity `json:"severity"`
	Key      string   `json:"key"`
	Line     int      `json:"line"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	loc := ""
	if f.Line > 0 {
		loc = fmt.Sprintf("line %d: ", f.Line)
	}
	key := ""
	if f.Key != "" {
		key = f.Key + ": "
	}
	return fmt.Sprintf("%s: %s%s%s", f.Severity, loc, key, f.Message)
}

// HasErrors reports whether any finding is an error, or, with strict, any finding at all.
func HasErrors(findings []Finding, strict bool) bool {
	for _, f := range findings {
		if f.Severity == SeverityError || strict {
			return true
		}
	}
	return false
}

type kind int

const (
	kString   kind = iota
	kHTTPS         // "uses https://": https (http only for localhost), no trailing slash
	kURL           // url: http(s), https preferred
	kHTTPSURL      // a page or document: https (http only for localhost), any path or query
	kAnyURL        // url: http(s) without preference (history archives are often plain http)
	kAccount       // G... public key
	kContract      // C... contract id
	kAccounts      // list of G...
	kStrings       // list of strings
	kInt
	kBool
	kEmail
	kPhone
)

type field struct {
	kind kind
	// check adds rules beyond the kind; it returns a message or "".
	check func(v any) string
	// severity of a type error; error unless set.
	deprecated bool
}

var (
	generalFields = map[string]field{
		"VERSION":                         {kind: kString},
		"NETWORK_PASSPHRASE":              {kind: kString},
		"FEDERATION_SERVER":               {kind: kHTTPS},
		"AUTH_SERVER":                     {kind: kHTTPS, deprecated: true},
		"TRANSFER_SERVER":                 {kind: kHTTPS},
		"TRANSFER_SERVER_SEP0024":         {kind: kHTTPS},
		"KYC_SERVER":                      {kind: kHTTPS},
		"WEB_AUTH_ENDPOINT":               {kind: kHTTPS},
		"WEB_AUTH_FOR_CONTRACTS_ENDPOINT": {kind: kHTTPS},
		"WEB_AUTH_CONTRACT_ID":            {kind: kContract},
		"SIGNING_KEY":                     {kind: kAccount},
		"HORIZON_URL":                     {kind: kURL},
		"ACCOUNTS":                        {kind: kAccounts},
		"URI_REQUEST_SIGNING_KEY":         {kind: kAccount},
		"DIRECT_PAYMENT_SERVER":           {kind: kHTTPS},
		"ANCHOR_QUOTE_SERVER":             {kind: kHTTPS},
	}
	documentationFields = map[string]field{
		"ORG_NAME":                         {kind: kString},
		"ORG_DBA":                          {kind: kString},
		"ORG_URL":                          {kind: kHTTPSURL},
		"ORG_LOGO":                         {kind: kURL},
		"ORG_DESCRIPTION":                  {kind: kString},
		"ORG_PHYSICAL_ADDRESS":             {kind: kString},
		"ORG_PHYSICAL_ADDRESS_ATTESTATION": {kind: kHTTPSURL},
		"ORG_PHONE_NUMBER":                 {kind: kPhone},
		"ORG_PHONE_NUMBER_ATTESTATION":     {kind: kHTTPSURL},
		"ORG_KEYBASE":                      {kind: kString},
		"ORG_TWITTER":                      {kind: kString},
		"ORG_GITHUB":                       {kind: kString},
		"ORG_OFFICIAL_EMAIL":               {kind: kEmail},
		"ORG_SUPPORT_EMAIL":                {kind: kEmail},
		"ORG_LICENSING_AUTHORITY":          {kind: kString},
		"ORG_LICENSE_TYPE":                 {kind: kString},
		"ORG_LICENSE_NUMBER":               {kind: kString},
	}
	principalFields = map[string]field{
		"name":                    {kind: kString},
		"email":                   {kind: kEmail},
		"keybase":                 {kind: kString},
		"telegram":                {kind: kString},
		"twitter":                 {kind: kString},
		"github":                  {kind: kString},
		"id_photo_hash":           {kind: kString, check: checkHexHash},
		"verification_photo_hash": {kind: kString, check: checkHexHash},
	}
	currencyFields = map[string]field{
		"code":                          {kind: kString, check: maxLen(12)},
		"issuer":                        {kind: kAccount},
		"contract":                      {kind: kContract},
		"code_template":                 {kind: kString, check: maxLen(12)},
		"status":                        {kind: kString, check: oneOf("live", "dead", "test", "private")},
		"display_decimals":              {kind: kInt, check: intRange(0, 7)},
		"name":                          {kind: kString, check: maxLen(20)},
		"desc":                          {kind: kString},
		"conditions":                    {kind: kString},
		"image":                         {kind: kURL},
		"fixed_number":                  {kind: kInt, check: intRange(0, 1<<62)},
		"max_number":                    {kind: kInt, check: intRange(0, 1<<62)},
		"is_unlimited":                  {kind: kBool},
		"is_asset_anchored":             {kind: kBool},
		"anchor_asset_type":             {kind: kString, check: oneOf("fiat", "crypto", "nft", "stock", "bond", "commodity", "realestate", "other")},
		"anchor_asset":                  {kind: kString},
		"attestation_of_reserve":        {kind: kURL},
		"redemption_instructions":       {kind: kString},
		"collateral_addresses":          {kind: kStrings},
		"collateral_address_messages":   {kind: kStrings},
		"collateral_address_signatures": {kind: kStrings},
		"regulated":                     {kind: kBool},
		"approval_server":               {kind: kURL},
		"approval_criteria":             {kind: kString},
		"toml":                          {kind: kHTTPS},
	}
	validatorFields = map[string]field{
		"ALIAS":        {kind: kString, check: matches(`^[a-z0-9-]{2,16}$`)},
		"DISPLAY_NAME": {kind: kString},
		"PUBLIC_KEY":   {kind: kAccount},
		"HOST":         {kind: kString},
		"HISTORY":      {kind: kAnyURL},
	}
	tables = map[string]map[string]field{
		"DOCUMENTATION": documentationFields,
	}
	arrayTables = map[string]map[string]field{
		"PRINCIPALS": principalFields,
		"CURRENCIES": currencyFields,
		"VALIDATORS": validatorFields,
	}
)

// Validate parses data and checks every SEP-1 rule. A syntax error is returned as a single
// error finding; the error return is reserved for input that is not a stellar.toml at all.
func Validate(data []byte) []Finding {
	v := &validator{lines: lineIndex(data)}
	if len(data) > MaxSize {
		v.add(SeverityError, "", 0, "file is %d bytes; SEP-1 allows at most %d", len(data), MaxSize)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		se := syntaxError(err).(*SyntaxError)
		v.add(SeverityError, "", se.Line, "not valid TOML: %s", se.Msg)
		return v.findings
	}
	v.validate(doc)
	sort.SliceStable(v.findings, func(i, j int) bool { return v.findings[i].Line < v.findings[j].Line })
	return v.findings
}

type validator struct {
	lines    map[string]int
	findings []Finding
}

func (v *validator) add(sev Severity, key string, line int, format string, args ...any) {
	v.findings = append(v.findings, Finding{Severity: sev, Key: key, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) line(key string) int {
	for key != "" {
		if l, ok := v.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func (v *validator) errorf(key, format string, args ...any) {
	v.add(SeverityError, key, v.line(key), format, args...)
}

func (v *validator) warnf(key, format string, args ...any) {
	v.add(SeverityWarning, key, v.line(key), format, args...)
}

func (v *validator) validate(doc map[string]any) {
	for _, k := range sortedKeys(doc) {
		val := doc[k]
		if f, ok := generalFields[k]; ok {
			v.field(k, f, val)
			continue
		}
		if fields, ok := tables[k]; ok {
			t, ok := val.(map[string]any)
			if !ok {
				v.errorf(k, "must be a table ([%s])", k)
				continue
			}
			v.table(k, fields, t)
			continue
		}
		if fields, ok := arrayTables[k]; ok {
			arr, ok := val.([]any)
			if !ok {
				v.errorf(k, "must be an array of tables ([[%s]])", k)
				continue
			}
			for i, e := range arr {
				key := fmt.Sprintf("%s[%d]", k, i)
				t, ok := e.(map[string]any)
				if !ok {
					v.errorf(key, "must be a table")
					continue
				}
				v.table(key, fields, t)
				if k == "CURRENCIES" {
					v.currency(key, t)
				}
			}
			continue
		}
		v.warnf(k, "unknown key; SEP-1 does not define it")
	}
	if _, ok := doc["VERSION"]; !ok {
		v.warnf("VERSION", "missing; say which SEP-1 version the file follows")
	}
	if p, ok := doc["NETWORK_PASSPHRASE"]; !ok {
		v.warnf("NETWORK_PASSPHRASE", "missing; clients cannot tell which network the accounts are on")
	} else if s, ok := p.(string); ok {
		if _, known := KnownNetworks[s]; !known {
			v.warnf("NETWORK_PASSPHRASE", "%q is not public, testnet or futurenet; fine for a standalone or private network", s)
		}
	}
	v.sameDomain(doc)
	v.dependencies(doc)
	v.duplicates(doc)
}

func (v *validator) table(prefix string, fields map[string]field, t map[string]any) {
	for _, k := range sortedKeys(t) {
		key := prefix + "." + k
		f, ok := fields[k]
		if !ok {
			v.warnf(key, "unknown key; SEP-1 does not define it in %s", strings.SplitN(prefix, "[", 2)[0])
			continue
		}
		v.field(key, f, t[k])
	}
}

func (v *validator) field(key string, f field, val any) {
	if f.deprecated {
		v.warnf(key, "is deprecated")
	}
	if msg := checkKind(f.kind, val); msg != "" {
		v.errorf(key, "%s", msg)
		return
	}
	if f.check != nil {
		if msg := f.check(val); msg != "" {
			v.errorf(key, "%s", msg)
		}
	}
	if f.kind == kURL {
		if s := val.(string); strings.HasPrefix(s, "http://") && !isLocal(s) {
			v.warnf(key, "%q should use https", s)
		}
	}
}

func (v *validator) currency(key string, t map[string]any) {
	if _, ok := t["toml"]; ok {
		if len(t) > 1 {
			v.errorf(key+".toml", "a currency that links to a separate toml must have no other fields")
		}
		return
	}
	_, hasCode := t["code"]
	_, hasTemplate := t["code_template"]
	if !hasCode && !hasTemplate {
		v.errorf(key+".code", "missing; every currency needs a code")
	}
	_, hasIssuer := t["issuer"]
	_, hasContract := t["contract"]
	switch {
	case hasIssuer && hasContract:
		v.errorf(key+".contract", "a currency has either an issuer (Stellar asset) or a contract, not both")
	case !hasIssuer && !hasContract:
		v.errorf(key+".issuer", "missing; a Stellar asset needs its issuer (or a contract for a SEP-41 token)")
	}
	n := 0
	for _, k := range []string{"fixed_number", "max_number", "is_unlimited"} {
		if _, ok := t[k]; ok {
			n++
		}
	}
	if n > 1 {
		v.errorf(key+".is_unlimited", "fixed_number, max_number and is_unlimited are mutually exclusive; give one")
	}
	if r, ok := t["regulated"].(bool); ok && r {
		if _, ok := t["approval_server"]; !ok {
			v.errorf(key+".approval_server", "missing; a regulated asset (SEP-8) needs an approval_server")
		}
	}
	addrs, _ := t["collateral_addresses"].([]any)
	sigs, hasSigs := t["collateral_address_signatures"].([]any)
	switch {
	case len(addrs) > 0 && !hasSigs:
		v.errorf(key+".collateral_addresses", "has %d address(es) but no collateral_address_signatures; sign each to prove control", len(addrs))
	case hasSigs && len(sigs) != len(addrs):
		v.errorf(key+".collateral_address_signatures", "has %d entries for %d collateral_addresses", len(sigs), len(addrs))
	}
}

// dependencies checks that the endpoints each listed SEP needs are present.
func (v *validator) dependencies(doc map[string]any) {
	has := func(k string) bool { _, ok := doc[k]; return ok }
	if has("WEB_AUTH_ENDPOINT") && !has("SIGNING_KEY") {
		v.add(SeverityError, "SIGNING_KEY", v.line("WEB_AUTH_ENDPOINT"), "missing; WEB_AUTH_ENDPOINT (SEP-10) needs the SIGNING_KEY that signs challenges")
	}
	for _, k := range []struct {
		key, sep string
		sep45    bool // authentication by SEP-45 (contract accounts) is enough
	}{
		{"KYC_SERVER", "SEP-12", true}, {"TRANSFER_SERVER_SEP0024", "SEP-24", false},
		{"DIRECT_PAYMENT_SERVER", "SEP-31", false}, {"ANCHOR_QUOTE_SERVER", "SEP-38", true},
	} {
		if !has(k.key) || has("WEB_AUTH_ENDPOINT") || (k.sep45 && has("WEB_AUTH_FOR_CONTRACTS_ENDPOINT")) {
			continue
		}
		if k.sep45 {
			v.errorf(k.key, "%s needs authentication, but neither WEB_AUTH_ENDPOINT (SEP-10) nor WEB_AUTH_FOR_CONTRACTS_ENDPOINT (SEP-45) is given", k.sep)
		} else {
			v.errorf(k.key, "%s needs SEP-10 authentication, but WEB_AUTH_ENDPOINT is missing", k.sep)
		}
	}
	if has("WEB_AUTH_FOR_CONTRACTS_ENDPOINT") && !has("WEB_AUTH_CONTRACT_ID") {
		v.add(SeverityError, "WEB_AUTH_CONTRACT_ID", v.line("WEB_AUTH_FOR_CONTRACTS_ENDPOINT"), "missing; WEB_AUTH_FOR_CONTRACTS_ENDPOINT (SEP-45) needs the contract that verifies authentication")
	}
	if has("DIRECT_PAYMENT_SERVER") && !has("KYC_SERVER") {
		v.errorf("DIRECT_PAYMENT_SERVER", "SEP-31 requires SEP-12, but KYC_SERVER is missing")
	}
	if has("TRANSFER_SERVER") && !has("WEB_AUTH_ENDPOINT") {
		v.warnf("TRANSFER_SERVER", "SEP-6 endpoints that need authentication require WEB_AUTH_ENDPOINT")
	}
	if (has("TRANSFER_SERVER") || has("TRANSFER_SERVER_SEP0024")) && !has("CURRENCIES") {
		v.add(SeverityWarning, "CURRENCIES", v.line("TRANSFER_SERVER")+v.line("TRANSFER_SERVER_SEP0024"), "missing; a transfer server should describe the assets it moves")
	}
}

func (v *validator) duplicates(doc map[string]any) {
	if accts, ok := doc["ACCOUNTS"].([]any); ok {
		seen := map[any]bool{}
		for i, a := range accts {
			if seen[a] {
				v.warnf(fmt.Sprintf("ACCOUNTS[%d]", i), "%v is listed twice", a)
			}
			seen[a] = true
		}
	}
	if curs, ok := doc["CURRENCIES"].([]any); ok {
		seen := map[string]bool{}
		for i, c := range curs {
			t, _ := c.(map[string]any)
			code, _ := t["code"].(string)
			issuer, _ := t["issuer"].(string)
			if code == "" {
				continue
			}
			id := code + ":" + issuer
			if contract, ok := t["contract"].(string); ok && issuer == "" {
				id = code + ":" + contract // a SEP-41 token is told apart by its contract
			}
			if seen[id] {
				v.errorf(fmt.Sprintf("CURRENCIES[%d].code", i), "currency %s is listed twice", id)
			}
			seen[id] = true
		}
	}
}

func checkKind(k kind, val any) string {
	switch k {
	case kInt:
		if _, ok := val.(int64); !ok {
			return fmt.Sprintf("must be an integer, not %s", typeName(val))
		}
		return ""
	case kBool:
		if _, ok := val.(bool); !ok {
			return fmt.Sprintf("must be a boolean (true or false), not %s", typeName(val))
		}
		return ""
	case kAccounts, kStrings:
		arr, ok := val.([]any)
		if !ok {
			return fmt.Sprintf("must be a list of strings, not %s", typeName(val))
		}
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				return fmt.Sprintf("entry %d must be a string, not %s", i, typeName(e))
			}
			if k == kAccounts && !strkey.IsValidEd25519PublicKey(s) {
				return fmt.Sprintf("entry %d (%q) is not a valid Stellar account (G...)", i, s)
			}
		}
		return ""
	}
	s, ok := val.(string)
	if !ok {
		return fmt.Sprintf("must be a string, not %s", typeName(val))
	}
	switch k {
	case kHTTPS:
		return checkURLString(s, true)
	case kURL, kAnyURL:
		return checkURLString(s, false)
	case kHTTPSURL:
		if msg := checkURLString(s, false); msg != "" {
			return msg
		}
		if strings.HasPrefix(s, "http://") && !isLocal(s) {
			return fmt.Sprintf("%q must use https:// (http is allowed only for localhost)", s)
		}
	case kAccount:
		if !strkey.IsValidEd25519PublicKey(s) {
			return fmt.Sprintf("%q is not a valid Stellar public key (G...)", s)
		}
	case kContract:
		if _, err := strkey.Decode(strkey.VersionByteContract, s); err != nil {
			return fmt.Sprintf("%q is not a valid contract ID (C...)", s)
		}
	case kEmail:
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
			return fmt.Sprintf("%q is not an email address", s)
		}
	case kPhone:
		if !e164.MatchString(s) {
			return fmt.Sprintf("%q is not an E.164 phone number (e.g. +14155552671)", s)
		}
	}
	return ""
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func checkURLString(s string, endpoint bool) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Sprintf("%q is not an absolute https URL", s)
	}
	if endpoint {
		if u.Scheme == "http" && !isLocal(s) {
			return fmt.Sprintf("%q must use https:// (http is allowed only for localhost)", s)
		}
		if strings.HasSuffix(s, "/") {
			return fmt.Sprintf("%q must not end with a slash", s)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Sprintf("%q must not have a query or fragment", s)
		}
	}
	return ""
}

func isLocal(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasSuffix(h, ".localhost")
}

// sameDomain warns about attestations that are not on ORG_URL's registrable domain (SEP-1:
// "URL on the same domain as your ORG_URL").
func (v *validator) sameDomain(doc map[string]any) {
	d, _ := doc["DOCUMENTATION"].(map[string]any)
	org, _ := d["ORG_URL"].(string)
	base := RegistrableDomain(org)
	if base == "" {
		return
	}
	for _, k := range []string{"ORG_PHYSICAL_ADDRESS_ATTESTATION", "ORG_PHONE_NUMBER_ATTESTATION"} {
		if s, ok := d[k].(string); ok {
			if got := RegistrableDomain(s); got != "" && got != base {
				v.warnf("DOCUMENTATION."+k, "is on %s, not on ORG_URL's domain %s", got, base)
			}
		}
	}
}

// RegistrableDomain returns the registrable domain (eTLD+1, by the public suffix list) of a
// URL or host, "" when there is none (an IP address, localhost, a bare suffix).
func RegistrableDomain(s string) string {
	host := s
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || net.ParseIP(host) != nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return d
}

func checkHexHash(v any) string {
	s := v.(string)
	if ok, _ := regexp.MatchString(`^[0-9a-fA-F]{64}([0-9a-fA-F]{64})?$`, s); !ok {
		return "must be a hex-encoded hash"
	}
	return ""
}

func maxLen(n int) func(any) string {
	return func(v any) string {
		if s := v.(string); len([]rune(s)) > n {
			return fmt.Sprintf("%q is longer than %d characters", s, n)
		} else if s == "" {
			return "must not be empty"
		}
		return ""
	}
}

func oneOf(vals ...string) func(any) string {
	return func(v any) string {
		for _, ok := range vals {
			if v == ok {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of %s", v, strings.Join(vals, ", "))
	}
}

func intRange(lo, hi int64) func(any) string {
	return func(v any) string {
		if n := v.(int64); n < lo || n > hi {
			return fmt.Sprintf("%d is out of range %d to %d", n, lo, hi)
		}
		return ""
	}
}

func matches(re string) func(any) string {
	r := regexp.MustCompile(re)
	return func(v any) string {
		if !r.MatchString(v.(string)) {
			return fmt.Sprintf("%q does not match %s", v, re)
		}
		return ""
	}
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var (
	keyLineRE   = regexp.MustCompile(`^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=`)
	tableLineRE = regexp.MustCompile(`^\s*(\[\[?)\s*([A-Za-z0-9_\-."' ]+?)\s*\]\]?`)
)

// lineIndex maps key paths (as Finding.Key writes them) to the line where they are defined.
func lineIndex(data []byte) map[string]int {
	idx := map[string]int{}
	counts := map[string]int{}
	prefix := ""
	inMulti := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		if m := tableLineRE.FindStringSubmatch(line); m != nil && !keyLineRE.MatchString(line) {
			name := strings.Trim(m[2], `"'`)
			if m[1] == "[[" {
				prefix = fmt.Sprintf("%s[%d]", name, counts[name])
				counts[name]++
			} else {
				prefix = name
			}
			if _, ok := idx[prefix]; !ok {
				idx[prefix] = n
			}
			if _, ok := idx[name]; !ok {
				idx[name] = n
			}
			continue
		}
		if m := keyLineRE.FindStringSubmatch(line); m != nil {
			key := strings.Trim(m[1], `"'`)
			if prefix != "" {
				key = prefix + "." + key
			}
			if _, ok := idx[key]; !ok {
				idx[key] = n
			}
			rest := line[len(m[0]):]
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(rest, q)%2 == 1 {
					inMulti = q
				}
			}
		}
	}
	return idx
}
