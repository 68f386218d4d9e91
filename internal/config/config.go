// Package config loads anchor's configuration: flag > ANCHOR_* environment > secrets file >
// anchor.yaml > default, decoded into a typed Config and validated before anything starts.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Networks maps the names accepted by the `network` key to their passphrases.
var Networks = map[string]string{
	"public":    "Public Global Stellar Network ; September 2015",
	"testnet":   "Test SDF Network ; September 2015",
	"futurenet": "Test SDF Future Network ; October 2022",
}

// DefaultHorizon is the Horizon URL used for a network when horizon_url is not set.
var DefaultHorizon = map[string]string{
	"public":    "https://horizon.stellar.org",
	"testnet":   "https://horizon-testnet.stellar.org",
	"futurenet": "https://horizon-futurenet.stellar.org",
}

// Modes: production refuses outbound requests to private addresses and treats an unreachable
// Horizon as an error; development allows loopback peers and tolerates an offline Horizon.
const (
	ModeProduction  = "production"
	ModeDevelopment = "development"
)

// Config is the effective, validated configuration.
type Config struct {
	HomeDomain        string `mapstructure:"home_domain"`
	Mode              string `mapstructure:"mode"`
	Network           string `mapstructure:"network"`
	NetworkPassphrase string `mapstructure:"network_passphrase"`
	HorizonURL        string `mapstructure:"horizon_url"`
	// PublicHorizonURL is the HORIZON_URL stellar.toml publishes (TOMLHorizonURL).
	PublicHorizonURL    string        `mapstructure:"public_horizon_url"`
	Listen              string        `mapstructure:"listen"`
	MetricsListen       string        `mapstructure:"metrics_listen"`
	OperatorListen      string        `mapstructure:"operator_listen"`
	BackupDir           string        `mapstructure:"backup_dir"`
	TLSCertFile         string        `mapstructure:"tls_cert_file"`
	TLSKeyFile          string        `mapstructure:"tls_key_file"`
	MetricsRefresh      time.Duration `mapstructure:"metrics_refresh"`
	DataDir             string        `mapstructure:"data_dir"`
	DatabaseURL         DSN           `mapstructure:"database_url"`
	PublicURL           string        `mapstructure:"public_url"`
	WebAuthDomain       string        `mapstructure:"web_auth_domain"`
	SecretsFile         string        `mapstructure:"secrets_file"`
	SigningSecret       Secret        `mapstructure:"signing_secret"`
	SigningSecretFile   string        `mapstructure:"signing_secret_file"`
	PreviousSigningKeys []string      `mapstructure:"previous_signing_keys"`
	JWTSecret           Secret        `mapstructure:"jwt_secret"`
	JWTSecretFile       string        `mapstructure:"jwt_secret_file"`
	JWTLifetime         time.Duration `mapstructure:"jwt_lifetime"`
	ChallengeLifetime   time.Duration `mapstructure:"challenge_lifetime"`
	AuthRateLimit       float64       `mapstructure:"auth_rate_limit"`
	AuthRateBurst       int           `mapstructure:"auth_rate_burst"`
	WriteRateLimit      float64       `mapstructure:"write_rate_limit"`
	WriteRateBurst      int           `mapstructure:"write_rate_burst"`
	TrustedProxies      []string      `mapstructure:"trusted_proxies"`
	OutboundTimeout     time.Duration `mapstructure:"outbound_timeout"`
	HorizonTimeout      time.Duration `mapstructure:"horizon_timeout"`
	ReadyMaxWatcherLag  time.Duration `mapstructure:"ready_max_watcher_lag"`
	MaxBaseFee          int64         `mapstructure:"max_base_fee"`
	LogLevel            string        `mapstructure:"log_level"`
	LogFormat           string        `mapstructure:"log_format"`
	IssuerSecret        Secret        `mapstructure:"issuer_secret"`
	// secretErrs says why a secret could not be read (its file), for Require.
	secretErrs             map[string]error
	IssuerSecretFile       string        `mapstructure:"issuer_secret_file"`
	DistributionSecret     Secret        `mapstructure:"distribution_secret"`
	DistributionSecretFile string        `mapstructure:"distribution_secret_file"`
	Documentation          Documentation `mapstructure:"documentation"`
	Principals             []Principal   `mapstructure:"principals"`
	Assets                 []Asset       `mapstructure:"assets"`
	KYC                    KYC           `mapstructure:"kyc"`
	SEP6                   SEP6          `mapstructure:"sep6"`
	SEP24                  SEP24         `mapstructure:"sep24"`
	Pages                  Pages         `mapstructure:"pages"`
	Events                 Events        `mapstructure:"events"`
	Quotes                 Quotes        `mapstructure:"quotes"`
	Admin                  Admin         `mapstructure:"admin"`
	Treasury               Treasury      `mapstructure:"treasury"`

	// File is the config file that was read, "" when none was.
	File string `mapstructure:"-"`
	// Sources tells, for each key, where its value came from: flag, env, secrets_file, file or default.
	Sources map[string]string `mapstructure:"-"`
}

