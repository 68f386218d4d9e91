package cmd

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
)

// InitOptions are the flags of anchor init.
type InitOptions struct {
	IO         *iostreams.IOStreams
	Dir        string
	HomeDomain string
	Network    string
	Listen     string
	// Demo fills demo content and keys in also on the public network.
	Demo bool
}

func newInitCmd(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "init --dir DIR [--home-domain HOST[:PORT]] [--network testnet|public]",
		Short: "Write a new anchor.yaml and generate its secrets",
		Long: `Write DIR/anchor.yaml (every key present and commented) and DIR/secrets.env (mode 0600)
with a new SEP-10 signing keypair, a JWT key and demo issuer and distribution keypairs.
It never overwrites an existing config or secrets file.`,
		Example: `  anchor init --dir ./anchor
  anchor init --dir /etc/anchor --home-domain anchor.example.com --network public`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return initRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory to write anchor.yaml and secrets.env into (required)")
	cmd.Flags().StringVar(&opts.HomeDomain, "home-domain", "localhost:8000", "home domain, with port if not 443")
	cmd.Flags().StringVar(&opts.Network, "network", "testnet", "testnet or public")
	cmd.Flags().BoolVar(&opts.Demo, "demo", false, "on the public network too, write demo texts, bank details and freshly generated issuer and distribution keys")
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "listen address to write (default 127.0.0.1:PORT for localhost, :8000 otherwise)")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func initRun(opts *InitOptions) error {
	if err := config.ValidateHomeDomain(opts.HomeDomain); err != nil {
		return usageError{fmt.Errorf("--home-domain %w", err)}
	}
	if _, ok := config.Networks[opts.Network]; !ok || opts.Network == "futurenet" {
		return usageError{fmt.Errorf("--network %q is not testnet or public", opts.Network)}
	}
	cfgPath := filepath.Join(opts.Dir, "anchor.yaml")
	secretsPath := filepath.Join(opts.Dir, "secrets.env")
	for _, p := range []string{cfgPath, secretsPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already exists; anchor init never overwrites it", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return err
	}

	mode := config.ModeProduction
	listen := opts.Listen
	if config.IsLocalHost(opts.HomeDomain) {
		mode = config.ModeDevelopment
		if listen == "" {
			port := "443"
			if _, p, err := splitPort(opts.HomeDomain); err == nil && p != "" {
				port = p
			}
			listen = "127.0.0.1:" + port
		}
	}
	if listen == "" {
		listen = ":8000"
	}
	// On the public network nothing demo is published: no demo texts, no made-up bank, no
	// generated issuer keys (an operator brings its own), unless --demo asks for them.
	demo := opts.Network != "public" || opts.Demo
	signing, issuer, dist := keypair.MustRandom(), keypair.MustRandom(), keypair.MustRandom()
	jwtKey := make([]byte, 32)
	if _, err := rand.Read(jwtKey); err != nil {
		return err
	}
	secrets := fmt.Sprintf(`# Secrets of the anchor configured in anchor.yaml. Keep this file private (mode 0600),
# out of version control and backed up. Each line may instead be set in the environment.
# SEP-10 SIGNING_KEY %s
ANCHOR_SIGNING_SECRET=%s
# Key that signs session JWTs.
ANCHOR_JWT_SECRET=%s
`, signing.Address(), signing.Seed(), base64.RawURLEncoding.EncodeToString(jwtKey))
	issuerAccount, distAccount := "", ""
	if demo {
		secrets += fmt.Sprintf("# Demo issuer %s and distribution account %s, for treasury commands.\nANCHOR_ISSUER_SECRET=%s\nANCHOR_DISTRIBUTION_SECRET=%s\n",
			issuer.Address(), dist.Address(), issuer.Seed(), dist.Seed())
		issuerAccount, distAccount = issuer.Address(), dist.Address()
	} else {
		secrets += "# Your issuer and distribution secrets, for treasury commands (or use *_secret_file):\n# ANCHOR_ISSUER_SECRET=S...\n# ANCHOR_DISTRIBUTION_SECRET=S...\n"
	}
	if err := writeExclusive(secretsPath, []byte(secrets), 0o600); err != nil {
		return err
	}
	status := "test"
	if opts.Network == "public" {
		status = "live"
	}
	body, err := config.RenderTemplate(config.InitValues{
		HomeDomain: opts.HomeDomain, Mode: mode, Network: opts.Network,
		HorizonURL: config.DefaultHorizon[opts.Network], Listen: listen, SecretsFile: "secrets.env",
		IssuerAccount: issuerAccount, DistributionAccount: distAccount, AssetStatus: status, Demo: demo,
	})
	if err != nil {
		return err
	}
	if err := writeExclusive(cfgPath, body, 0o644); err != nil {
		os.Remove(secretsPath)
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Wrote %s and %s (mode 0600).\nSIGNING_KEY %s\n", cfgPath, secretsPath, signing.Address())
	if !demo {
		fmt.Fprintf(opts.IO.ErrOut, "Fill in %s before serving on the public network: the organisation (documentation.org_name, org_url, org_official_email),\n"+
			"your issuer and distribution accounts (assets[0].issuer, distribution_account; their secrets in the secrets file) and the bank account\n"+
			"depositors pay to (assets[0].deposit.instructions); anchor serve names whatever is still missing.\n"+
			"Serve it over TLS: https at %s, for example behind a reverse proxy (see trusted_proxies in docs/config.md).\n", cfgPath, opts.HomeDomain)
		return nil
	}
	fmt.Fprintf(opts.IO.ErrOut, "Start the server with: anchor serve --config %s\n", cfgPath)
	return nil
}

func splitPort(hostport string) (string, string, error) {
	for i := len(hostport) - 1; i >= 0; i-- {
		if hostport[i] == ':' {
			return hostport[:i], hostport[i+1:], nil
		}
		if hostport[i] == ']' {
			break
		}
	}
	return hostport, "", nil
}

// writeExclusive creates path with perm, failing if it exists.
func writeExclusive(path string, data []byte, perm os.FileMode) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; anchor init never overwrites it", path)
		}
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
