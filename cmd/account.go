package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/views"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

func newAccountCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Look at and configure the anchor's Stellar accounts"}
	cmd.AddCommand(newAccountShowCmd(f), newAccountHomeDomainCmd(f))
	return cmd
}

func newAccountShowCmd(f *Factory) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "show [ACCOUNT|issuer|distribution] [--json]",
		Short:   "Show an account: balances, trustlines, flags, signers, thresholds, home domain",
		Example: "  anchor account show issuer\n  anchor account show GB... --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config(nil)
			if err != nil {
				return err
			}
			if cfg.HorizonURL == "" {
				return errors.New("horizon_url is not set")
			}
			id := "distribution"
			if len(args) == 1 {
				id = args[0]
			}
			if len(cfg.Assets) > 0 {
				switch id {
				case "issuer":
					id = cfg.Assets[0].Issuer
				case "distribution":
					id = cfg.Assets[0].DistributionAccount
				}
			}
			if _, err := keypair.ParseAddress(id); err != nil {
				return usageError{fmt.Errorf("%q is not an account (G...), issuer or distribution", id)}
			}
			a, err := horizon.New(cfg.HorizonURL, cfg.HorizonTimeout).Account(cmd.Context(), id)
			if errors.Is(err, horizon.ErrNotFound) {
				return fmt.Errorf("account %s does not exist on the network", id)
			}
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(f.IO.Out, views.NewAccount(a))
			}
			w := f.IO.Out
			fmt.Fprintf(w, "account:     %s\nsequence:    %d\nhome domain: %s\nthresholds:  low %d, medium %d, high %d\nflags:       auth_required=%v auth_revocable=%v\n",
				a.ID, a.Sequence, a.HomeDomain, a.Thresholds.LowThreshold, a.Thresholds.MedThreshold, a.Thresholds.HighThreshold, a.Flags.AuthRequired, a.Flags.AuthRevocable)
			fmt.Fprintln(w, "balances:")
			for _, b := range a.Balances {
				asset := "XLM"
				if b.Asset.Type != "native" {
					asset = b.Asset.Code + ":" + b.Asset.Issuer
				}
				line := fmt.Sprintf("  %-70s %s", asset, b.Balance)
				if b.Limit != "" {
					auth := true
					if b.IsAuthorized != nil {
						auth = *b.IsAuthorized
					}
					line += fmt.Sprintf("  (limit %s, authorized=%v)", b.Limit, auth)
				}
				fmt.Fprintln(w, line)
			}
			fmt.Fprintln(w, "signers:")
			for _, s := range a.Signers {
				fmt.Fprintf(w, "  %s weight %d\n", s.Key, s.Weight)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newAccountHomeDomainCmd(f *Factory) *cobra.Command {
	var r admin.ActionRequest
	var force bool
	var ox offline
	cmd := &cobra.Command{
		Use:   "set-home-domain [--domain D] [--asset CODE] [--ref REF] [--force] [--xdr-out FILE] [--key-prompt]",
		Short: "Check that a domain's stellar.toml lists the issuer, then set it as the issuer's home domain",
		Long: `Fetch the stellar.toml served at the domain and refuse, unless --force, when it cannot be read
or its CURRENCIES do not list the issuer (wallets would then find no trustworthy description of
the asset). Then set the issuer account's home domain (set_options, signed with issuer_secret,
exactly once per --ref). The domain defaults to home_domain.`,
		Example: "  anchor account set-home-domain --domain anchor.example.com",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return err
			}
			if err := dryRunAlone(r.DryRun, true, ox.out, ox.prompt); err != nil {
				return err
			}
			return ox.check(cmd)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config(nil)
			if err != nil {
				return err
			}
			if err := ox.checkMax(cfg.Treasury.MaxValidFor); err != nil {
				return err
			}
			if r.Domain == "" {
				r.Domain = cfg.HomeDomain
			}
			r.Kind = "home-domain"
			issuer := cfg.Assets[0].Issuer
			for _, a := range cfg.Assets {
				if r.Asset == "" || a.Code == r.Asset {
					issuer = a.Issuer
					break
				}
			}
			if msg := checkTOMLListsIssuer(cmd.Context(), r.Domain, issuer); msg != "" {
				if !force {
					return fmt.Errorf("%s; nothing was changed (use --force to set it anyway)", msg)
				}
				fmt.Fprintln(f.IO.ErrOut, "warning: "+msg+"; setting it anyway (--force)")
			}
			c, closeFn, err := f.crediter(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			op, err := runAction(cmd.Context(), f, c, r, "issuer", reviewer(""), ox)
			if err != nil || op == nil {
				return err
			}
			if ox.out != "" || op.AlreadyDone || op.DryRun {
				return reportOp(f, "home domain", op, ox.out)
			}
			fmt.Fprintf(f.IO.Out, "home domain %s: %s %s\n", r.Domain, op.State, op.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&r.Domain, "domain", "", "home domain (default: home_domain)")
	cmd.Flags().StringVar(&r.Asset, "asset", "", "asset whose issuer to set (default: the first configured asset)")
	cmd.Flags().StringVar(&r.Ref, "ref", "", "reference that makes the change unique (default: the domain; a repeat of a confirmed change is refused without a new --ref)")
	ox.flags(cmd, "the change", "the issuer key")
	cmd.Flags().BoolVar(&r.DryRun, "dry-run", false, "check the domain and show the transaction that would be submitted, and do nothing")
	cmd.Flags().BoolVar(&force, "force", false, "set the domain even when its stellar.toml cannot be read or does not list the issuer")
	return cmd
}

// checkTOMLListsIssuer returns a warning when the domain's stellar.toml does not list issuer
// under [[CURRENCIES]], or cannot be read.
func checkTOMLListsIssuer(ctx context.Context, domain, issuer string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := stellartoml.Fetch(ctx, &http.Client{Timeout: 10 * time.Second}, domain)
	if err != nil {
		return "cannot read the stellar.toml of " + domain + ": " + err.Error()
	}
	t, err := stellartoml.Decode(got.Body)
	if err != nil {
		return "the stellar.toml of " + domain + " is not valid TOML"
	}
	if !slices.ContainsFunc(t.Currencies, func(c stellartoml.Currency) bool { return c.Issuer == issuer }) {
		return "the stellar.toml of " + domain + " does not list " + issuer + " under [[CURRENCIES]]"
	}
	return ""
}