// Documentation is the [DOCUMENTATION] table of stellar.toml (SEP-1).
type Documentation struct {
	OrgName                       string `mapstructure:"org_name"`
	OrgDBA                        string `mapstructure:"org_dba"`
	OrgURL                        string `mapstructure:"org_url"`
	OrgLogo                       string `mapstructure:"org_logo"`
	OrgDescription                string `mapstructure:"org_description"`
	OrgPhysicalAddress            string `mapstructure:"org_physical_address"`
	OrgPhysicalAddressAttestation string `mapstructure:"org_physical_address_attestation"`
	OrgPhoneNumber                string `mapstructure:"org_phone_number"`
	OrgPhoneNumberAttestation     string `mapstructure:"org_phone_number_attestation"`
	OrgKeybase                    string `mapstructure:"org_keybase"`
	OrgTwitter                    string `mapstructure:"org_twitter"`
	OrgGithub                     string `mapstructure:"org_github"`
	OrgOfficialEmail              string `mapstructure:"org_official_email"`
	OrgSupportEmail               string `mapstructure:"org_support_email"`
	OrgLicensingAuthority         string `mapstructure:"org_licensing_authority"`
	OrgLicenseType                string `mapstructure:"org_license_type"`
	OrgLicenseNumber              string `mapstructure:"org_license_number"`
}

// KYC configures SEP-12: which SEP-9 fields each customer type needs, and file limits.
type KYC struct {
	AutoApprove   bool  `mapstructure:"auto_approve"`
	MaxFileSize   int64 `mapstructure:"max_file_size"`
	CustomerQuota int64 `mapstructure:"customer_quota"`
	// AccountQuota bounds the file bytes of one account across all its memos (a wallet mints
	// memos, and so customers, freely); StorageQuota those of every customer together (0: no
	// limit). MaxConcurrentUploads bounds the multipart bodies read at once.
	AccountQuota         int64                   `mapstructure:"account_quota"`
	StorageQuota         int64                   `mapstructure:"storage_quota"`
	MaxConcurrentUploads int                     `mapstructure:"max_concurrent_uploads"`
	DefaultType          string                  `mapstructure:"default_type"`
	Types                map[string]CustomerType `mapstructure:"types"`
}

// CustomerType lists the SEP-9 fields a customer type must (Fields) and may (Optional) provide.
type CustomerType struct {
	Description string   `mapstructure:"description"`
	Fields      []string `mapstructure:"fields"`
	Optional    []string `mapstructure:"optional"`
}

// DefaultCustomerTypes are used when the config file lists no kyc.types.
func DefaultCustomerTypes() map[string]CustomerType {
	return map[string]CustomerType{
		"sep6-deposit": {Description: "customer depositing fiat for tokens (SEP-6)",
			Fields: []string{"first_name", "last_name", "email_address"}, Optional: []string{"mobile_number"}},
		"sep6-withdraw": {Description: "customer withdrawing tokens to a bank account (SEP-6)",
			Fields:   []string{"first_name", "last_name", "email_address", "bank_account_number", "bank_number"},
			Optional: []string{"bank_account_type", "bank_name"}},
	}
}

// Principal is one [[PRINCIPALS]] point of contact (SEP-1).
type Principal struct {
	Name                  string `mapstructure:"name"`
	Email                 string `mapstructure:"email"`
	Keybase               string `mapstructure:"keybase"`
	Telegram              string `mapstructure:"telegram"`
	Twitter               string `mapstructure:"twitter"`
	Github                string `mapstructure:"github"`
	IDPhotoHash           string `mapstructure:"id_photo_hash"`
	VerificationPhotoHash string `mapstructure:"verification_photo_hash"`
}

