package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Key describes one scalar configuration key: its default, whether it is secret, and its help.
type Key struct {
	Name    string
	Default any
	Secret  bool
	Help    string
}

// Env is the environment variable that sets the key.
func (k Key) Env() string { return EnvName(k.Name) }

// EnvName maps a key (dots for nesting) to its ANCHOR_* environment variable.
func EnvName(key string) string {
	return "ANCHOR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// DefaultMaxBaseFee is max_base_fee unless configured: 0.001 XLM per operation.
const DefaultMaxBaseFee int64 = 10000

// Keys lists every scalar key, in the order config show prints them. Lists (assets,
// principals) are set in the file only.
var Keys = []Key{
	{"home_domain", "localhost:8000", false, "domain (with port, if not 443) that serves stellar.toml; the SEP-10 home domain"},
	{"mode", ModeProduction, false, "production or development (development allows loopback peers and an offline Horizon)"},
	{"network", "testnet", false, "testnet, public or futurenet"},
	{"network_passphrase", "", false, "passphrase of a custom network; overrides network"},
	{"horizon_url", "", false, "Horizon URL; default the network's SDF Horizon; \"none\" for no Horizon"},
	{"public_horizon_url", "", false, "the HORIZON_URL stellar.toml publishes (a public-facing Horizon); empty: horizon_url when it carries no user, path or query (where a provider's token would be), else none"},
	{"listen", "127.0.0.1:8000", false, "address anchor serve listens on"},
	{"tls_cert_file", "", false, "certificate chain (PEM) anchor serves HTTPS with; reloaded when the file changes or on SIGHUP; empty: plain HTTP (localhost, or behind a TLS proxy)"},
	{"tls_key_file", "", false, "the certificate's private key (PEM)"},
	{"backup_dir", "", false, "where the daily anchor backup writes (anchor doctor fails when its newest file is older than a day); empty: not checked"},
	{"metrics_listen", "", false, "address of the Prometheus /metrics listener (never the wallet-facing port); empty: off"},
	{"operator_listen", "", false, "address of the operator API (API keys, docs/integration.md), never the wallet-facing port; off loopback it needs tls_cert_file; empty: off"},
	{"metrics_refresh", "15s", false, "how often the store-derived gauges (transactions, customers, callbacks, treasury, balances) are recomputed; each pass reads every record"},
	{"data_dir", "data", false, "directory of the database (relative to the config file)"},
	{"database_url", "", false, "PostgreSQL database (postgres://user@host/db) shared by every replica; empty: the bbolt file in data_dir. Its password is never printed; keep it in the secrets file or a PGPASSFILE"},
	{"public_url", "", false, "public base URL of the server; default http(s)://home_domain"},
	{"web_auth_domain", "", false, "web_auth_domain put in SEP-10 challenges; default the WEB_AUTH_ENDPOINT host"},
	{"secrets_file", "", false, "env-style file (KEY=VALUE) with the secrets below (relative to the config file)"},
	{"signing_secret", "", true, "SEP-10 SIGNING_KEY secret seed (S...)"},
	{"signing_secret_file", "", false, "file that holds signing_secret"},
	{"previous_signing_keys", []string{}, false, "earlier SIGNING_KEYs (G...) whose challenges are still accepted"},
	{"jwt_secret", "", true, "key that signs session JWTs (HS256), at least 32 bytes"},
	{"jwt_secret_file", "", false, "file that holds jwt_secret"},
	{"jwt_lifetime", "24h", false, "lifetime of a session JWT"},
	{"challenge_lifetime", "15m", false, "lifetime of a SEP-10 challenge"},
	{"auth_rate_limit", 20.0, false, "SEP-10 requests per second allowed per client IP (and, apart, SEP-38 indicative prices: GET /price and /prices); 0 disables the limit"},
	{"auth_rate_burst", 100, false, "burst size of the SEP-10 (and SEP-38 price) rate limit"},
	{"write_rate_limit", 5.0, false, "requests that create or change something (SEP-6 deposits and withdrawals, exchanges included; SEP-24 interactive starts; SEP-38 firm quotes; SEP-12 writes) per second allowed per account; 0 disables the limit"},
	{"write_rate_burst", 50, false, "burst size of the per-account write limit"},
	{"trusted_proxies", []string{}, false, "CIDRs of reverse proxies whose X-Forwarded-For / Forwarded name the client (rate limits, logs); default none"},
	{"outbound_timeout", "5s", false, "timeout of outbound fetches (client_domain stellar.toml)"},
	{"horizon_timeout", "5s", false, "timeout of Horizon requests"},
	{"ready_max_watcher_lag", "2m", false, "GET /ready answers 503 when the withdrawal watcher has not caught up with the ledger for this long"},
	{"max_base_fee", DefaultMaxBaseFee, false, "most stroops per operation treasury transactions bid when the network is busy (fees follow /fee_stats up to this)"},
	{"log_level", "info", false, "debug, info, warn or error"},
	{"log_format", "text", false, "text or json"},
	{"issuer_secret", "", true, "issuer account secret seed, for treasury commands"},
	{"issuer_secret_file", "", false, "file that holds issuer_secret"},
	{"distribution_secret", "", true, "distribution account secret seed, for treasury commands"},
	{"distribution_secret_file", "", false, "file that holds distribution_secret"},
	{"kyc.auto_approve", false, false, "accept customers as soon as they provide every field (testnet demos only)"},
	{"kyc.max_file_size", 10 << 20, false, "largest binary field or file upload, in bytes (413 above)"},
	{"kyc.customer_quota", 50 << 20, false, "total bytes of files a customer may store"},
	{"kyc.account_quota", 100 << 20, false, "total bytes of files one account may store across all its memos (413 beyond)"},
	{"kyc.storage_quota", 10 << 30, false, "total bytes of KYC files of all customers (507 beyond); 0: no limit"},
	{"kyc.max_concurrent_uploads", 4, false, "multipart SEP-12 bodies read at once (others wait); bounds the memory uploads take"},
	{"kyc.default_type", "sep6-deposit", false, "customer type used when a SEP-12 request names none"},
	{"sep24.enabled", true, false, "serve SEP-24 (interactive deposits and withdrawals, with anchor's hosted pages) and advertise TRANSFER_SERVER_SEP0024"},
	{"sep24.frame_ancestors", []string{}, false, "origins (https://wallet.example) whose pages may frame anchor's pages (CSP frame-ancestors); empty: any"},
	{"pages.name", "", false, "name shown at the top of the pages users see (SEP-24's flow, more_info_url); empty: documentation.org_name"},
	{"pages.logo", "", false, "image file (PNG, JPEG, GIF, WebP or SVG; at most 256 KiB) shown at the top of the pages; relative to the config file"},
	{"pages.accent_color", "", false, "colour (#rrggbb) of buttons and statuses on the pages; empty: anchor's blue"},
	{"pages.background_color", "", false, "page background colour (#rrggbb); empty: a light grey"},
	{"pages.surface_color", "", false, "colour (#rrggbb) of the cards and fields on the background; empty: white"},
	{"pages.text_color", "", false, "text colour (#rrggbb); it must read on the background and the cards (contrast 4.5:1)"},
	{"events.retry_for", "72h", false, "how long a webhook delivery is retried (backing off up to an hour) before it is a dead letter (anchor events list --failed); at least 1m"},
	{"events.retention", "168h", false, "how long delivered events stay listed (GET /v1/events, anchor events list); at least 1m"},
	{"quotes.expiry", "10m", false, "lifetime of a SEP-38 firm quote unless the wallet asks for a later expire_after"},
	{"quotes.max_expiry", "24h", false, "latest expire_after a SEP-38 quote may be given (later: 400)"},
	{"quotes.source", "static", false, "static (quotes.pairs' prices) or url (the business's pricing endpoint, quotes.url)"},
	{"quotes.url", "", false, "the business's pricing endpoint (https), asked with a signed POST for each price (docs/quotes.md)"},
	{"quotes.url_secret_file", "", false, "file holding the key the pricing requests are signed with (HMAC-SHA256), relative to the config file"},
	{"quotes.url_timeout", "2s", false, "how long the pricing endpoint may take; slower is 503 to the wallet"},
	{"sep6.transfer_expiry", "24h", false, "how long a SEP-6 transaction may wait for the user before it expires"},
	{"sep6.legacy_kyc_responses", false, false, "answer the deprecated 403 KYC responses instead of creating the transaction"},
	{"sep6.max_open_transactions", 100, false, "most unfinished transactions (SEP-6 and SEP-24) one account may have (429 beyond); 0 disables the limit"},
	{"sep6.deposit_kyc_type", "sep6-deposit", false, "SEP-12 customer type a deposit needs ACCEPTED"},
	{"sep6.withdraw_kyc_type", "sep6-withdraw", false, "SEP-12 customer type a withdrawal needs ACCEPTED"},
	{"treasury.approval_expiry", "24h", false, "how long an action above treasury.approval_threshold waits for a second person's anchor approve"},
	{"treasury.max_valid_for", "168h", false, "longest --valid-for of an envelope prepared with --xdr-out for offline signers"},
	{"admin.compliance_group", "", false, "OS group (name or gid) whose members may make KYC decisions through the admin socket; setting any admin group opens the socket to other OS users, each request judged by its peer credentials"},
	{"admin.treasury_group", "", false, "OS group whose members may move money (credit, burn, payments, submit) through the admin socket"},
	{"admin.operator_group", "", false, "OS group whose members may move transactions (hold, release, fail, refund, deposit received, withdraw received|paid)"},
}

// DocumentationKeys are the [DOCUMENTATION] fields, set as documentation.<key>.
var DocumentationKeys = []string{
	"org_name", "org_dba", "org_url", "org_logo", "org_description", "org_physical_address",
	"org_physical_address_attestation", "org_phone_number", "org_phone_number_attestation",
	"org_keybase", "org_twitter", "org_github", "org_official_email", "org_support_email",
	"org_licensing_authority", "org_license_type", "org_license_number",
}

// LoadOptions says where to look for configuration.
type LoadOptions struct {
	// File is the config file. Explicit says whether the user named it (then it must exist).
	File     string
	Explicit bool
	// Flags maps config keys to command-line flags that override them.
	Flags map[string]*pflag.Flag
	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
}

// Error is a configuration problem about one key; it prints as one line naming the key.
type Error struct {
	Key string
	Msg string
	// NoHint leaves out where the key may be set (an unknown key has no such place).
	NoHint bool
}

func (e *Error) Error() string {
	hint := ""
	switch {
	case e.NoHint:
	case strings.HasSuffix(e.Key, "_secret"):
		// Secrets never go in the config file.
		if !strings.Contains(e.Msg, EnvName(e.Key)) {
			hint = fmt.Sprintf(" (set %s, %s_file, or the secrets file)", EnvName(e.Key), e.Key)
		}
	case e.Key != "" && !strings.Contains(e.Key, "[") && !strings.HasPrefix(e.Key, "assets") && !strings.HasPrefix(e.Key, "principals"):
		hint = fmt.Sprintf(" (set %s in the config file or %s)", e.Key, EnvName(e.Key))
	}
	return fmt.Sprintf("config: %s: %s%s", e.Key, e.Msg, hint)
}

func keyErr(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Load reads, merges, decodes and validates the configuration.
func Load(opts LoadOptions) (*Config, error) {
	cfg, err := Read(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Read reads and merges the configuration without validating it.
func Read(opts LoadOptions) (*Config, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v := viper.New()
	sources := map[string]string{}
	allKeys := make([]string, 0, len(Keys)+len(DocumentationKeys))
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
		allKeys = append(allKeys, k.Name)
	}
	for _, k := range DocumentationKeys {
		v.SetDefault("documentation."+k, "")
		allKeys = append(allKeys, "documentation."+k)
	}

	file := opts.File
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var pathErr *fs.PathError
			if errors.As(err, &pathErr) && errors.Is(err, fs.ErrNotExist) {
				if opts.Explicit {
					return nil, fmt.Errorf("config: file %s does not exist (create one with: anchor init --dir %s)", file, filepath.Dir(file))
				}
				file = ""
			} else {
				return nil, fmt.Errorf("config: %s: %s", file, strings.TrimPrefix(firstLine(err.Error()), "While parsing config: "))
			}
		}
	}
	baseDir := "."
	if file != "" {
		baseDir = filepath.Dir(file)
	}

	// The secrets file ranks with the config file, below the environment.
	secretsFile := v.GetString("secrets_file")
	if s, ok := lookup(EnvName("secrets_file")); ok {
		secretsFile = s
	}
	secretVals := map[string]string{}
	// Secrets are read for the commands that need them: a secrets file this user cannot read
	// (a compliance officer's account, say) is an error only when a command asks for a secret
	// it would have held (Config.Require).
	var secretsErr error
	if secretsFile != "" {
		path := resolve(baseDir, secretsFile)
		vals, err := readEnvFile(path)
		if err != nil {
			secretsErr = fmt.Errorf("the secrets file %s: %s", path, strings.TrimPrefix(err.Error(), "cannot read "+path+": "))
			vals = nil
		}
		known := map[string]bool{}
		for _, k := range allKeys {
			known[k] = true
		}
		m := map[string]any{}
		for env, val := range vals {
			key := strings.ToLower(strings.TrimPrefix(env, "ANCHOR_"))
			if !strings.HasPrefix(env, "ANCHOR_") || !known[key] {
				return nil, keyErr("secrets_file", "%s: unknown variable %s", path, env)
			}
			m[key] = val
			secretVals[key] = val
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, keyErr("secrets_file", "%s", err)
		}
	}

	for _, key := range allKeys {
		env := EnvName(key)
		if _, ok := lookup(env); ok {
			// Bind with our lookup so tests can inject an environment.
			val, _ := lookup(env)
			v.Set(key, val)
			sources[key] = "env"
		}
		if f, ok := opts.Flags[key]; ok && f != nil && f.Changed {
			v.Set(key, f.Value.String())
			sources[key] = "flag"
		}
		if sources[key] != "" {
			continue
		}
		switch {
		case secretVals[key] != "":
			sources[key] = "secrets_file"
		case file != "" && v.InConfig(key):
			sources[key] = "file"
		default:
			sources[key] = "default"
		}
	}

	if file == "" && !opts.Explicit && !anyFromEnv(sources) {
		return nil, fmt.Errorf("no configuration found (looked for anchor.yaml in %s and for ANCHOR_* variables); use --config FILE, ANCHOR_CONFIG, or create one with anchor init", absDir("."))
	}

	var cfg Config
	err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, decodeErr(err)
	}
	cfg.File = file
	cfg.Sources = sources
	cfg.secretErrs = map[string]error{}
	if secretsErr != nil {
		for _, k := range []string{"signing_secret", "jwt_secret", "issuer_secret", "distribution_secret"} {
			cfg.secretErrs[k] = secretsErr
		}
	}
	if len(cfg.KYC.Types) == 0 {
		cfg.KYC.Types = DefaultCustomerTypes()
	}
	for i := range cfg.Assets {
		if cfg.Assets[i].StartingBalance == "" {
			cfg.Assets[i].StartingBalance = "2.01"
		}
		for _, d := range []*Direction{&cfg.Assets[i].Deposit, &cfg.Assets[i].Withdraw} {
			if len(d.FundingMethods) == 0 {
				d.FundingMethods = []string{"WIRE"}
			}
		}
	}
	cfg.DataDir = resolve(baseDir, cfg.DataDir)
	if abs, err := filepath.Abs(cfg.DataDir); err == nil && cfg.DataDir != "" {
		cfg.DataDir = abs
	}
	for _, fk := range []struct {
		key, file string
		dst       *Secret
	}{
		{"signing_secret_file", cfg.SigningSecretFile, &cfg.SigningSecret},
		{"jwt_secret_file", cfg.JWTSecretFile, &cfg.JWTSecret},
		{"issuer_secret_file", cfg.IssuerSecretFile, &cfg.IssuerSecret},
		{"distribution_secret_file", cfg.DistributionSecretFile, &cfg.DistributionSecret},
	} {
		if fk.file == "" || fk.dst.IsSet() {
			continue
		}
		b, err := os.ReadFile(resolve(baseDir, fk.file))
		if err != nil {
			cfg.secretErrs[strings.TrimSuffix(fk.key, "_file")] = fmt.Errorf("%s %s: %w", fk.key, resolve(baseDir, fk.file), errors.Unwrap(err))
			continue
		}
		*fk.dst = Secret(strings.TrimSpace(string(b)))
		sources[strings.TrimSuffix(fk.key, "_file")] = fk.key
	}
	// Files named in the configuration are relative to it, as secrets_file is.
	for _, p := range []*string{&cfg.TLSCertFile, &cfg.TLSKeyFile, &cfg.BackupDir, &cfg.Pages.Logo} {
		if *p != "" {
			*p = resolve(baseDir, *p)
		}
	}
	if f := cfg.Quotes.URLSecretFile; f != "" {
		cfg.Quotes.URLSecretFile = resolve(baseDir, f)
		if b, err := os.ReadFile(cfg.Quotes.URLSecretFile); err == nil {
			cfg.Quotes.urlSecret = bytes.TrimSpace(b)
		}
	}
	for i := range cfg.Events.Webhooks {
		w := &cfg.Events.Webhooks[i]
		if w.SecretFile == "" {
			continue
		}
		w.SecretFile = resolve(baseDir, w.SecretFile)
		if b, err := os.ReadFile(w.SecretFile); err == nil {
			w.secret = bytes.TrimSpace(b)
		}
	}
	if cfg.NetworkPassphrase == "" {
		cfg.NetworkPassphrase = Networks[cfg.Network]
	}
	switch {
	case cfg.HorizonURL == "none":
		cfg.HorizonURL = ""
	case cfg.HorizonURL == "" && sources["horizon_url"] == "default":
		cfg.HorizonURL = DefaultHorizon[cfg.Network]
	}
	return &cfg, nil
}

