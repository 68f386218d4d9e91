package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/doctor"
	"github.com/anchorkit/anchor/internal/events"
)

func newDoctorCmd(f *Factory) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "doctor [--json]",
		Short: "Check the deployment from the outside and the inside: toml, endpoints, accounts, TLS, files, backups",
		Long: `Check what wallets see and what the operator keeps: the stellar.toml at the home domain
(reachable, valid, served with the right headers, equal to what this configuration generates,
SIGNING_KEY this server's), SEP-10 (a challenge verifies with the toml's key), SEP-6 and SEP-24
/info (every asset), SEP-38 (/info lists each off-chain asset, and /prices prices it), Horizon
(reachable, on the configured network, the clock near the last ledger close), the issuer
(exists, home_domain), each distribution account (trustline, treasury.low_balance, whether the
configured key can sign alone), the mode for a public domain, TLS (valid for the domain, not
expiring within 14 days), file modes (data dir, database, admin socket, secrets), the newest
backup in backup_dir, and each webhook's backlog (dead letters, deliveries retrying, a feed
behind). One line per check: ok, warn or fail with what to do. Exit 1 when a check fails.`,
		Example: "  anchor doctor\n  anchor doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config(nil)
			if err != nil {
				return err
			}
			d := &doctor.Doctor{Config: cfg}
			if len(cfg.Events.Webhooks) > 0 {
				// The webhooks' backlogs: through the running server, or the store.
				_, c, st, err := f.reach(cmd.Context())
				switch {
				case err != nil:
					d.Webhooks = func(context.Context, string) (events.FeedStats, error) { return events.FeedStats{}, err }
				case c != nil:
					d.Webhooks = admin.EventsClient{Client: c}.FeedStats
				default:
					defer st.Close()
					d.Webhooks = st.FeedStats
				}
			}
			results := d.Run(cmd.Context())
			failed := 0
			for _, r := range results {
				if r.Level == doctor.Fail {
					failed++
				}
			}
			if jsonOut {
				if err := writeJSON(f.IO.Out, results); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Level, r.Check, safe(r.Message))
				}
				tw.Flush()
			}
			if failed > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d check(s) failed", failed)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON (an array of {check, level, message})")
	return cmd
}
