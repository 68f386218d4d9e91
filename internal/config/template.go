package config

import (
	"bytes"
	"text/template"
)

// InitValues fill the anchor.yaml template written by `anchor init`.
type InitValues struct {
	HomeDomain          string
	Mode                string
	Network             string
	HorizonURL          string
	Listen              string
	SecretsFile         string
	IssuerAccount       string
	DistributionAccount string
	AssetStatus         string
	// Demo fills the organisation, principal, asset texts and bank details with demo content
	// (testnet, or --demo); without it they are left empty for the operator to fill.
	Demo bool
}

// RenderTemplate returns a complete, commented anchor.yaml.
func RenderTemplate(v InitValues) ([]byte, error) {
	var buf bytes.Buffer
	err := fileTemplate.Execute(&buf, v)
	return buf.Bytes(), err
}

var fileTemplate = template.Must(template.New("anchor.yaml").Parse(`# anchor configuration. Every key can also be set in the environment as ANCHOR_<KEY>
# (upper case), which wins over this file; command-line flags win over both.
# Reference: docs/config.md.

# Domain (with port, if not 443) that serves /.well-known/stellar.toml. It is the SEP-10 home
# domain: challenges carry "<home_domain> auth".
home_domain: "{{.HomeDomain}}"

# production or development. Development allows loopback/private client_domain peers and treats
# accounts as new when Horizon cannot be reached at all; production refuses both.
mode: {{.Mode}}

# testnet, public or futurenet. network_passphrase overrides it for a custom network.
network: {{.Network}}
network_passphrase: ""

# Horizon: SEP-10 reads signers from it, the treasury commands submit through it. "none"
# disables it: every account is then treated as new (master key signature only).
horizon_url: "{{.HorizonURL}}"
# The HORIZON_URL stellar.toml publishes, for wallets (a public Horizon). Empty: horizon_url,
# unless it carries a user, path or query (a provider's token): then none.
public_horizon_url: ""
horizon_timeout: 5s
# GET /ready (for load balancers) fails when the withdrawal watcher has not caught up with the
# ledger for this long (it polls every 5s); GET /health only says the process is alive.
ready_max_watcher_lag: 2m
# Treasury transactions bid the fee recent ledgers needed (/fee_stats), at most this many
# stroops per operation (10000 = 0.001 XLM).
max_base_fee: 10000

# Address anchor serve listens on, and the public URL wallets reach it at (default
# http://home_domain for localhost, https://home_domain otherwise).
listen: "{{.Listen}}"
# HTTPS served by anchor itself (HTTP/2): a certificate chain and its key, in PEM. A renewed pair
# (certbot) is picked up without a restart when the files change, or on SIGHUP. Empty: plain
# HTTP, for localhost or behind a proxy that terminates TLS.
tls_cert_file: ""
tls_key_file: ""
# Where the daily anchor backup --out DIR/anchor-DATE.tar writes; anchor doctor fails
# when the newest file there is older than a day. Empty: not checked.
backup_dir: ""
# Prometheus metrics on their own listener, never the wallet-facing one (docs/monitoring.md);
# empty: off. To turn them on:
#   metrics_listen: 127.0.0.1:9464
metrics_listen: ""
# The operator API (docs/integration.md): the CLI's operations for the business's programs,
# authenticated by API keys (anchor apikey create). Off when empty; off loopback it serves
# HTTPS with tls_cert_file.
operator_listen: ""
# How often the gauges read from the store are recomputed (each pass reads every record).
metrics_refresh: 15s
public_url: ""

# Directory of the database (anchor.db), the keyring of its personal data (anchor.keys: back
# both up together) and the admin socket, relative to this file.
data_dir: data
# PostgreSQL instead of the bbolt file, for several anchor serve replicas on one database
# (docs/scale-out.md): database_url: postgres://anchor@db.internal/anchor. Keep a password
# in the secrets file (ANCHOR_DATABASE_URL=...) or a PGPASSFILE, never here.
database_url: ""

# Secrets live in this env-style file (mode 0600), never here. It may set ANCHOR_SIGNING_SECRET,
# ANCHOR_JWT_SECRET, ANCHOR_ISSUER_SECRET and ANCHOR_DISTRIBUTION_SECRET. Alternatives:
# the environment, or *_secret_file keys naming files that hold one secret each.
secrets_file: {{.SecretsFile}}
signing_secret_file: ""
jwt_secret_file: ""
issuer_secret_file: ""
distribution_secret_file: ""

# SEP-10. previous_signing_keys lists earlier SIGNING_KEYs (G...) whose challenges are still
# accepted after a rotation; new challenges are always signed with the current key.
previous_signing_keys: []
# web_auth_domain put in challenges; default the host (with port) of WEB_AUTH_ENDPOINT.
web_auth_domain: ""
challenge_lifetime: 15m
jwt_lifetime: 24h
# Requests per second per client IP on /auth, and burst; 0 disables the limit.
auth_rate_limit: 20
auth_rate_burst: 100
# Reverse proxies (CIDRs, e.g. ["127.0.0.1/32", "10.0.0.0/8"]) trusted to name the client in
# X-Forwarded-For or Forwarded; only requests from them are believed. Default: none.
trusted_proxies: []
# SEP-6 deposits/withdrawals and SEP-12 writes per second per account (all its memos
# together), and burst; 0 disables the limit.
write_rate_limit: 5
write_rate_burst: 50
# Timeout of outbound fetches (a client_domain's stellar.toml).
outbound_timeout: 5s

# Logs go to stderr: debug, info, warn or error; text or json.
log_level: info
log_format: text

# [DOCUMENTATION] of stellar.toml (SEP-1). URLs must be https.
documentation:
  org_name: "{{if .Demo}}Demo Anchor{{end}}"
  org_dba: ""
  org_url: ""
  org_logo: ""
  org_description: "{{if .Demo}}A demo fiat anchor on the Stellar test network.{{end}}"
  org_physical_address: ""
  org_physical_address_attestation: ""
  org_phone_number: ""
  org_phone_number_attestation: ""
  org_keybase: ""
  org_twitter: ""
  org_github: ""
  org_official_email: ""
  org_support_email: ""
  org_licensing_authority: ""
  org_license_type: ""
  org_license_number: ""

# SEP-12 KYC. Each customer type lists the SEP-9 fields it needs (fields) and may take
# (optional); a request naming another type gets 400. Sizes are in bytes.
kyc:
  auto_approve: false
  max_file_size: 10485760
  customer_quota: 52428800
  # All memos of one account together (a wallet mints memos freely), and all customers (0: no
  # limit); multipart bodies read at once (each may hold customer_quota in memory).
  account_quota: 104857600
  storage_quota: 10737418240
  max_concurrent_uploads: 4
  default_type: sep6-deposit
  types:
    sep6-deposit:
      description: "customer depositing fiat for tokens (SEP-6)"
      fields: [first_name, last_name, email_address]
      optional: [mobile_number]
    sep6-withdraw:
      description: "customer withdrawing tokens to a bank account (SEP-6)"
      fields: [first_name, last_name, email_address, bank_account_number, bank_number]
      optional: [bank_account_type, bank_name]

# [[PRINCIPALS]]: points of contact.
{{if .Demo}}principals:
  - name: "Demo Operator"
    email: "operator@example.com"{{else}}principals: []{{end}}

# The assets this anchor issues. Amounts are decimals with at most 7 places; fee_percent is a
# percentage. {{if .Demo}}The issuer and distribution accounts below were generated by anchor init for a
# demo; their secrets are in the secrets file. Replace them with your own for real use.{{else}}Fill in your issuer and distribution accounts (G...); their
# secrets go in the secrets file, never here.{{end}}
assets:
  - code: USDX
    issuer: {{.IssuerAccount}}
    distribution_account: {{.DistributionAccount}}
    status: {{.AssetStatus}}
    display_decimals: 2
    name: "{{if .Demo}}Demo US Dollar{{end}}"
    desc: "{{if .Demo}}A demo token redeemable 1:1 for US dollars.{{end}}"
    conditions: ""
    image: ""
    is_asset_anchored: true
    anchor_asset_type: fiat
    anchor_asset: USD
    attestation_of_reserve: ""
    redemption_instructions: "Withdraw with SEP-6."
    # Create a depositor's account when it does not exist, with starting_balance XLM.
    account_creation: true
    starting_balance: "2.01"
    deposit:
      enabled: true
      min_amount: "1"
      max_amount: "10000"
      fee_fixed: "0"
      fee_percent: "0"
      funding_methods: [WIRE]
      eta: 86400  # seconds from the customer's transfer to the tokens (0: not said)
      # The anchor's bank account depositors pay to (SEP-9 financial account fields); each
      # deposit also gets its own reference (external_transfer_memo) to quote.
      instructions:
        organization.bank_name: {value: "{{if .Demo}}Demo Bank{{end}}", description: "Bank name"}
        organization.bank_number: {value: "{{if .Demo}}121122676{{end}}", description: "US bank routing number"}
        organization.bank_account_number: {value: "{{if .Demo}}13719713158835300{{end}}", description: "US bank account number"}
    withdraw:
      enabled: true
      min_amount: "1"
      max_amount: "10000"
      fee_fixed: "0"
      fee_percent: "0"
      funding_methods: [WIRE]
      eta: 172800

# SEP-6 transfers. A transaction waiting for the user longer than transfer_expiry expires.
# A deposit needs the customer ACCEPTED for deposit_kyc_type, a withdrawal for withdraw_kyc_type.
# legacy_kyc_responses answers the deprecated 403 responses instead of creating the transaction.
# SEP-24, interactive deposits and withdrawals (TRANSFER_SERVER_SEP0024): wallets open anchor's
# pages (KYC, amount, how to pay; branded below under pages). Its transactions follow the sep6
# settings below.
sep24:
  enabled: true
  # Origins whose pages may show anchor's pages in a frame (wallets' iframes), e.g.
  # [https://wallet.example]; empty: any.
  frame_ancestors: []

# How the pages users see look (SEP-24's flow, every transaction's more_info_url page): the
# name and logo at the top (name default documentation.org_name; logo: a PNG, JPEG, GIF, WebP
# or SVG file of at most 256 KiB, relative to this file), colours (#rrggbb; empty: anchor's),
# and texts: replace any text of the catalogue (see docs/sep24.md), per language, or add a
# language, e.g. texts: {en: {flow.kyc.intro: "Welcome to ACME! We need a few details."}}.
pages:
  name: ""
  logo: ""
  accent_color: ""
  background_color: ""
  surface_color: ""
  text_color: ""
  texts: {}

# Business events (docs/integration.md): every transaction, customer, payment and treasury
# change, signed (HMAC-SHA256) to each webhook, retried for retry_for, in order per subject;
# also listed by GET /v1/events on the operator API and anchor events. For example:
#   webhooks:
#     - name: bank
#       url: https://bank.example/anchor-events
#       types: [transaction.*, payment.*]     # empty: every type
#       secret_file: webhook-bank.secret      # openssl rand -hex 32 > webhook-bank.secret
#       batch: 1                              # events per POST; more: a JSON array of up to that many
events:
  retry_for: 72h
  retention: 168h
  webhooks: []

# SEP-38 quotes (ANCHOR_QUOTE_SERVER, docs/quotes.md): off-chain assets offered in exchange for
# the tokens above, priced here (static). Off until a pair is listed. For example:
#   assets:
#     - asset: iso4217:EUR
#       decimals: 2
#       country_codes: [DE, FR]
#       sell_delivery_methods: [{name: SEPA, description: "Send euros by SEPA transfer"}]
#       buy_delivery_methods: [{name: SEPA, description: "Receive euros by SEPA transfer"}]
#   pairs:
#     - {offchain: iso4217:EUR, asset: USDX, price: "0.92", spread_percent: "0.5", fee: "1.00"}
quotes:
  expiry: 10m
  max_expiry: 24h
  # static: the pairs' prices below; url: the business's pricing endpoint, asked for each price
  # with a signed POST (docs/quotes.md; url_secret_file holds the signing key).
  source: static
  url: ""
  url_secret_file: ""
  url_timeout: 2s
  assets: []
  pairs: []

sep6:
  transfer_expiry: 24h
  legacy_kyc_responses: false
  # Most unfinished transactions one account (all its memos together) may have; 0: no limit.
  max_open_transactions: 100
  deposit_kyc_type: sep6-deposit
  withdraw_kyc_type: sep6-withdraw

# The two-person rule: a credit, payment, return or burn of more than approval_threshold of an
# asset is stored as proposed, and signed and submitted only once another OS user runs
# anchor approve ACTION_ID (anchor approvals list) within approval_expiry. Empty: off.
treasury:
  approval_threshold: {}   # e.g. {USDX: "10000"}
  approval_expiry: 24h
  # Longest validity of an envelope prepared for offline signers (--xdr-out --valid-for).
  max_valid_for: 168h
  # The least each asset's distribution account should hold (anchor doctor fails below it),
  # e.g. {USDX: "50000"}.
  low_balance: {}

# Who may do what through the admin socket while anchor serve runs (OS group names or gids).
# Empty: only the server's own OS user and root reach the socket. With any group set, other OS
# users may connect, and each request is judged by the peer credentials of its connection:
# members of any group read, compliance decides KYC, treasury moves money, operator moves
# transactions. The audit trail records the OS user; --by is kept as a note.
admin:
  compliance_group: ""
  treasury_group: ""
  operator_group: ""
`))