// Asset is one token the anchor issues: its stellar.toml description and its transfer rules.
type Asset struct {
	Code                   string    `mapstructure:"code"`
	Issuer                 string    `mapstructure:"issuer"`
	DistributionAccount    string    `mapstructure:"distribution_account"`
	Status                 string    `mapstructure:"status"`
	DisplayDecimals        int       `mapstructure:"display_decimals"`
	Name                   string    `mapstructure:"name"`
	Desc                   string    `mapstructure:"desc"`
	Conditions             string    `mapstructure:"conditions"`
	Image                  string    `mapstructure:"image"`
	IsAssetAnchored        bool      `mapstructure:"is_asset_anchored"`
	AnchorAssetType        string    `mapstructure:"anchor_asset_type"`
	AnchorAsset            string    `mapstructure:"anchor_asset"`
	AttestationOfReserve   string    `mapstructure:"attestation_of_reserve"`
	RedemptionInstructions string    `mapstructure:"redemption_instructions"`
	Deposit                Direction `mapstructure:"deposit"`
	Withdraw               Direction `mapstructure:"withdraw"`
	// AccountCreation lets credit create a deposit's account when it does not exist, funding it
	// with StartingBalance XLM from the distribution account (SEP-6 recommends 2.01).
	AccountCreation bool   `mapstructure:"account_creation"`
	StartingBalance string `mapstructure:"starting_balance"`
}

// Admin configures who may do what through the admin socket: OS groups (names or gids), each
// empty for "only the server's own OS user (and root)".
type Admin struct {
	ComplianceGroup string `mapstructure:"compliance_group"`
	TreasuryGroup   string `mapstructure:"treasury_group"`
	OperatorGroup   string `mapstructure:"operator_group"`
}

// Treasury configures the two-person rule.
type Treasury struct {
	// ApprovalThreshold maps an asset code to an amount (a decimal string): an action that moves
	// more of it waits for a second OS user's approval. File only, like assets.
	ApprovalThreshold map[string]string `mapstructure:"approval_threshold"`
	// ApprovalExpiry is how long a proposal waits for its approval.
	ApprovalExpiry time.Duration `mapstructure:"approval_expiry"`
	// MaxValidFor bounds --valid-for of envelopes prepared for offline signing.
	MaxValidFor time.Duration `mapstructure:"max_valid_for"`
	// LowBalance maps an asset code to the least the distribution account should hold
	// (anchor doctor fails below it). File only.
	LowBalance map[string]string `mapstructure:"low_balance"`
}

// SEP24 configures the interactive transfer server (TRANSFER_SERVER_SEP0024). Its
// transactions follow sep6's expiry, limits and KYC types.
type SEP24 struct {
	// Enabled serves it and advertises it in stellar.toml (default on).
	Enabled bool `mapstructure:"enabled"`
	// FrameAncestors is who may show the pages in a frame (CSP frame-ancestors): wallets that
	// embed them in an iframe. Default any.
	FrameAncestors []string `mapstructure:"frame_ancestors"`
}

// Pages brands the pages users see: SEP-24's interactive flow and every transaction's
// more_info_url page.
type Pages struct {
	// Name is shown at the top of every page; default documentation.org_name.
	Name string `mapstructure:"name"`
	// Logo is an image file shown at the top of every page (resolved against the config
	// file's directory; read at start).
	Logo string `mapstructure:"logo"`
	// Colours, CSS hex (#rgb or #rrggbb); empty: anchor's.
	AccentColor     string `mapstructure:"accent_color"`
	BackgroundColor string `mapstructure:"background_color"`
	SurfaceColor    string `mapstructure:"surface_color"`
	TextColor       string `mapstructure:"text_color"`
	// Texts replaces texts of the message catalogue, or adds a language: language → text key
	// → text (file only). Keys hold dots ("flow.kyc.intro"), which the file's nesting may
	// split; PageTexts joins them again.
	Texts map[string]any `mapstructure:"texts"`
}

// PageTexts is pages.texts as language → key → text. A value that is not a text is an error
// naming its key.
func (c *Config) PageTexts() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for lang, v := range c.Pages.Texts {
		m := map[string]string{}
		if err := flattenTexts("", v, m); err != nil {
			return nil, &Error{Key: "pages.texts." + lang + err.Error(), Msg: "not a text (give each text as key: \"text\")", NoHint: true}
		}
		out[lang] = m
	}
	return out, nil
}

type textKeyError string

func (e textKeyError) Error() string { return string(e) }

func flattenTexts(prefix string, v any, out map[string]string) error {
	switch v := v.(type) {
	case string:
		if prefix == "" {
			return textKeyError("")
		}
		out[prefix[1:]] = v
	case map[string]any:
		for k, sub := range v {
			if err := flattenTexts(prefix+"."+k, sub, out); err != nil {
				return err
			}
		}
	default:
		return textKeyError(prefix)
	}
	return nil
}

