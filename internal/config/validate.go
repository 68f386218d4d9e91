package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/strkey"

	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/sep9"
)

var webhookNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

var colorRE = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

var assetCodeRE = regexp.MustCompile(`^[A-Za-z0-9]{1,12}$`)

// Validate checks every key and returns the first problem as one line naming the key.
func (c *Config) Validate() error {
	var problems []*Error
	c.validate(func(err error) {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Msg: err.Error()}
		}
		problems = append(problems, e)
	})
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return problems[0]
	}
	return &Problems{List: problems}
}

// validate reports each problem of the configuration to add; it goes on after one, so that an
// operator sees everything to fix at once.
func (c *Config) validate(add func(error)) {
	if err := ValidateHomeDomain(c.HomeDomain); err != nil {
		add(keyErr("home_domain", "%s", err))
	}
	if c.Mode != ModeProduction && c.Mode != ModeDevelopment {
		add(keyErr("mode", "%q is not production or development", c.Mode))
	}
	// An unknown network is an error unless a custom network_passphrase stands in for it.
	if _, ok := Networks[c.Network]; !ok && (c.NetworkPassphrase == "" || c.Sources["network_passphrase"] == "default") {
		add(keyErr("network", "unknown network %q (use testnet, public or futurenet, or set network_passphrase)", c.Network))
	} else if c.NetworkPassphrase == "" {
		add(keyErr("network_passphrase", "is empty"))
	}
	if c.HorizonURL != "" {
		if err := checkURL(c.HorizonURL, false); err != nil {
			add(keyErr("horizon_url", "%s", err))
		}
	}
	if c.PublicHorizonURL != "" {
		if err := checkURL(c.PublicHorizonURL, false); err != nil {
			add(keyErr("public_horizon_url", "%s", err))
		}
	}
	if c.OperatorListen != "" {
		host, _, err := net.SplitHostPort(c.OperatorListen)
		ip, _ := netip.ParseAddr(host)
		switch {
		case err != nil:
			add(keyErr("operator_listen", "%q is not host:port", c.OperatorListen))
		case c.TLSCertFile == "" && host != "localhost" && !ip.IsLoopback():
			add(keyErr("operator_listen", "%s would take API keys in the clear: bind it to 127.0.0.1 (behind your own TLS proxy), or set tls_cert_file", c.OperatorListen))
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add(keyErr("listen", "%q is not host:port", c.Listen))
	}
	if c.DataDir == "" {
		add(keyErr("data_dir", "is empty"))
	}
	if raw := c.DatabaseURL.Reveal(); raw != "" {
		if scheme, _, ok := strings.Cut(raw, "://"); ok && scheme != "postgres" && scheme != "postgresql" {
			add(keyErr("database_url", "%s is not a PostgreSQL URL (postgres://user@host/database)", c.DatabaseURL))
		}
	}
	if c.PublicURL != "" {
		if err := checkURL(c.PublicURL, !c.Development()); err != nil {
			add(keyErr("public_url", "%s", err))
		}
	}
	if c.WebAuthDomain != "" {
		if err := ValidateHomeDomain(c.WebAuthDomain); err != nil {
			add(keyErr("web_auth_domain", "%s", err))
		}
	}
	// Secrets are checked when set; each command Requires those it uses.
	if c.SigningSecret.IsSet() {
		if _, err := keypair.ParseFull(c.SigningSecret.Reveal()); err != nil {
			add(keyErr("signing_secret", "not a valid secret seed (S...)"))
		}
	}
	for i, fa := range c.SEP24.FrameAncestors {
		// A CSP source expression: an origin (https://wallet.example, https://*.example.com),
		// a scheme (https:), 'self', 'none' or *; nothing that could end the header's directive.
		if fa == "" || strings.ContainsAny(fa, " \t;,\"\r\n") || (strings.Contains(fa, "'") && fa != "'self'" && fa != "'none'") {
			add(keyErr(fmt.Sprintf("sep24.frame_ancestors[%d]", i), "%q is not an origin such as https://wallet.example, 'self' or *", fa))
		}
	}
	for _, col := range []struct{ key, v string }{
		{"pages.accent_color", c.Pages.AccentColor}, {"pages.background_color", c.Pages.BackgroundColor},
		{"pages.surface_color", c.Pages.SurfaceColor}, {"pages.text_color", c.Pages.TextColor},
	} {
		if col.v != "" && !colorRE.MatchString(col.v) {
			add(keyErr(col.key, "%q is not a colour such as #2457c5", col.v))
		}
	}
	if _, err := c.PageTexts(); err != nil {
		add(err)
	}
	c.validateQuotes(add)
	if c.Events.RetryFor < time.Minute {
		add(keyErr("events.retry_for", "%s: must be at least 1m (how long a webhook delivery is retried before it is a dead letter)", c.Events.RetryFor))
	}
	if c.Events.Retention < time.Minute {
		add(keyErr("events.retention", "%s: must be at least 1m (how long delivered events stay listed; shorter prunes them as they are delivered)", c.Events.Retention))
	}
	names := map[string]bool{}
	for i, w := range c.Events.Webhooks {
		key := fmt.Sprintf("events.webhooks[%d]", i)
		u, err := url.Parse(w.URL)
		switch {
		case !webhookNameRE.MatchString(w.Name):
			add(keyErr(key+".name", "%q: give 1 to 32 lowercase letters, digits or dashes", w.Name))
		case names[w.Name]:
			add(keyErr(key+".name", "%q names two webhooks", w.Name))
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add(keyErr(key+".url", "%q is not an https URL", w.URL))
		case u.Scheme == "http" && !c.Development() && !isLoopbackHost(u.Hostname()):
			add(keyErr(key+".url", "%q: events go over https (http only to loopback, or in development mode)", w.URL))
		case w.SecretFile == "":
			add(keyErr(key+".secret_file", "give the file that holds the key its deliveries are signed with (openssl rand -hex 32 > FILE)"))
		case w.Batch < 0 || w.Batch > MaxWebhookBatch:
			add(keyErr(key+".batch", "%d: give 1 (one event per POST) to %d (a JSON array of up to that many)", w.Batch, MaxWebhookBatch))
		}
		names[w.Name] = true
	}
	for i, p := range c.TrustedProxies {
		if _, err := ParseCIDR(p); err != nil {
			add(keyErr(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR such as 10.0.0.0/8 or an IP address", p))
		}
	}
	for i, k := range c.PreviousSigningKeys {
		if !strkey.IsValidEd25519PublicKey(k) {
			add(keyErr(fmt.Sprintf("previous_signing_keys[%d]", i), "%q is not a valid public key (G...)", k))
		}
	}
	if c.JWTSecret.IsSet() && len(c.JWTSecret.Reveal()) < 32 {
		add(keyErr("jwt_secret", "must be at least 32 bytes"))
	}
	if c.JWTLifetime <= 0 {
		add(keyErr("jwt_lifetime", "must be positive"))
	}
	if c.ChallengeLifetime < 10e9 || c.ChallengeLifetime > 24*60*60e9 {
		add(keyErr("challenge_lifetime", "must be between 10s and 24h"))
	}
	if c.AuthRateLimit < 0 || math.IsNaN(c.AuthRateLimit) || math.IsInf(c.AuthRateLimit, 0) {
		add(keyErr("auth_rate_limit", "%v: give requests per second, 0 or more (0: no limit)", c.AuthRateLimit))
	}
	if c.AuthRateLimit > 0 && c.AuthRateBurst < 1 {
		add(keyErr("auth_rate_burst", "must be at least 1"))
	}
	if c.OutboundTimeout <= 0 {
		add(keyErr("outbound_timeout", "must be positive"))
	}
	if c.HorizonTimeout <= 0 {
		add(keyErr("horizon_timeout", "must be positive"))
	}
	if c.MaxBaseFee < 100 {
		add(keyErr("max_base_fee", "%d is below the network's base fee of 100 stroops", c.MaxBaseFee))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(keyErr("log_level", "%q is not debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add(keyErr("log_format", "%q is not text or json", c.LogFormat))
	}
	for _, s := range []struct {
		key string
		v   Secret
	}{{"issuer_secret", c.IssuerSecret}, {"distribution_secret", c.DistributionSecret}} {
		if s.v.IsSet() {
			if _, err := keypair.ParseFull(s.v.Reveal()); err != nil {
				add(keyErr(s.key, "not a valid secret seed (S...)"))
			}
		}
	}
	for _, u := range []struct{ key, v string }{
		{"documentation.org_url", c.Documentation.OrgURL},
		{"documentation.org_logo", c.Documentation.OrgLogo},
		{"documentation.org_physical_address_attestation", c.Documentation.OrgPhysicalAddressAttestation},
		{"documentation.org_phone_number_attestation", c.Documentation.OrgPhoneNumberAttestation},
	} {
		if u.v != "" {
			if err := checkURL(u.v, true); err != nil {
				add(keyErr(u.key, "%s", err))
			}
		}
	}
	c.validatePublic(add)
	if err := c.validateAssets(); err != nil {
		add(err)
	}
	if err := c.validateKYC(); err != nil {
		add(err)
	}
	if c.SEP6.MaxOpenTransactions < 0 {
		add(keyErr("sep6.max_open_transactions", "must not be negative"))
	}
	if c.WriteRateLimit < 0 || math.IsNaN(c.WriteRateLimit) || math.IsInf(c.WriteRateLimit, 0) {
		add(keyErr("write_rate_limit", "%v: give writes per second, 0 or more (0: no limit)", c.WriteRateLimit))
	}
	if c.WriteRateLimit > 0 && c.WriteRateBurst < 1 {
		add(keyErr("write_rate_burst", "must be at least 1"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add(keyErr("tls_cert_file", "set tls_cert_file and tls_key_file together"))
	}
	if c.MetricsRefresh < time.Second {
		add(keyErr("metrics_refresh", "must be at least 1s"))
	}
	if c.ReadyMaxWatcherLag < 10*time.Second {
		add(keyErr("ready_max_watcher_lag", "must be at least 10s (the watcher polls every 5s)"))
	}
	if c.Treasury.MaxValidFor < time.Minute {
		add(keyErr("treasury.max_valid_for", "must be at least 1m"))
	}
	if c.Treasury.ApprovalExpiry < time.Minute {
		add(keyErr("treasury.approval_expiry", "must be at least 1m"))
	}
	for code, v := range c.Treasury.LowBalance {
		if _, err := money.Parse(v); err != nil {
			add(keyErr("treasury.low_balance."+code, "%q is not an amount", v))
		}
	}
	for code, v := range c.Treasury.ApprovalThreshold {
		known := false
		for _, a := range c.Assets {
			known = known || strings.EqualFold(a.Code, code)
		}
		if n, err := money.Parse(v); err != nil || n <= 0 {
			add(keyErr("treasury.approval_threshold."+code, "%q is not a positive amount", v))
		} else if !known {
			add(keyErr("treasury.approval_threshold."+code, "%s is not one of the configured assets", code))
		}
	}
	if c.SEP6.TransferExpiry < time.Minute {
		add(keyErr("sep6.transfer_expiry", "must be at least 1m"))
	}
	for _, k := range []struct{ key, v string }{{"sep6.deposit_kyc_type", c.SEP6.DepositKYCType}, {"sep6.withdraw_kyc_type", c.SEP6.WithdrawKYCType}} {
		if _, ok := c.KYC.Types[k.v]; !ok {
			add(keyErr(k.key, "%q is not one of kyc.types", k.v))
		}
	}
}

func (c *Config) validateKYC() error {
	k := c.KYC
	if k.MaxFileSize <= 0 {
		return keyErr("kyc.max_file_size", "must be positive")
	}
	if k.CustomerQuota < k.MaxFileSize {
		return keyErr("kyc.customer_quota", "must be at least kyc.max_file_size")
	}
	if k.AccountQuota < k.CustomerQuota {
		return keyErr("kyc.account_quota", "must be at least kyc.customer_quota")
	}
	if k.StorageQuota < 0 || (k.StorageQuota > 0 && k.StorageQuota < k.AccountQuota) {
		return keyErr("kyc.storage_quota", "must be 0 (no limit) or at least kyc.account_quota")
	}
	if k.MaxConcurrentUploads < 1 {
		return keyErr("kyc.max_concurrent_uploads", "must be at least 1")
	}
	if _, ok := k.Types[k.DefaultType]; !ok {
		return keyErr("kyc.default_type", "%q is not one of kyc.types", k.DefaultType)
	}
	for name, t := range k.Types {
		if name == "" || strings.ContainsAny(name, " \t\n") {
			return keyErr("kyc.types", "%q is not a valid type name", name)
		}
		seen := map[string]bool{}
		for _, list := range [][]string{t.Fields, t.Optional} {
			for _, f := range list {
				if _, ok := sep9.Lookup(f); !ok {
					return keyErr("kyc.types."+name, "%q is not a SEP-9 field", f)
				}
				if seen[f] {
					return keyErr("kyc.types."+name, "%q is listed twice", f)
				}
				seen[f] = true
			}
		}
	}
	return nil
}

// validatePublic: on the public network, what anchor init leaves for the operator to fill must
// be filled before anything is published (each missing one is named).
func (c *Config) validatePublic(add func(error)) {
	if c.Network != "public" {
		return
	}
	for _, k := range []struct{ key, v string }{
		{"documentation.org_name", c.Documentation.OrgName},
		{"documentation.org_url", c.Documentation.OrgURL},
		{"documentation.org_official_email", c.Documentation.OrgOfficialEmail},
	} {
		if strings.TrimSpace(k.v) == "" {
			add(keyErr(k.key, "is required on the public network"))
		}
	}
	for i, a := range c.Assets {
		if a.Deposit.Enabled {
			for _, name := range slices.Sorted(maps.Keys(a.Deposit.Instructions)) {
				if strings.TrimSpace(a.Deposit.Instructions[name].Value) == "" {
					add(keyErr(fmt.Sprintf("assets[%d].deposit.instructions.%s", i, name), "has no value; depositors need the account to pay to"))
				}
			}
		}
	}
}

func (c *Config) validateAssets() error {
	seen := map[string]bool{}
	for i, a := range c.Assets {
		key := func(f string) string { return fmt.Sprintf("assets[%d].%s", i, f) }
		if !assetCodeRE.MatchString(a.Code) {
			return keyErr(key("code"), "%q is not an asset code of 1 to 12 letters and digits", a.Code)
		}
		if a.Issuer == "" {
			return keyErr(key("issuer"), "asset %s has no issuer", a.Code)
		}
		if !strkey.IsValidEd25519PublicKey(a.Issuer) {
			return keyErr(key("issuer"), "%q is not a valid public key (G...)", a.Issuer)
		}
		if seen[a.Code+":"+a.Issuer] {
			return keyErr(key("code"), "asset %s is listed twice", a.Code)
		}
		seen[a.Code+":"+a.Issuer] = true
		if a.DistributionAccount != "" && !strkey.IsValidEd25519PublicKey(a.DistributionAccount) {
			return keyErr(key("distribution_account"), "%q is not a valid public key (G...)", a.DistributionAccount)
		}
		switch a.Status {
		case "", "live", "dead", "test", "private":
		default:
			return keyErr(key("status"), "%q is not live, dead, test or private", a.Status)
		}
		if a.DisplayDecimals < 0 || a.DisplayDecimals > 7 {
			return keyErr(key("display_decimals"), "must be between 0 and 7")
		}
		if len(a.Name) > 20 {
			return keyErr(key("name"), "must be at most 20 characters")
		}
		switch a.AnchorAssetType {
		case "", "fiat", "crypto", "nft", "stock", "bond", "commodity", "realestate", "other":
		default:
			return keyErr(key("anchor_asset_type"), "%q is not one of fiat, crypto, nft, stock, bond, commodity, realestate, other", a.AnchorAssetType)
		}
		for _, u := range []struct{ f, v string }{{"image", a.Image}, {"attestation_of_reserve", a.AttestationOfReserve}} {
			if u.v != "" {
				if err := checkURL(u.v, true); err != nil {
					return keyErr(key(u.f), "%s", err)
				}
			}
		}
		for _, d := range []struct {
			name string
			d    Direction
		}{{"deposit", a.Deposit}, {"withdraw", a.Withdraw}} {
			if err := d.d.validate(key(d.name)); err != nil {
				return err
			}
			if d.d.ETA < 0 {
				return keyErr(key(d.name)+".eta", "must not be negative")
			}
			for _, m := range d.d.FundingMethods {
				if strings.TrimSpace(m) == "" || strings.ContainsAny(m, " ,") {
					return keyErr(key(d.name)+".funding_methods", "%q is not a funding method name", m)
				}
			}
		}
		if a.StartingBalance != "" {
			if v, err := money.Parse(a.StartingBalance); err != nil || v < 10_000_000 {
				return keyErr(key("starting_balance"), "%q is not an XLM amount of at least 1", a.StartingBalance)
			}
		}
		if len(a.Withdraw.Instructions) > 0 {
			return keyErr(key("withdraw.instructions"), "instructions are for deposits only")
		}
		for name := range a.Deposit.Instructions {
			if _, ok := sep9.Lookup(name); !ok {
				return keyErr(key("deposit.instructions"), "%q is not a SEP-9 field", name)
			}
		}
	}
	return nil
}

func (d Direction) validate(prefix string) error {
	var minA, maxA int64
	for _, f := range []struct {
		name string
		v    string
		dst  *int64
	}{{"min_amount", d.MinAmount, &minA}, {"max_amount", d.MaxAmount, &maxA}, {"fee_fixed", d.FeeFixed, nil}} {
		if f.v == "" {
			continue
		}
		n, err := money.Parse(f.v)
		if err != nil {
			return keyErr(prefix+"."+f.name, "%q is not an amount with at most 7 decimals", f.v)
		}
		if f.dst != nil {
			*f.dst = n
		}
	}
	if d.MinAmount != "" && d.MaxAmount != "" && minA > maxA {
		return keyErr(prefix+".min_amount", "is greater than max_amount")
	}
	if d.FeePercent != "" {
		// The parser transfer.Fee uses: what passes here computes fees later.
		if p, err := money.Parse(d.FeePercent); err != nil || p > 100*10_000_000 {
			return keyErr(prefix+".fee_percent", "%q is not a percentage between 0 and 100 with at most 7 decimals", d.FeePercent)
		}
	}
	return nil
}

// Problems are several configuration problems, reported together on one line.
type Problems struct{ List []*Error }

func (p *Problems) Error() string {
	parts := make([]string, len(p.List))
	for i, e := range p.List {
		parts[i] = strings.TrimPrefix(e.Error(), "config: ")
	}
	return fmt.Sprintf("config: %d problems: %s", len(p.List), strings.Join(parts, "; "))
}

// ParseCIDR reads a trusted_proxies entry: a CIDR, or a single IP address.
func ParseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// ValidateHomeDomain checks a host[:port] value as used for home_domain and web_auth_domain.
func ValidateHomeDomain(d string) error {
	// SEP-10: "<home domain> auth" is a manage_data key of at most 64 bytes.
	if len(d)+len(" auth") > 64 {
		return fmt.Errorf("%q is longer than 59 characters", d)
	}
	return validHost(d)
}

// ValidateClientDomain checks a SEP-10 client_domain: a host[:port] whose name is the value of a
// manage_data operation, so at most 64 bytes (the home domain's " auth" key rule is not its).
func ValidateClientDomain(d string) error {
	if len(d) > 64 {
		return fmt.Errorf("%q is longer than 64 bytes", d)
	}
	return validHost(d)
}

func validHost(d string) error {
	if d == "" {
		return fmt.Errorf("is empty")
	}
	if strings.Contains(d, "/") || strings.Contains(d, "://") {
		return fmt.Errorf("%q must be a host name with an optional port, without scheme or path", d)
	}
	u, err := url.Parse("https://" + d)
	if err != nil || u.Host != d || u.Hostname() == "" {
		return fmt.Errorf("%q is not a valid host name", d)
	}
	return nil
}

// checkURL checks an absolute http(s) URL; with httpsOnly, http is allowed only for localhost.
func checkURL(raw string, httpsOnly bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if httpsOnly && u.Scheme == "http" && !IsLocalHost(u.Host) {
		return fmt.Errorf("%q must use https", raw)
	}
	return nil
}

var (
	fiatRE    = regexp.MustCompile(`^iso4217:[A-Z]{3}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	methodRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

func decimalPlaces(s string) int {
	if _, frac, ok := strings.Cut(s, "."); ok {
		return len(frac)
	}
	return 0
}

func (c *Config) validateQuotes(add func(error)) {
	q := c.Quotes
	if q.Expiry <= 0 {
		add(keyErr("quotes.expiry", "give a positive duration such as 10m"))
	}
	if q.MaxExpiry < q.Expiry {
		add(keyErr("quotes.max_expiry", "%s is shorter than quotes.expiry %s", q.MaxExpiry, q.Expiry))
	}
	switch q.Source {
	case "static":
	case "url":
		u, err := url.Parse(q.URL)
		switch {
		case q.URL == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add(keyErr("quotes.url", "%q is not an https URL of the business's pricing endpoint", q.URL))
		case u.Scheme == "http" && !c.Development() && !isLoopbackHost(u.Hostname()):
			add(keyErr("quotes.url", "%q: prices are asked over https (http only to loopback, or in development mode)", q.URL))
		case q.URLSecretFile == "":
			add(keyErr("quotes.url_secret_file", "give the file that holds the key the pricing requests are signed with"))
		case q.URLTimeout <= 0:
			add(keyErr("quotes.url_timeout", "give a positive duration such as 2s"))
		}
	default:
		add(keyErr("quotes.source", "%q: give static or url", q.Source))
	}
	offchain := map[string]QuoteAsset{}
	for i, a := range q.Assets {
		key := fmt.Sprintf("quotes.assets[%d]", i)
		switch {
		case !fiatRE.MatchString(a.Asset):
			add(keyErr(key+".asset", "%q is not an off-chain asset such as iso4217:EUR", a.Asset))
		case offchain[a.Asset].Asset != "":
			add(keyErr(key+".asset", "%s is listed twice", a.Asset))
		case a.Decimals < 0 || a.Decimals > 7:
			add(keyErr(key+".decimals", "%d: give 0 to 7", a.Decimals))
		}
		for j, cc := range a.CountryCodes {
			if !countryRE.MatchString(cc) {
				add(keyErr(fmt.Sprintf("%s.country_codes[%d]", key, j), "%q is not an ISO 3166 code such as DE or BR-SP", cc))
			}
		}
		for side, ms := range map[string][]DeliveryMethod{"sell_delivery_methods": a.SellDeliveryMethods, "buy_delivery_methods": a.BuyDeliveryMethods} {
			seen := map[string]bool{}
			for j, m := range ms {
				if !methodRE.MatchString(m.Name) || seen[m.Name] {
					add(keyErr(fmt.Sprintf("%s.%s[%d].name", key, side, j), "%q: give a unique name of letters, digits, - or _ (such as SEPA)", m.Name))
				}
				seen[m.Name] = true
			}
		}
		offchain[a.Asset] = a
	}
	codes := map[string]bool{}
	for _, a := range c.Assets {
		codes[a.Code] = true
	}
	pairs := map[string]bool{}
	for i, p := range q.Pairs {
		key := fmt.Sprintf("quotes.pairs[%d]", i)
		fa, known := offchain[p.Offchain]
		switch {
		case !known:
			add(keyErr(key+".offchain", "%q is not one of quotes.assets", p.Offchain))
		case !codes[p.Asset]:
			add(keyErr(key+".asset", "%q is not the code of one of assets", p.Asset))
		case pairs[p.Offchain+"/"+p.Asset]:
			add(keyErr(key, "%s/%s is priced twice", p.Offchain, p.Asset))
		case q.Source != "url" && (!decimalRE.MatchString(p.Price) || strings.Trim(p.Price, "0.") == ""):
			add(keyErr(key+".price", "%q is not a positive decimal (the price of one %s in %s)", p.Price, p.Asset, p.Offchain))
		case p.SpreadPercent != "" && (!decimalRE.MatchString(p.SpreadPercent) || !lessThan100(p.SpreadPercent)):
			add(keyErr(key+".spread_percent", "%q: give a percentage from 0 to less than 100", p.SpreadPercent))
		case p.Fee != "" && (!decimalRE.MatchString(p.Fee) || decimalPlaces(p.Fee) > fa.Decimals):
			add(keyErr(key+".fee", "%q: give an amount of %s with at most %d decimals", p.Fee, p.Offchain, fa.Decimals))
		}
		pairs[p.Offchain+"/"+p.Asset] = true
	}
}

// MaxWebhookBatch bounds events.webhooks[].batch.
const MaxWebhookBatch = 500

func lessThan100(s string) bool {
	whole, _, _ := strings.Cut(s, ".")
	return len(strings.TrimLeft(whole, "0")) <= 2 // below 100
}