// decodeErr turns mapstructure's multi-line errors into one line naming the first key.
func decodeErr(err error) error {
	msg := err.Error()
	var problems []*Error
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if i := strings.Index(line, "has invalid keys: "); i >= 0 {
			prefix := strings.TrimSuffix(strings.TrimSpace(line[:i]), "'")
			prefix = strings.Trim(prefix, "' ")
			for _, key := range strings.Split(line[i+len("has invalid keys: "):], ",") {
				key = strings.TrimSpace(key)
				if prefix != "" {
					key = prefix + "." + key
				}
				m := "unknown key"
				if s := suggest(key, knownKeys()); s != "" {
					m += "; did you mean " + s + "?"
				}
				problems = append(problems, &Error{Key: key, Msg: m, NoHint: true})
			}
			continue
		}
		if strings.HasPrefix(line, "'") {
			if j := strings.Index(line[1:], "'"); j >= 0 {
				problems = append(problems, &Error{Key: line[1 : j+1], Msg: strings.TrimSpace(line[j+2:])})
			}
		}
	}
	switch len(problems) {
	case 0:
		return fmt.Errorf("config: %s", firstLine(msg))
	case 1:
		return problems[0]
	}
	return &Problems{List: problems}
}

func knownKeys() []string {
	out := make([]string, 0, len(Keys)+len(DocumentationKeys))
	for _, k := range Keys {
		out = append(out, k.Name)
	}
	for _, k := range DocumentationKeys {
		out = append(out, "documentation."+k)
	}
	return out
}