// Quotes configures SEP-38: the off-chain assets offered in exchange for the anchor's tokens,
// and the prices (docs/quotes.md).
type Quotes struct {
	// Expiry is a firm quote's lifetime unless the wallet asks for a later expire_after, up to
	// MaxExpiry.
	Expiry    time.Duration `mapstructure:"expiry"`
	MaxExpiry time.Duration `mapstructure:"max_expiry"`
	// Source is static (the pairs' prices) or url (the business's pricing endpoint, asked for
	// each price with a signed request; docs/quotes.md).
	Source        string        `mapstructure:"source"`
	URL           string        `mapstructure:"url"`
	URLSecretFile string        `mapstructure:"url_secret_file"`
	URLTimeout    time.Duration `mapstructure:"url_timeout"`
	urlSecret     []byte
	Assets        []QuoteAsset `mapstructure:"assets"`
	Pairs         []QuotePair  `mapstructure:"pairs"`
}

// QuoteAsset is an off-chain asset (iso4217:EUR) with its decimals, countries and the methods
// that deliver it (SEP-6 funding methods).
type QuoteAsset struct {
	Asset               string           `mapstructure:"asset"`
	Decimals            int              `mapstructure:"decimals"`
	CountryCodes        []string         `mapstructure:"country_codes"`
	SellDeliveryMethods []DeliveryMethod `mapstructure:"sell_delivery_methods"`
	BuyDeliveryMethods  []DeliveryMethod `mapstructure:"buy_delivery_methods"`
}

// DeliveryMethod is a way to deliver or receive an off-chain asset.
type DeliveryMethod struct {
	Name        string `mapstructure:"name" json:"name"`
	Description string `mapstructure:"description" json:"description"`
}

// QuotePair prices one off-chain asset against one of the anchor's assets (static source):
// Price is the mid price of one token in the off-chain asset (EUR per USDX); each side pays
// SpreadPercent above it, and Fee (in the off-chain asset) is charged on each exchange.
type QuotePair struct {
	Offchain      string `mapstructure:"offchain"`
	Asset         string `mapstructure:"asset"`
	Price         string `mapstructure:"price"`
	SpreadPercent string `mapstructure:"spread_percent"`
	Fee           string `mapstructure:"fee"`
}

// Events configures the business events and their webhooks (docs/integration.md).
type Events struct {
	// RetryFor is how long a delivery is retried before it becomes a dead letter.
	RetryFor time.Duration `mapstructure:"retry_for"`
	// Retention is how long delivered events stay listed (GET /v1/events, anchor events list).
	Retention time.Duration `mapstructure:"retention"`
	Webhooks  []Webhook     `mapstructure:"webhooks"`
}

// Webhook is one business endpoint that receives events.
type Webhook struct {
	Name string `mapstructure:"name"`
	URL  string `mapstructure:"url"`
	// Types are the event types it takes (globs such as transaction.*); empty: all.
	Types []string `mapstructure:"types"`
	// SecretFile holds the key its deliveries are signed with (HMAC-SHA256), relative to the
	// config file; never the config file itself.
	SecretFile string `mapstructure:"secret_file"`
	// Batch is how many events one POST may carry: 1 (the default) posts each event as it is;
	// more posts a JSON array of up to Batch events (at most one per subject, in order).
	Batch  int `mapstructure:"batch"`
	secret []byte
}

// Secret is the webhook's signing key, read from SecretFile at load (nil when this user could
// not read it: only anchor serve needs it, and checks it with WebhookSecrets).
func (w Webhook) Secret() []byte { return w.secret }

// QuotesURLSecret is the key the pricing requests are signed with (read from
// quotes.url_secret_file at load; anchor serve checks it with PricingSecret).
func (c *Config) QuotesURLSecret() []byte { return c.Quotes.urlSecret }

// PricingSecret checks that the pricing URL's secret was read, when the source is url.
func (c *Config) PricingSecret() error {
	if c.Quotes.Source == "url" && len(c.Quotes.urlSecret) < 16 {
		return keyErr("quotes.url_secret_file", "%s is missing, unreadable by this user or shorter than 16 bytes", c.Quotes.URLSecretFile)
	}
	return nil
}

// WebhookSecrets checks that every webhook's secret was read (at least 16 bytes), naming the
// key of the first that was not.
func (c *Config) WebhookSecrets() error {
	for i, w := range c.Events.Webhooks {
		if len(w.secret) < 16 {
			return keyErr(fmt.Sprintf("events.webhooks[%d].secret_file", i), "%s is missing, unreadable by this user or shorter than 16 bytes", w.SecretFile)
		}
	}
	return nil
}

