package cmd

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon/standin"
	"github.com/anchorkit/anchor/internal/transfer"
)

// newDevHorizonCmd is anchor dev horizon: the loopback Horizon stand-in, funded for the
// configured anchor with --fund.
func newDevHorizonCmd(f *Factory) *cobra.Command {
	var listen, passphrase, mint string
	var fund bool
	cmd := &cobra.Command{
		Use:   "horizon [--listen 127.0.0.1:8001]",
		Short: "Run the loopback Horizon stand-in, to try the whole flow offline",
		Long: `Run anchor's Horizon stand-in: an in-memory ledger that checks and applies the transactions
anchor sends, with friendbot. Point horizon_url at it (ANCHOR_HORIZON_URL=http://127.0.0.1:8001).
Its ledger lives in memory and is gone when it stops.`,
		Example: "  anchor dev horizon --listen 127.0.0.1:8001",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			var cfg *config.Config
			if fund {
				// Read the config first: a bad one fails before anything listens.
				if cfg, err = f.Config(nil); err != nil {
					ln.Close()
					return err
				}
				passphrase = cfg.NetworkPassphrase
				if _, err := transfer.ParseAmount(mint); err != nil {
					ln.Close()
					return usageError{fmt.Errorf("--mint: %w", err)}
				}
			}
			s := standin.NewWithOptions(standin.Options{Listener: ln, Passphrase: passphrase})
			defer s.Close()
			if fund {
				if err := fundAnchor(s.URL(), cfg, mint); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.ErrOut, "Funded the issuer and distribution accounts; the distribution holds %s of each asset\n", mint)
			}
			fmt.Fprintf(f.IO.ErrOut, "Horizon stand-in on %s (friendbot: %s/friendbot?addr=G...)\n", s.URL(), s.URL())
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8001", "address to listen on")
	cmd.Flags().BoolVar(&fund, "fund", false, "create the configured issuer and distribution accounts, with a trustline and --mint tokens of each asset (signs with issuer_secret and distribution_secret)")
	cmd.Flags().StringVar(&mint, "mint", "1000000", "tokens of each asset the issuer pays the distribution account with --fund")
	cmd.Flags().StringVar(&passphrase, "network-passphrase", config.Networks["testnet"], "network passphrase the ledger signs for")
	return cmd
}

// fundAnchor sets a fresh stand-in up for the configured anchor, with real transactions (so that
// reconcile finds every movement): friendbot for the issuer and distribution accounts, then
// for each asset the distribution's trustline and a payment of mint from the issuer.
func fundAnchor(url string, cfg *config.Config, mint string) error {
	if !cfg.IssuerSecret.IsSet() || !cfg.DistributionSecret.IsSet() {
		return errors.New("--fund signs with issuer_secret and distribution_secret; set both")
	}
	issuer, err := keypair.ParseFull(cfg.IssuerSecret.Reveal())
	if err != nil {
		return errors.New("issuer_secret is not a valid secret seed")
	}
	dist, err := keypair.ParseFull(cfg.DistributionSecret.Reveal())
	if err != nil {
		return errors.New("distribution_secret is not a valid secret seed")
	}
	hc := &horizonclient.Client{HorizonURL: url, HTTP: http.DefaultClient}
	for _, kp := range []*keypair.Full{issuer, dist} {
		if _, err := hc.Fund(kp.Address()); err != nil {
			return fmt.Errorf("friendbot %s: %w", kp.Address(), err)
		}
	}
	submit := func(kp *keypair.Full, op txnbuild.Operation) error {
		acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: kp.Address()})
		if err != nil {
			return err
		}
		tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true,
			Operations: []txnbuild.Operation{op}, BaseFee: txnbuild.MinBaseFee, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimeout(60)}})
		if err == nil {
			tx, err = tx.Sign(cfg.NetworkPassphrase, kp)
		}
		if err == nil {
			_, err = hc.SubmitTransaction(tx)
		}
		return err
	}
	for _, a := range cfg.Assets {
		if a.Issuer != issuer.Address() || a.DistributionAccount != dist.Address() {
			return fmt.Errorf("asset %s: its issuer and distribution_account are not the accounts of issuer_secret and distribution_secret", a.Code)
		}
		asset := txnbuild.CreditAsset{Code: a.Code, Issuer: a.Issuer}
		line, err := asset.ToChangeTrustAsset()
		if err != nil {
			return err
		}
		if err := submit(dist, &txnbuild.ChangeTrust{Line: line, Limit: txnbuild.MaxTrustlineLimit}); err != nil {
			return fmt.Errorf("trustline for %s: %w", a.Code, err)
		}
		if err := submit(issuer, &txnbuild.Payment{Destination: dist.Address(), Amount: mint, Asset: asset}); err != nil {
			return fmt.Errorf("mint %s: %w", a.Code, err)
		}
	}
	return nil
}