// SuggestEnv returns the ANCHOR_* variable an unknown one was probably meant to be, or "".
func SuggestEnv(name string) string {
	var envs []string
	for _, k := range knownKeys() {
		envs = append(envs, EnvName(k))
	}
	return suggest(name, envs)
}

// UnknownEnv lists the ANCHOR_* variables of environ that no key reads, each with a
// suggestion when one is close ("ANCHOR_X (did you mean ANCHOR_Y?)"). anchor serve warns of
// them at start.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{"ANCHOR_CONFIG": true, EnvName("secrets_file"): true}
	for _, k := range knownKeys() {
		known[EnvName(k)] = true
		known[EnvName(k)+"_FILE"] = strings.HasSuffix(k, "_secret")
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		// ANCHOR_TEST_*: anchor's own test suite (the backend it runs on, a test database).
		if !strings.HasPrefix(name, "ANCHOR_") || known[name] || strings.HasPrefix(name, "ANCHOR_TEST_") {
			continue
		}
		if s := SuggestEnv(name); s != "" {
			name += " (did you mean " + s + "?)"
		}
		out = append(out, name)
	}
	return out
}

// suggest returns the candidate closest to s (edit distance at most 2, or a third of s), or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	if bestD < 2 {
		bestD = 2
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d <= bestD && (best == "" || d < editDistance(strings.ToLower(s), strings.ToLower(best))) {
			best = c
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func resolve(base, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(base, path)
}

// readEnvFile reads KEY=VALUE lines; blank lines and # comments are skipped, values may be quoted.
// anyFromEnv reports whether some key was set in the environment or by a flag.
func anyFromEnv(sources map[string]string) bool {
	for _, s := range sources {
		if s == "env" || s == "flag" {
			return true
		}
	}
	return false
}

func absDir(d string) string {
	if a, err := filepath.Abs(d); err == nil {
		return a
	}
	return d
}

// SecretProblem says why a secret that was configured could not be read (its file or the
// secrets file), or nil.
func (c *Config) SecretProblem(key string) error { return c.secretErrs[key] }

// Require checks, for the command that is about to use them, that the secrets it needs are
// set and well formed; the error names the key, the command and where the key may come from.
func (c *Config) Require(command string, keys ...string) error {
	for _, k := range keys {
		var v Secret
		switch k {
		case "signing_secret":
			v = c.SigningSecret
		case "jwt_secret":
			v = c.JWTSecret
		case "issuer_secret":
			v = c.IssuerSecret
		case "distribution_secret":
			v = c.DistributionSecret
		}
		if v.IsSet() {
			continue
		}
		msg := fmt.Sprintf("%s needs %s: set %s, %s_file, or put %s in the secrets file", command, k, EnvName(k), k, EnvName(k))
		if err := c.secretErrs[k]; err != nil {
			msg += " (" + err.Error() + ")"
		}
		return &Error{Key: k, Msg: msg}
	}
	return nil
}

func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		out[strings.TrimSpace(k)] = val
	}
	return out, nil
}

