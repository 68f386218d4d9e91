// Package doctor checks an anchor deployment from the outside (what wallets see: the
// stellar.toml at the home domain, its endpoints, the accounts on the network) and the inside
// (configuration, file modes, backups), one line per check with what to do about a problem.
package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/sep1"
	"github.com/anchorkit/anchor/internal/store/postgres"
	"github.com/anchorkit/anchor/pkg/sep10"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// Result levels.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
)

// Result is one check's outcome.
type Result struct {
	Check   string `json:"check"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Doctor runs the checks of one configuration.
type Doctor struct {
	Config *config.Config
	HTTP   *http.Client
	Now    func() time.Time
	// Webhooks reads a webhook's backlog (the store, or the running server's); nil: the
	// webhooks are not checked.
	Webhooks func(ctx context.Context, name string) (events.FeedStats, error)
	out      []Result
}

// webhookLag is how old a webhook's oldest event not yet sent may be before the check warns:
// a feed that runs sends within seconds.
const webhookLag = 5 * time.Minute

func (d *Doctor) add(check, level, format string, args ...any) {
	d.out = append(d.out, Result{Check: check, Level: level, Message: fmt.Sprintf(format, args...)})
}

// Run runs every check and returns the results in order.
func (d *Doctor) Run(ctx context.Context) []Result {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.out = nil
	d.checkTOML(ctx)
	d.checkHorizonAndAccounts(ctx)
	d.checkLocal()
	if d.Config.DatabaseURL != "" {
		d.checkDatabase(ctx)
	}
	if d.Webhooks != nil {
		d.checkWebhooks(ctx)
	}
	return d.out
}

// checkWebhooks checks each webhook's backlog: dead letters fail (the business missed those
// events), deliveries retrying and a feed behind warn.
func (d *Doctor) checkWebhooks(ctx context.Context) {
	for _, w := range d.Config.Events.Webhooks {
		check := "webhook " + w.Name
		host := fault.URLHost(w.URL, "its receiver") // a webhook's URL may carry a token of the receiver's
		st, err := d.Webhooks(ctx, w.Name)
		switch {
		case err != nil:
			d.add(check, Warn, "its backlog cannot be read: %v", err)
		case st.Dead > 0:
			d.add(check, Fail, "%d dead letter(s): events the business never got (anchor events list --failed); once %s takes them again: anchor events redeliver --failed", st.Dead, host)
		case st.Retrying > 0:
			d.add(check, Warn, "%d delivery(ies) retrying: %s is down or refuses them (anchor events webhooks)", st.Retrying, host)
		case st.Behind > 0 && d.Now().Sub(st.Oldest) > webhookLag:
			d.add(check, Warn, "%d event(s) not sent, the oldest from %s: no anchor serve sends them (is it running, with this webhook configured?)", st.Behind, st.Oldest.UTC().Format(time.RFC3339))
		default:
			d.add(check, OK, "sending: %d event(s) not sent yet, none retrying, no dead letters", st.Behind)
		}
	}
}

func (d *Doctor) checkTOML(ctx context.Context) {
	cfg := d.Config
	f, err := stellartoml.Fetch(ctx, d.HTTP, cfg.BaseURL()+"/.well-known/stellar.toml")
	if err != nil {
		d.add("stellar.toml", Fail, "%v: wallets cannot find this anchor (is anchor serve running and reachable at %s?)", err, cfg.BaseURL())
		return
	}
	level, msgs := OK, []string{}
	for _, fd := range append(f.Findings, stellartoml.Validate(f.Body)...) {
		if fd.Severity == stellartoml.SeverityError {
			level = Fail
		} else if level == OK {
			level = Warn
		}
		msgs = append(msgs, fd.String())
	}
	if len(msgs) == 0 {
		d.add("stellar.toml", OK, "%s is served as SEP-1 wants and valid", f.URL)
	} else {
		d.add("stellar.toml", level, "%s: %s (anchor toml validate %s)", f.URL, strings.Join(msgs, "; "), cfg.HomeDomain)
	}
	if want, err := sep1.Render(cfg); err == nil && !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(f.Body)) {
		d.add("stellar.toml matches config", Fail, "the served stellar.toml differs from what this configuration generates (anchor toml generate): restart anchor serve after a config change, or fix the proxy that serves it")
	} else if err == nil {
		d.add("stellar.toml matches config", OK, "the served stellar.toml is what this configuration generates")
	}
	tm, err := stellartoml.Decode(f.Body)
	if err != nil {
		return
	}
	if cfg.SigningSecret.IsSet() {
		if kp, err := keypair.ParseFull(cfg.SigningSecret.Reveal()); err == nil {
			if tm.SigningKey != kp.Address() {
				d.add("signing key", Fail, "SIGNING_KEY %s is not this server's key %s: wallets would reject every SEP-10 challenge", tm.SigningKey, kp.Address())
			} else {
				d.add("signing key", OK, "SIGNING_KEY is this server's key")
			}
		}
	}
	// SEP-10: a challenge for a random account verifies with the toml's key and passphrase.
	if tm.WebAuthEndpoint != "" {
		c := &sep10.Client{HTTP: d.HTTP, Endpoint: tm.WebAuthEndpoint, ServerKey: tm.SigningKey, Network: tm.NetworkPassphrase, HomeDomain: cfg.HomeDomain}
		acct := keypair.MustRandom().Address()
		if ch, err := c.Challenge(ctx, acct, nil, ""); err != nil {
			d.add("SEP-10", Fail, "GET %s: %v", tm.WebAuthEndpoint, err)
		} else if _, err := c.Check(ch.Transaction, acct, nil); err != nil {
			d.add("SEP-10", Fail, "the challenge does not verify with the stellar.toml's SIGNING_KEY and NETWORK_PASSPHRASE: %v", err)
		} else {
			d.add("SEP-10", OK, "a challenge from %s verifies with the stellar.toml's key", tm.WebAuthEndpoint)
		}
	}
	// SEP-6 and SEP-24 /info list every configured asset; SEP-38 lists the off-chain assets
	// and prices them.
	if tm.TransferServer != "" {
		d.checkTransferInfo(ctx, "SEP-6 /info", tm.TransferServer)
	}
	if tm.TransferServerSEP0024 != "" {
		d.checkTransferInfo(ctx, "SEP-24 /info", tm.TransferServerSEP0024)
	}
	if tm.AnchorQuoteServer != "" {
		d.checkQuotes(ctx, strings.TrimRight(tm.AnchorQuoteServer, "/"))
	}
}

// checkTransferInfo checks that a transfer server's /info (SEP-6 or SEP-24: the same shape)
// offers a deposit or a withdrawal of every configured asset.
func (d *Doctor) checkTransferInfo(ctx context.Context, check, server string) {
	var info struct {
		Deposit  map[string]any `json:"deposit"`
		Withdraw map[string]any `json:"withdraw"`
	}
	if err := d.getJSON(ctx, strings.TrimRight(server, "/")+"/info", &info); err != nil {
		d.add(check, Fail, "%v", err)
		return
	}
	var missing []string
	for _, a := range d.Config.Assets {
		if _, ok := info.Deposit[a.Code]; !ok {
			if _, ok := info.Withdraw[a.Code]; !ok {
				missing = append(missing, a.Code)
			}
		}
	}
	if len(missing) > 0 {
		d.add(check, Fail, "/info does not list %s", strings.Join(missing, ", "))
	} else {
		d.add(check, OK, "/info lists every configured asset")
	}
}

// checkQuotes checks SEP-38 from the outside: /info lists each configured off-chain asset, and
// /prices prices each (through the business's pricing endpoint when quotes.source is url, so a
// pricing endpoint that does not answer fails here as it would for wallets).
func (d *Doctor) checkQuotes(ctx context.Context, base string) {
	var info struct {
		Assets []struct {
			Asset string `json:"asset"`
		} `json:"assets"`
	}
	if err := d.getJSON(ctx, base+"/info", &info); err != nil {
		d.add("SEP-38 /info", Fail, "%v", err)
		return
	}
	listed := map[string]bool{}
	for _, a := range info.Assets {
		listed[a.Asset] = true
	}
	var missing []string
	for _, a := range d.Config.Quotes.Assets {
		if !listed[a.Asset] {
			missing = append(missing, a.Asset)
		}
	}
	if len(missing) > 0 {
		d.add("SEP-38 /info", Fail, "/info does not list %s", strings.Join(missing, ", "))
		return
	}
	d.add("SEP-38 /info", OK, "/info lists every configured off-chain asset")
	for _, a := range d.Config.Quotes.Assets {
		u := base + "/prices?" + url.Values{"sell_asset": {a.Asset}, "sell_amount": {"100"}}.Encode()
		var prices struct {
			BuyAssets []struct {
				Asset string `json:"asset"`
				Price string `json:"price"`
			} `json:"buy_assets"`
		}
		switch err := d.getJSON(ctx, u, &prices); {
		case err != nil:
			d.add("SEP-38 prices", Fail, "%v: wallets get no price for %s (with quotes.source url, is the business's pricing endpoint up? anchor serve's log says why)", err, a.Asset)
		case len(prices.BuyAssets) == 0:
			d.add("SEP-38 prices", Warn, "%s is exchanged for nothing: add a pair to quotes.pairs", a.Asset)
		default:
			d.add("SEP-38 prices", OK, "%s is priced (selling 100: %s of it per %s)", a.Asset, prices.BuyAssets[0].Price, prices.BuyAssets[0].Asset)
		}
	}
}

func (d *Doctor) getJSON(ctx context.Context, u string, out any) error {
	return d.getJSONAs(ctx, u, u, out)
}

// getJSONAs is getJSON with errors that call the URL name (Horizon's host: a provider's token
// may be in horizon_url, and this output may reach a CI log).
func (d *Doctor) getJSONAs(ctx context.Context, u, name string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: not a URL", name)
	}
	resp, err := d.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %v", name, fault.WithoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", name, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func (d *Doctor) checkHorizonAndAccounts(ctx context.Context) {
	cfg := d.Config
	if cfg.HorizonURL == "" {
		d.add("horizon", Warn, "horizon_url is not set: the accounts on the network are not checked")
		return
	}
	var root struct {
		Passphrase string    `json:"network_passphrase"`
		ClosedAt   time.Time `json:"history_latest_ledger_closed_at"`
	}
	where := "Horizon at " + fault.URLHost(cfg.HorizonURL, "its receiver")
	if err := d.getJSONAs(ctx, strings.TrimRight(cfg.HorizonURL, "/")+"/", where, &root); err != nil {
		d.add("horizon", Fail, "%v: check horizon_url", err)
		return
	}
	if root.Passphrase != cfg.NetworkPassphrase {
		d.add("horizon", Fail, "%s is on %q, the configuration on %q: fix network or horizon_url", where, root.Passphrase, cfg.NetworkPassphrase)
		return
	}
	d.add("horizon", OK, "%s answers, on the configured network", where)
	if skew := d.Now().Sub(root.ClosedAt); skew > 30*time.Second || skew < -30*time.Second {
		d.add("clock", Fail, "this machine's clock is %s from the last ledger close: SEP-10 challenges carry wrong time bounds and expiries drift (run an NTP client)", skew.Round(time.Second))
	} else {
		d.add("clock", OK, "within %s of the last ledger close", skew.Abs().Round(time.Second))
	}
	hz := horizon.New(cfg.HorizonURL, cfg.HorizonTimeout)
	seen := map[string]bool{}
	for _, a := range cfg.Assets {
		if !seen[a.Issuer] {
			seen[a.Issuer] = true
			iss, err := hz.Account(ctx, a.Issuer)
			switch {
			case err != nil:
				d.add("issuer", Fail, "issuer %s of %s: %v (it must exist on the network)", a.Issuer, a.Code, err)
			case iss.HomeDomain != cfg.HomeDomain:
				d.add("issuer", Fail, "issuer %s has home_domain %q, not %q: wallets cannot tie the asset to this anchor (anchor account set-home-domain)", a.Issuer, iss.HomeDomain, cfg.HomeDomain)
			default:
				d.add("issuer", OK, "issuer %s exists with home_domain %s", a.Issuer, cfg.HomeDomain)
			}
			// anchor authorizes no trustline itself: with AUTH_REQUIRED every credit would fail.
			if err == nil {
				switch {
				case iss.Flags.AuthRequired:
					d.add("issuer flags", Fail, "issuer %s has AUTH_REQUIRED, but anchor does not authorize trustlines: credits to new holders would fail (clear the flag, or authorize each trustline yourself)", a.Issuer)
				case iss.Flags.AuthClawbackEnabled:
					d.add("issuer flags", Warn, "issuer %s has AUTH_CLAWBACK_ENABLED: wallets show the asset as revocable; make sure your terms say so", a.Issuer)
				default:
					d.add("issuer flags", OK, "issuer flags fit anchor (no AUTH_REQUIRED)")
				}
			}
		}
		// Each CURRENCIES entry is an asset on the ledger: issued, so wallets find it.
		if supply, err := horizon.NewLedger(cfg.HorizonURL, cfg.HorizonTimeout).AssetSupply(ctx, a.Code, a.Issuer); err != nil {
			d.add("asset "+a.Code, Fail, "%s:%s: %v", a.Code, a.Issuer, err)
		} else if supply == 0 {
			d.add("asset "+a.Code, Warn, "no %s has been issued yet: wallets see an asset with no supply (mint to the distribution account)", a.Code)
		} else {
			d.add("asset "+a.Code, OK, "%s is on the ledger: %s issued", a.Code, money.Format(supply))
		}
		if a.DistributionAccount == "" {
			continue
		}
		dist, err := hz.Account(ctx, a.DistributionAccount)
		if err != nil {
			d.add("distribution "+a.Code, Fail, "distribution account %s: %v", a.DistributionAccount, err)
			continue
		}
		var bal *int64
		for _, b := range dist.Balances {
			if b.Asset.Code == a.Code && b.Asset.Issuer == a.Issuer {
				v, err := money.Parse(b.Balance)
				if err == nil {
					bal = &v
				}
			}
		}
		low := int64(0)
		for k, v := range cfg.Treasury.LowBalance {
			if strings.EqualFold(k, a.Code) {
				low, _ = money.Parse(v)
			}
		}
		switch {
		case bal == nil:
			d.add("distribution "+a.Code, Fail, "distribution account %s has no trustline to %s: credits fail (add one: change_trust)", a.DistributionAccount, a.Code)
		case *bal < low:
			d.add("distribution "+a.Code, Fail, "distribution account holds %s %s, below treasury.low_balance %s: mint more", money.Format(*bal), a.Code, money.Format(low))
		default:
			d.add("distribution "+a.Code, OK, "distribution account trusts %s and holds %s", a.Code, money.Format(*bal))
		}
		d.checkSigner(a, dist)
	}
}

// checkSigner says whether the configured distribution key can sign a payment alone.
func (d *Doctor) checkSigner(a config.Asset, dist *horizon.Account) {
	if !d.Config.DistributionSecret.IsSet() {
		d.add("distribution key", Warn, "distribution_secret is not set here: credits need --xdr-out or --key-prompt (fine for multisig)")
		return
	}
	kp, err := keypair.ParseFull(d.Config.DistributionSecret.Reveal())
	if err != nil {
		d.add("distribution key", Fail, "distribution_secret is not a valid secret seed")
		return
	}
	if kp.Address() != a.DistributionAccount {
		d.add("distribution key", Fail, "distribution_secret is the key of %s, not of %s's distribution account %s", kp.Address(), a.Code, a.DistributionAccount)
		return
	}
	weight := 0
	for _, s := range dist.Signers {
		if s.Key == kp.Address() {
			weight = int(s.Weight)
		}
	}
	if need := max(int(dist.Thresholds.MedThreshold), 1); weight < need {
		d.add("distribution key", Warn, "the configured key has weight %d of the %d a payment needs: every credit needs other signers (anchor sign, anchor submit)", weight, need)
		return
	}
	d.add("distribution key", OK, "the configured key can sign payments alone")
}

func (d *Doctor) checkLocal() {
	cfg := d.Config
	if !config.IsLocalHost(cfg.HomeDomain) && cfg.Mode != "production" {
		d.add("mode", Fail, "home_domain %s is public but mode is %s: set mode: production", cfg.HomeDomain, cfg.Mode)
	} else {
		d.add("mode", OK, "mode %s for %s", cfg.Mode, cfg.HomeDomain)
	}
	d.checkTLS()
	perm := func(check, path string, want os.FileMode) {
		fi, err := os.Stat(path)
		if err != nil {
			return
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			d.add(check, Fail, "%s is mode %04o; make it %04o (chmod %o %s)", path, got, want, want, path)
		} else {
			d.add(check, OK, "%s is mode %04o", path, got)
		}
	}
	dirMode, sockMode := os.FileMode(0o700), os.FileMode(0o600)
	if cfg.Admin.ComplianceGroup != "" || cfg.Admin.TreasuryGroup != "" || cfg.Admin.OperatorGroup != "" {
		dirMode, sockMode = 0o711, 0o666 // opened for the admin groups, judged by peer credentials
	}
	perm("data dir", cfg.DataDir, dirMode)
	if cfg.DatabaseURL == "" {
		perm("database", filepath.Join(cfg.DataDir, "anchor.db"), 0o600)
	}
	perm("admin socket", filepath.Join(cfg.DataDir, "admin.sock"), sockMode)
	if cfg.SecretsFile != "" {
		p := cfg.SecretsFile
		if !filepath.IsAbs(p) && cfg.File != "" {
			p = filepath.Join(filepath.Dir(cfg.File), p)
		}
		perm("secrets file", p, 0o600)
	}
	if cfg.BackupDir != "" {
		d.checkBackups()
	}
}

func (d *Doctor) checkTLS() {
	cfg := d.Config
	var notAfter time.Time
	var where string
	switch {
	case cfg.TLSCertFile != "":
		pair, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			d.add("TLS", Fail, "tls_cert_file/tls_key_file: %v", err)
			return
		}
		leaf, err := parseLeaf(pair)
		if err != nil {
			d.add("TLS", Fail, "tls_cert_file: %v", err)
			return
		}
		if err := leaf.VerifyHostname(hostOnly(cfg.HomeDomain)); err != nil {
			d.add("TLS", Fail, "the certificate is not valid for %s: %v", cfg.HomeDomain, err)
			return
		}
		notAfter, where = leaf.NotAfter, cfg.TLSCertFile
	case strings.HasPrefix(cfg.BaseURL(), "https://"):
		host := strings.TrimPrefix(cfg.BaseURL(), "https://")
		if !strings.Contains(host, ":") {
			host += ":443"
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", host, &tls.Config{ServerName: hostOnly(cfg.HomeDomain)})
		if err != nil {
			d.add("TLS", Fail, "https://%s: %v", host, err)
			return
		}
		notAfter, where = conn.ConnectionState().PeerCertificates[0].NotAfter, "https://"+host
		conn.Close()
	default:
		d.add("TLS", OK, "plain HTTP for %s (localhost)", cfg.HomeDomain)
		return
	}
	left := notAfter.Sub(d.Now())
	switch {
	case left <= 0:
		d.add("TLS", Fail, "the certificate of %s expired at %s", where, notAfter.UTC().Format(time.RFC3339))
	case left < 14*24*time.Hour:
		d.add("TLS", Fail, "the certificate of %s expires in %s (%s): renew it", where, left.Round(time.Hour), notAfter.UTC().Format(time.RFC3339))
	default:
		d.add("TLS", OK, "the certificate of %s is valid until %s", where, notAfter.UTC().Format(time.RFC3339))
	}
}

func hostOnly(domain string) string {
	if h, _, err := net.SplitHostPort(domain); err == nil {
		return h
	}
	if u, err := url.Parse("//" + domain); err == nil {
		return u.Hostname()
	}
	return domain
}

func (d *Doctor) checkBackups() {
	dir := d.Config.BackupDir
	entries, err := os.ReadDir(dir)
	if err != nil {
		d.add("backups", Fail, "backup_dir %s: %v", dir, err)
		return
	}
	var newest time.Time
	var name string
	var files []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".sha256") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files = append(files, e.Name())
		if fi, err := e.Info(); err == nil && fi.ModTime().After(newest) {
			newest, name = fi.ModTime(), e.Name()
		}
	}
	sort.Strings(files)
	switch {
	case name == "":
		if d.Config.DatabaseURL != "" {
			d.add("backups", Fail, "backup_dir %s holds no backup: schedule pg_dump --format=custom --file %s/anchor-$(date +%%F).dump (database_url)", dir, dir)
		} else {
			d.add("backups", Fail, "backup_dir %s holds no backup: schedule anchor backup --out %s/anchor-$(date +%%F).tar", dir, dir)
		}
	case d.Now().Sub(newest) > 24*time.Hour:
		d.add("backups", Fail, "the newest backup, %s, is %s old: is the daily anchor backup running?", name, d.Now().Sub(newest).Round(time.Hour))
	default:
		d.add("backups", OK, "the newest backup, %s, is %s old", name, d.Now().Sub(newest).Round(time.Minute))
	}
}

func parseLeaf(pair tls.Certificate) (*x509.Certificate, error) {
	if pair.Leaf != nil {
		return pair.Leaf, nil
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

// checkDatabase: the PostgreSQL database answers, takes writes (not a standby) and holds the
// schema this anchor writes, with room for one more replica's connections. It migrates nothing.
func (d *Doctor) checkDatabase(ctx context.Context) {
	url := d.Config.DatabaseURL.Reveal()
	p, err := postgres.Probe(ctx, url)
	if err != nil {
		d.add("database", Fail, "%v", err)
		return
	}
	if want := postgres.SchemaVersion(); p.Schema != want {
		d.add("database", Fail, "%s holds schema %d, this anchor writes %d (anchor serve migrates an older one when it starts)", d.Config.DatabaseURL, p.Schema, want)
		return
	}
	perReplica, err := postgres.ConnectionsPerReplica(url)
	if err != nil {
		d.add("database", Fail, "%v", err)
		return
	}
	level, conns := connectionRoom(p, perReplica)
	d.add("database", level, "%s answers and takes writes (schema %d); %s", d.Config.DatabaseURL, p.Schema, conns)
}

// connectionRoom says how many of the server's connections are taken, and warns when another
// replica, or this one restarting while the old connections linger, could not open all of its
// perReplica.
func connectionRoom(p postgres.ProbeResult, perReplica int) (level, msg string) {
	msg = fmt.Sprintf("%d of its %d connections open, %d of them anchor's; a replica opens up to %d", p.Connections, p.MaxClients, p.Anchor, perReplica)
	if p.MaxClients-p.Connections < perReplica {
		return Warn, msg + ": too few left for another (raise max_connections, or lower pool_max_conns in database_url: docs/scale-out.md)"
	}
	return OK, msg
}
