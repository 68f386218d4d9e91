package cmd

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
)

// completeLimit bounds the ids one completion offers; a longer prefix narrows them.
const completeLimit = 50

// completions adds shell completion (anchor completion bash|zsh|fish) of what operators type
// most: transaction ids (tx, deposit, withdraw, credit), customer ids (kyc), and the values of
// --status, --kind, --type and --asset. Ids come from the running server's admin socket, or
// from the store when no server runs; a completion that cannot read them offers nothing.
func completions(f *Factory, c *cobra.Command) {
	for _, sub := range c.Commands() {
		completions(f, sub)
	}
	group := ""
	if c.HasParent() {
		group = c.Parent().Name()
	}
	if words := strings.Fields(c.Use); len(words) > 1 && (words[1] == "ID" || words[1] == "DEPOSIT_ID") && c.ValidArgsFunction == nil {
		find := func(ctx context.Context, prefix string) ([]string, error) {
			b, closeFn, err := f.TransfersBackend(ctx)
			if err != nil {
				return nil, err
			}
			defer closeFn()
			return b.TransferIDs(ctx, prefix, completeLimit)
		}
		if group == "kyc" {
			find = func(ctx context.Context, prefix string) ([]string, error) {
				b, closeFn, err := f.KYCBackend(ctx)
				if err != nil {
					return nil, err
				}
				defer closeFn()
				return b.CustomerIDs(ctx, prefix, completeLimit)
			}
		}
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			ids, err := find(cmd.Context(), toComplete)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		}
	}
	values := map[string]func() []string{
		"kind": func() []string { return []string{string(transfer.Deposit), string(transfer.Withdrawal)} },
		"asset": func() []string {
			cfg, err := f.RawConfig(nil)
			if err != nil {
				return nil
			}
			var codes []string
			for _, a := range cfg.Assets {
				codes = append(codes, a.Code)
			}
			return codes
		},
		"status": func() []string {
			var out []string
			for _, s := range transfer.Statuses {
				out = append(out, string(s))
			}
			return out
		},
	}
	if group == "kyc" || c.Name() == "kyc" {
		values["status"] = func() []string {
			return []string{string(kyc.NeedsInfo), string(kyc.Processing), string(kyc.Accepted), string(kyc.Rejected)}
		}
		values["type"] = func() []string {
			cfg, err := f.RawConfig(nil)
			if err != nil {
				return nil
			}
			types := make([]string, 0, len(cfg.KYC.Types))
			for name := range cfg.KYC.Types {
				types = append(types, name)
			}
			slices.Sort(types)
			return types
		}
	}
	for name, list := range values {
		if c.LocalFlags().Lookup(name) == nil {
			continue
		}
		_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return list(), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// completeWith completes the first argument with the ids list returns (through the running
// server or the store), those that start with what is typed, at most completeLimit.
func completeWith(f *Factory, list func(context.Context, Crediter) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		err := withCrediter(cmd.Context(), f, func(c Crediter) error {
			ids, err := list(cmd.Context(), c)
			for _, id := range ids {
				if strings.HasPrefix(id, toComplete) && len(out) < completeLimit {
					out = append(out, id)
				}
			}
			return err
		})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
