package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/views"
)

// keysBackend opens what the apikey commands work on: the running server's socket (which only
// the server's OS user and root may use for keys), else the store.
func (f *Factory) keysBackend(ctx context.Context) (admin.Keys, func() error, error) {
	_, c, st, err := f.reach(ctx)
	switch {
	case err != nil:
		return nil, nil, err
	case c != nil:
		return admin.KeysClient{Client: c}, func() error { return nil }, nil
	}
	return &apikey.Service{Store: st}, st.Close, nil
}

func withKeys(ctx context.Context, f *Factory, fn func(admin.Keys) error) error {
	k, closeFn, err := f.keysBackend(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(k)
}

// parseLifetime reads --expires: a Go duration (2160h) or a number of days (90d).
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, usageError{fmt.Errorf("--expires %q: give days (90d, at most 3650d) or a duration (36h)", s)}
}

func newAPIKeyCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Keys of the operator API (operator_listen): create, list, revoke",
		Long: `The operator API (docs/integration.md) takes API keys: Authorization: Bearer KEY. Each key has
one role: compliance (KYC decisions), treasury (moves money), operator (moves transactions,
backups) or read-only; every key reads. A key is shown once, when created: anchor keeps only a
hash of it. Calls made with a key are in the audit trail as apikey:NAME.

Keys are managed here, by the server's own OS user or root (through the running server's
socket, or on the store when no server runs); a key never manages keys.`,
	}
	var name, role, expires, by string
	var jsonOut bool
	create := &cobra.Command{
		Use:   "create --name NAME --role compliance|treasury|operator|read-only [--expires 90d]",
		Short: "Create a key and print it, once",
		Long: `Create a key and print it on stdout, alone on its line (what it is and how to use it go to
stderr), so that a script can take it: KEY=$(anchor apikey create --name bank --role treasury).
It is never shown again. A name is unique among the active keys (revoke the old key to reuse
it). --expires limits its life (90d, 36h); without it the key lives until revoked.`,
		Example: "  anchor apikey create --name bank-integration --role treasury --expires 90d\n  anchor apikey create --name dashboard --role read-only",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ttl, err := parseLifetime(expires)
			if err != nil {
				return err
			}
			if !strings.Contains(" compliance treasury operator read-only ", " "+role+" ") {
				return usageError{fmt.Errorf("--role %q: give compliance, treasury, operator or read-only", role)}
			}
			return withKeys(cmd.Context(), f, func(k admin.Keys) error {
				c, err := k.Create(cmd.Context(), name, apikey.Role(role), ttl, reviewer(by))
				if err != nil {
					return err
				}
				if jsonOut {
					return writeJSON(f.IO.Out, struct {
						views.APIKey
						Secret string `json:"secret"`
					}{views.NewAPIKey(&c.Key, time.Now()), c.Secret})
				}
				exp := "never expires"
				if !c.ExpiresAt.IsZero() {
					exp = "expires " + views.Time(c.ExpiresAt)
				}
				fmt.Fprintf(f.IO.ErrOut, "Created API key %q (%s, id %s, %s). It is shown only this once; anchor keeps a hash.\n", c.Name, c.Role, c.ID, exp)
				fmt.Fprintln(f.IO.Out, c.Secret)
				fmt.Fprintln(f.IO.ErrOut, "Give it as: Authorization: Bearer KEY   (revoke it with: anchor apikey revoke "+c.Name+")")
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "the key's name, shown in the audit trail as apikey:NAME (required)")
	create.Flags().StringVar(&role, "role", "", "compliance, treasury, operator or read-only (required)")
	create.Flags().StringVar(&expires, "expires", "", "lifetime: days (90d) or a duration (36h); default until revoked")
	create.Flags().StringVar(&by, "by", "", byHelp)
	create.Flags().BoolVar(&jsonOut, "json", false, "print the key as JSON (with its secret)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("role")
	_ = create.RegisterFlagCompletionFunc("role", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"compliance", "treasury", "operator", "read-only"}, cobra.ShellCompDirectiveNoFileComp
	})

	var listJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the keys, active ones first (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withKeys(cmd.Context(), f, func(k admin.Keys) error {
				keys, err := k.List(cmd.Context())
				if err != nil {
					return err
				}
				now := time.Now()
				out := make([]views.APIKey, 0, len(keys))
				for i := range keys {
					out = append(out, views.NewAPIKey(&keys[i], now))
				}
				return printRows(f, listJSON, out, "No API keys (anchor apikey create --name NAME --role ROLE).", "NAME\tROLE\tSTATE\tID\tCREATED\tEXPIRES", func(v views.APIKey) string {
					exp := "-"
					if v.ExpiresAt != nil {
						exp = *v.ExpiresAt
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", v.Name, v.Role, v.State, v.ID, v.CreatedAt, exp)
				})
			})
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print an array of keys as JSON")

	var revokeBy string
	revoke := &cobra.Command{
		Use:     "revoke NAME|ID",
		Short:   "Revoke a key at once: its next call is refused",
		Example: "  anchor apikey revoke bank-integration",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withKeys(cmd.Context(), f, func(k admin.Keys) error {
				key, err := k.Revoke(cmd.Context(), args[0], reviewer(revokeBy))
				if errors.Is(err, apikey.ErrNotFound) || errors.Is(err, kyc.ErrNotFound) {
					return fmt.Errorf("no active API key is named %q (nor has that id): anchor apikey list", args[0])
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "Revoked API key %q (%s, id %s).\n", key.Name, key.Role, key.ID)
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&revokeBy, "by", "", byHelp)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
