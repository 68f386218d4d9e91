package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stellar/go-stellar-sdk/keypair"
)

var (
	signing = keypair.MustRandom()
	issuer  = keypair.MustRandom()
)

const jwtKey = "0123456789abcdef0123456789abcdef"

func writeConfig(t *testing.T, yaml string, secrets string) string {
	t.Helper()
	dir := t.TempDir()
	if secrets != "" {
		if err := os.WriteFile(filepath.Join(dir, "secrets.env"), []byte(secrets), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "anchor.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func baseSecrets() string {
	return fmt.Sprintf("ANCHOR_SIGNING_SECRET=%s\nANCHOR_JWT_SECRET=%s\n", signing.Seed(), jwtKey)
}

func TestPrecedence(t *testing.T) {
	path := writeConfig(t, "secrets_file: secrets.env\nlisten: 127.0.0.1:1111\nhome_domain: file.example\njwt_lifetime: 1h\n", baseSecrets())
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("listen", "", "")
	if err := fs.Parse([]string{"--listen", "127.0.0.1:3333"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{
		File: path, Explicit: true, Flags: map[string]*pflag.Flag{"listen": fs.Lookup("listen")},
		LookupEnv: env(map[string]string{"ANCHOR_LISTEN": "127.0.0.1:2222", "ANCHOR_HOME_DOMAIN": "env.example"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ key, got, want, source string }{
		{"listen", cfg.Listen, "127.0.0.1:3333", "flag"},
		{"home_domain", cfg.HomeDomain, "env.example", "env"},
		{"jwt_lifetime", cfg.JWTLifetime.String(), "1h0m0s", "file"},
		{"challenge_lifetime", cfg.ChallengeLifetime.String(), "15m0s", "default"},
		{"signing_secret", cfg.SigningSecret.Reveal(), signing.Seed(), "secrets_file"},
	}
	for _, c := range checks {
		if c.got != c.want || cfg.Sources[c.key] != c.source {
			t.Errorf("%s = %q from %s; want %q from %s", c.key, c.got, cfg.Sources[c.key], c.want, c.source)
		}
	}
	// The environment beats the secrets file too.
	other := keypair.MustRandom()
	cfg, err = Load(LoadOptions{File: path, LookupEnv: env(map[string]string{"ANCHOR_SIGNING_SECRET": other.Seed()})})
	if err != nil || cfg.SigningSecret.Reveal() != other.Seed() || cfg.Sources["signing_secret"] != "env" {
		t.Fatalf("env over secrets file: %v %v", err, cfg.Sources["signing_secret"])
	}
	if cfg.DataDir != filepath.Join(filepath.Dir(path), "data") {
		t.Errorf("data_dir %q is not relative to the config file", cfg.DataDir)
	}
	if cfg.HorizonURL != DefaultHorizon["testnet"] {
		t.Errorf("horizon_url default %q", cfg.HorizonURL)
	}
}

func TestEnvOnlyKeysAreSeen(t *testing.T) {
	// No file at all: every key from the environment must still be decoded.
	cfg, err := Load(LoadOptions{File: filepath.Join(t.TempDir(), "absent.yaml"), LookupEnv: env(map[string]string{
		"ANCHOR_SIGNING_SECRET": signing.Seed(), "ANCHOR_JWT_SECRET": jwtKey,
		"ANCHOR_PREVIOUS_SIGNING_KEYS":  issuer.Address() + "," + signing.Address(),
		"ANCHOR_DOCUMENTATION_ORG_NAME": "Env Org", "ANCHOR_AUTH_RATE_LIMIT": "2.5", "ANCHOR_HORIZON_URL": "none",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.PreviousSigningKeys) != 2 || cfg.Documentation.OrgName != "Env Org" || cfg.AuthRateLimit != 2.5 || cfg.HorizonURL != "" || cfg.File != "" {
		t.Fatalf("cfg %+v", cfg)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "signing"), []byte(signing.Seed()+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "jwt"), []byte(jwtKey), 0o600)
	p := filepath.Join(dir, "anchor.yaml")
	dist := keypair.MustRandom()
	os.WriteFile(filepath.Join(dir, "dist"), []byte(dist.Seed()+"\n"), 0o600)
	os.WriteFile(p, []byte("signing_secret_file: signing\njwt_secret_file: jwt\ndistribution_secret_file: dist\nissuer_secret_file: missing\n"), 0o644)
	// An unreadable secret file matters only to the commands that need that secret.
	cfg, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err != nil {
		t.Fatalf("unreadable issuer_secret_file stops every command: %v", err)
	}
	if err := cfg.Require("anchor account set-home-domain", "issuer_secret"); err == nil || !strings.Contains(err.Error(), "issuer_secret_file") ||
		!strings.Contains(err.Error(), "ANCHOR_ISSUER_SECRET") || strings.Contains(err.Error(), "config file") {
		t.Fatalf("Require of an unreadable issuer_secret_file: %v", err)
	}
	if err := cfg.Require("anchor serve", "signing_secret", "jwt_secret"); err != nil {
		t.Fatalf("Require of readable secrets: %v", err)
	}
	os.WriteFile(p, []byte("signing_secret_file: signing\njwt_secret_file: jwt\ndistribution_secret_file: dist\n"), 0o644)
	cfg, err = Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SigningSecret.Reveal() != signing.Seed() || cfg.Sources["signing_secret"] != "signing_secret_file" {
		t.Fatalf("signing secret from file: %q", cfg.Sources["signing_secret"])
	}
	if cfg.DistributionSecret.Reveal() != dist.Seed() || cfg.Sources["distribution_secret"] != "distribution_secret_file" {
		t.Fatalf("distribution secret from file: %q", cfg.Sources["distribution_secret"])
	}
}

func TestInvalidConfigNamesTheKey(t *testing.T) {
	asset := func(extra string) string {
		return "assets:\n  - code: USDX\n    issuer: " + issuer.Address() + "\n" + extra
	}
	cases := []struct {
		name, yaml, secrets string
		env                 map[string]string
		key                 string
	}{
		{"bad signing secret", "", "ANCHOR_SIGNING_SECRET=SBAD\nANCHOR_JWT_SECRET=" + jwtKey, nil, "signing_secret"},
		{"public key as signing secret", "", "ANCHOR_SIGNING_SECRET=" + signing.Address() + "\nANCHOR_JWT_SECRET=" + jwtKey, nil, "signing_secret"},
		{"short jwt secret", "", "ANCHOR_SIGNING_SECRET=" + signing.Seed() + "\nANCHOR_JWT_SECRET=short", nil, "jwt_secret"},
		{"unknown network", "network: mainnet\n", baseSecrets(), nil, "network"},
		{"malformed horizon url", "horizon_url: horizon.stellar.org\n", baseSecrets(), nil, "horizon_url"},
		{"malformed public horizon url", "", baseSecrets(), map[string]string{"ANCHOR_PUBLIC_HORIZON_URL": "horizon.stellar.org"}, "public_horizon_url"},
		{"malformed public url", "public_url: ://x\n", baseSecrets(), nil, "public_url"},
		{"home domain with scheme", "home_domain: https://example.com\n", baseSecrets(), nil, "home_domain"},
		{"bad listen", "", baseSecrets(), map[string]string{"ANCHOR_LISTEN": "8000"}, "listen"},
		{"bad mode", "mode: staging\n", baseSecrets(), nil, "mode"},
		{"bad duration", "jwt_lifetime: forever\n", baseSecrets(), nil, "jwt_lifetime"},
		{"fee below the base fee", "", baseSecrets(), map[string]string{"ANCHOR_MAX_BASE_FEE": "99"}, "max_base_fee"},
		{"fee not a number", "max_base_fee: lots\n", baseSecrets(), nil, "max_base_fee"},
		{"unknown key", "colour: blue\n", baseSecrets(), nil, "colour"},
		{"unknown asset key", asset("    colour: blue\n"), baseSecrets(), nil, "assets[0].colour"},
		{"missing asset issuer", "assets:\n  - code: USDX\n", baseSecrets(), nil, "assets[0].issuer"},
		{"bad asset issuer", "assets:\n  - code: USDX\n    issuer: GBAD\n", baseSecrets(), nil, "assets[0].issuer"},
		{"bad asset code", "assets:\n  - code: TOOLONGASSETCODE\n    issuer: " + issuer.Address() + "\n", baseSecrets(), nil, "assets[0].code"},
		{"amount with 8 decimals", asset("    deposit:\n      min_amount: \"0.00000001\"\n"), baseSecrets(), nil, "assets[0].deposit.min_amount"},
		{"min above max", asset("    withdraw:\n      min_amount: \"10\"\n      max_amount: \"1\"\n"), baseSecrets(), nil, "assets[0].withdraw.min_amount"},
		{"fee percent over 100", asset("    deposit:\n      fee_percent: \"101\"\n"), baseSecrets(), nil, "assets[0].deposit.fee_percent"},
		{"fee percent as a fraction", asset("    deposit:\n      fee_percent: \"1/2\"\n"), baseSecrets(), nil, "assets[0].deposit.fee_percent"},
		{"fee percent with an exponent", asset("    deposit:\n      fee_percent: \"1e-1\"\n"), baseSecrets(), nil, "assets[0].deposit.fee_percent"},
		{"fee percent with 8 decimals", asset("    withdraw:\n      fee_percent: \"0.12345678\"\n"), baseSecrets(), nil, "assets[0].withdraw.fee_percent"},
		{"fee fixed with an exponent", asset("    deposit:\n      fee_fixed: \"1e1\"\n"), baseSecrets(), nil, "assets[0].deposit.fee_fixed"},
		{"min amount with a sign", asset("    deposit:\n      min_amount: \"+1\"\n"), baseSecrets(), nil, "assets[0].deposit.min_amount"},
		{"display decimals", asset("    display_decimals: 9\n"), baseSecrets(), nil, "assets[0].display_decimals"},
		{"bad previous signing key", "previous_signing_keys: [GBAD]\n", baseSecrets(), nil, "previous_signing_keys[0]"},
		{"bad trusted proxy", "trusted_proxies: [\"10.0.0.0/8\", \"nginx\"]\n", baseSecrets(), nil, "trusted_proxies[1]"},
		{"http org url", "documentation:\n  org_url: http://example.com\n", baseSecrets(), nil, "documentation.org_url"},
		{"unknown secrets variable", "", baseSecrets() + "ANCHOR_NOPE=1\n", nil, "secrets_file"},
		{"operator api in the clear", "operator_listen: 0.0.0.0:8001\n", baseSecrets(), nil, "operator_listen"},
		{"operator api not host:port", "operator_listen: \"8001\"\n", baseSecrets(), nil, "operator_listen"},
		{"colour name", "pages:\n  accent_color: blue\n", baseSecrets(), nil, "pages.accent_color"},
		{"colour in env without #", "", baseSecrets(), map[string]string{"ANCHOR_PAGES_TEXT_COLOR": "1d2430"}, "pages.text_color"},
		{"text not a text", "pages:\n  texts:\n    es:\n      flow.kyc.intro: [a, b]\n", baseSecrets(), nil, "pages.texts.es.flow.kyc.intro"},
		{"texts of a language not a map", "pages:\n  texts:\n    es: hola\n", baseSecrets(), nil, "pages.texts.es"},
		{"rate limit not a number", "", baseSecrets(), map[string]string{"ANCHOR_AUTH_RATE_LIMIT": "NaN"}, "auth_rate_limit"},
		{"infinite write rate", "write_rate_limit: .inf\n", baseSecrets(), nil, "write_rate_limit"},
		{"write burst of zero", "", baseSecrets(), map[string]string{"ANCHOR_WRITE_RATE_BURST": "0"}, "write_rate_burst"},
		{"negative webhook retries", "events:\n  retry_for: -5m\n", baseSecrets(), nil, "events.retry_for"},
		{"no webhook retries", "", baseSecrets(), map[string]string{"ANCHOR_EVENTS_RETRY_FOR": "0"}, "events.retry_for"},
		{"negative event retention", "", baseSecrets(), map[string]string{"ANCHOR_EVENTS_RETENTION": "-1h"}, "events.retention"},
		{"pricing timeout of zero", "quotes:\n  source: url\n  url: https://pricing.example/price\n  url_secret_file: pricing.secret\n  url_timeout: 0s\n", baseSecrets(), nil, "quotes.url_timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, "secrets_file: secrets.env\n"+c.yaml, c.secrets)
			_, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(c.env)})
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "config: "+c.key+": ") {
				t.Fatalf("error %q does not start with %q on one line", msg, "config: "+c.key+": ")
			}
			for _, s := range []string{signing.Seed(), jwtKey} {
				if strings.Contains(msg, s) {
					t.Fatalf("error leaks a secret: %q", msg)
				}
			}
		})
	}
}

func TestExplicitMissingFile(t *testing.T) {
	_, err := Load(LoadOptions{File: "/nonexistent/anchor.yaml", Explicit: true, LookupEnv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("SSECRET")
	cfg := Config{SigningSecret: s, JWTSecret: s}
	b, _ := json.Marshal(cfg)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, s), string(b)} {
		if strings.Contains(out, "SSECRET") {
			t.Fatalf("secret printed: %s", out)
		}
	}
}

func TestRenderedTemplateLoads(t *testing.T) {
	body, err := RenderTemplate(InitValues{HomeDomain: "localhost:8000", Mode: ModeDevelopment, Network: "testnet",
		HorizonURL: DefaultHorizon["testnet"], Listen: "127.0.0.1:8000", SecretsFile: "secrets.env",
		IssuerAccount: issuer.Address(), DistributionAccount: keypair.MustRandom().Address(), AssetStatus: "test"})
	if err != nil {
		t.Fatal(err)
	}
	p := writeConfig(t, string(body), baseSecrets())
	cfg, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	// Every scalar key is present in the file written by anchor init.
	for _, k := range Keys {
		if strings.HasSuffix(k.Name, "_secret") && k.Secret {
			continue
		}
		if cfg.Sources[k.Name] != "file" {
			t.Errorf("key %s is not in the template (source %s)", k.Name, cfg.Sources[k.Name])
		}
	}
	if cfg.ChallengeLifetime != 15*time.Minute || cfg.JWTLifetime != 24*time.Hour || len(cfg.Assets) != 1 {
		t.Errorf("defaults: %v %v %d", cfg.ChallengeLifetime, cfg.JWTLifetime, len(cfg.Assets))
	}
}

func TestEffectiveCoversEveryKey(t *testing.T) {
	p := writeConfig(t, "secrets_file: secrets.env\n", baseSecrets())
	cfg, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(map[string]string{"ANCHOR_PREVIOUS_SIGNING_KEYS": issuer.Address()})})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]string{}
	for _, e := range cfg.Effective() {
		byKey[e[0]] = e[1]
	}
	for _, k := range Keys {
		if _, ok := byKey[k.Name]; !ok {
			t.Errorf("key %s missing", k.Name)
		}
	}
	for key, want := range map[string]string{"signing_secret": Redacted, "jwt_lifetime": "24h0m0s", "auth_rate_limit": "20",
		"previous_signing_keys": issuer.Address(), "listen": "127.0.0.1:8000", "home_domain": "localhost:8000"} {
		if byKey[key] != want {
			t.Errorf("%s = %q, want %q", key, byKey[key], want)
		}
	}
	for _, e := range cfg.Effective() {
		if strings.Contains(e[1], signing.Seed()) || strings.Contains(e[1], jwtKey) {
			t.Errorf("%s shows a secret", e[0])
		}
	}
}

// TestConfigProblemsAtOnce: every problem of a configuration is reported at once, on one line,
// and an unknown key (in the file or the environment) comes with a suggestion.
func TestConfigProblemsAtOnce(t *testing.T) {
	p := writeConfig(t, "secrets_file: secrets.env\nmode: staging\nlog_level: loud\nauth_rate_burst: 0\n", baseSecrets())
	_, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	for _, key := range []string{"mode", "log_level", "auth_rate_burst", "3 problems"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("%q not reported in %v", key, err)
		}
	}
	p = writeConfig(t, "secrets_file: secrets.env\nhome_domian: x.example\nlog_levle: debug\n", baseSecrets())
	_, err = Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "did you mean home_domain") || !strings.Contains(err.Error(), "did you mean log_level") {
		t.Fatalf("unknown keys: %v", err)
	}
	if s := SuggestEnv("ANCHOR_HOME_DOMIAN"); s != "ANCHOR_HOME_DOMAIN" {
		t.Errorf("SuggestEnv = %q", s)
	}
}

// TestPageTextsKeepTheirDots: a text key holds dots (flow.kyc.intro), which viper takes for
// nesting; pages.texts gives it back whole, written either way in the file.
func TestPageTextsKeepTheirDots(t *testing.T) {
	p := writeConfig(t, "secrets_file: secrets.env\npages:\n  logo: brand/logo.png\n  texts:\n    en:\n      flow.kyc.intro: \"Hi %s\"\n      footer: Help\n    es:\n      flow:\n        continue: Seguir\n", baseSecrets())
	cfg, err := Load(LoadOptions{File: p, Explicit: true, LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	texts, err := cfg.PageTexts()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"en": {"flow.kyc.intro": "Hi %s", "footer": "Help"}, "es": {"flow.continue": "Seguir"}}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("texts %v, want %v", texts, want)
	}
	if cfg.Pages.Logo != filepath.Join(filepath.Dir(p), "brand", "logo.png") {
		t.Errorf("logo %q: not relative to the config file", cfg.Pages.Logo)
	}
}