// SEP6 configures the transfer server.
type SEP6 struct {
	// TransferExpiry is how long a transaction may wait for the user before it expires.
	TransferExpiry time.Duration `mapstructure:"transfer_expiry"`
	// LegacyKYCResponses answers 403 non_interactive_customer_info_needed / customer_info_status
	// (deprecated in SEP-6 v4) instead of creating the transaction, for older wallets.
	LegacyKYCResponses bool   `mapstructure:"legacy_kyc_responses"`
	DepositKYCType     string `mapstructure:"deposit_kyc_type"`
	WithdrawKYCType    string `mapstructure:"withdraw_kyc_type"`
	// MaxOpenTransactions bounds the unfinished transactions of one account (all its memos and
	// muxed ids together); 0 means no limit.
	MaxOpenTransactions int `mapstructure:"max_open_transactions"`
}

// Instruction is one SEP-9 financial account field of deposit instructions.
type Instruction struct {
	Value       string `mapstructure:"value" json:"value"`
	Description string `mapstructure:"description" json:"description"`
}

// Direction holds the rules for one direction (deposit or withdraw) of an asset. Amounts are
// decimal strings with at most 7 places; they are parsed exactly, never as floats.
type Direction struct {
	Enabled    bool   `mapstructure:"enabled"`
	MinAmount  string `mapstructure:"min_amount"`
	MaxAmount  string `mapstructure:"max_amount"`
	FeeFixed   string `mapstructure:"fee_fixed"`
	FeePercent string `mapstructure:"fee_percent"`
	// ETA is the usual time, in seconds, from the user's transfer to completion (0: not said).
	ETA int `mapstructure:"eta"`
	// FundingMethods are SEP-6 funding methods (WIRE, SEPA, cash, ...); the first is the default.
	FundingMethods []string `mapstructure:"funding_methods"`
	// Instructions are the anchor's account details a depositor pays to (deposit only).
	Instructions map[string]Instruction `mapstructure:"instructions"`
}

// IsLocalHost reports whether host (with or without port) names this machine, the only case
// where SEP-1 tolerates http:// URLs.
func IsLocalHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BaseURL is the public URL the SEP endpoints are served under, without a trailing slash.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "https"
	if IsLocalHost(c.HomeDomain) && c.TLSCertFile == "" {
		scheme = "http"
	}
	return scheme + "://" + c.HomeDomain
}

// WebAuthEndpoint is the SEP-10 endpoint URL published as WEB_AUTH_ENDPOINT and used as JWT iss.
func (c *Config) WebAuthEndpoint() string { return c.BaseURL() + "/auth" }

// TransferServer is the SEP-6 base URL published as TRANSFER_SERVER.
func (c *Config) TransferServer() string { return c.BaseURL() + "/sep6" }

// TransferServerSEP24 is the SEP-24 base URL published as TRANSFER_SERVER_SEP0024 (empty when
// SEP-24 is off).
func (c *Config) TransferServerSEP24() string {
	if !c.SEP24.Enabled {
		return ""
	}
	return c.BaseURL() + "/sep24"
}

// QuoteServer is the SEP-38 base URL published as ANCHOR_QUOTE_SERVER (empty when no quotes
// are configured).
func (c *Config) QuoteServer() string {
	if len(c.Quotes.Pairs) == 0 {
		return ""
	}
	return c.BaseURL() + "/sep38"
}

// KYCServer is the SEP-12 base URL published as KYC_SERVER.
func (c *Config) KYCServer() string { return c.BaseURL() + "/kyc" }

// EffectiveWebAuthDomain is the web_auth_domain value put in challenges: the configured value, or
// the host (with port) of WEB_AUTH_ENDPOINT.
func (c *Config) EffectiveWebAuthDomain() string {
	if c.WebAuthDomain != "" {
		return c.WebAuthDomain
	}
	u, err := url.Parse(c.WebAuthEndpoint())
	if err != nil {
		return c.HomeDomain
	}
	return u.Host
}

// Development reports whether the config runs in development mode.
func (c *Config) Development() bool { return c.Mode == ModeDevelopment }

// TOMLHorizonURL is the HORIZON_URL stellar.toml publishes: public_horizon_url, or else
// horizon_url when it carries nothing private — no user or password, no path (a provider's
// token is often one) and no query — for SEP-1's HORIZON_URL is a public-facing Horizon, and
// the file is read by anyone. Empty: none is published.
func (c *Config) TOMLHorizonURL() string {
	if c.PublicHorizonURL != "" || c.HorizonURL == "" {
		return c.PublicHorizonURL
	}
	u, err := url.Parse(c.HorizonURL)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return ""
	}
	return c.HorizonURL
}