// Effective lists every scalar key with its printable value (secrets redacted) and its source.
// Values are read through the mapstructure tags of Config, so a new key cannot be left out.
func (c *Config) Effective() [][3]string {
	values := map[string]string{}
	flatten(reflect.ValueOf(c).Elem(), "", values)
	out := make([][3]string, 0, len(Keys))
	for _, k := range Keys {
		out = append(out, [3]string{k.Name, values[k.Name], c.Sources[k.Name]})
	}
	return out
}

// flatten records the printable value of every scalar field of v under its dotted key.
func flatten(v reflect.Value, prefix string, values map[string]string) {
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		tag := prefix + v.Type().Field(i).Tag.Get("mapstructure")
		switch f := v.Field(i).Interface().(type) {
		case Secret:
			values[tag] = f.String()
		case DSN:
			values[tag] = f.String()
		case time.Duration:
			values[tag] = f.String()
		case []string:
			values[tag] = strings.Join(f, ",")
		case string, float64, int, int64, bool:
			values[tag] = fmt.Sprint(f)
		default:
			if v.Field(i).Kind() == reflect.Struct {
				flatten(v.Field(i), tag+".", values)
			}
		}
	}
}

// KeysMarkdown renders the key reference table of docs/config-keys.md.
func KeysMarkdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated by `make docs` from internal/config; do not edit. -->\n")
	b.WriteString("# Configuration keys\n\n")
	b.WriteString("Each key is set, from strongest to weakest, by a flag (where one exists), the environment\n")
	b.WriteString("variable, the secrets file, `anchor.yaml`, or its default. See [config.md](config.md).\n\n")
	b.WriteString("| Key | Environment | Default | Secret | Meaning |\n|---|---|---|---|---|\n")
	for _, k := range Keys {
		def := fmt.Sprint(k.Default)
		if s, ok := k.Default.([]string); ok {
			def = strings.Join(s, ",")
		}
		if def == "" {
			def = "—"
		}
		secret := ""
		if k.Secret {
			secret = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s | %s |\n", k.Name, k.Env(), def, secret, k.Help)
	}
	b.WriteString("\n`documentation.<field>` (`ANCHOR_DOCUMENTATION_<FIELD>`) sets each [DOCUMENTATION] field: ")
	for i, k := range DocumentationKeys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + k + "`")
	}
	b.WriteString(".\n\n`principals`, `assets`, `kyc.types`, `treasury.approval_threshold`, `treasury.low_balance`, `pages.texts`, `events.webhooks`, `quotes.assets` and `quotes.pairs` are lists and maps, set in `anchor.yaml` only.\n")
	return b.String()
}
