package cmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

func newApproveCmd(f *Factory) *cobra.Command {
	var by string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "approve ACTION_ID",
		Short: "Approve a treasury action held by the two-person rule, and carry it out",
		Long: `A credit, payment, return or burn of more than treasury.approval_threshold of its asset is
stored as proposed, not signed. Another OS user approves it here (the proposer cannot, whatever
--by says; an expired proposal cannot be approved): it is then signed, stored and submitted
exactly once, like any treasury action. Running approve again after a timeout or a crash resumes
it. anchor approvals list shows what waits; a unique prefix of the action id is enough.
--dry-run checks that you may approve it and shows the transaction it would submit, recording
nothing.`,
		Example: "  anchor approvals list\n  anchor approve credit/7c1e4f2a-1b2c-4d3e-8f90-0123456789ab",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				op, err := c.Approve(cmd.Context(), args[0], reviewer(by), dryRun)
				if err != nil {
					return err
				}
				return reportOp(f, "approved", op, "")
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the approval and show the transaction it would submit; record nothing")
	cmd.ValidArgsFunction = completeWith(f, func(ctx context.Context, c Crediter) ([]string, error) {
		ps, err := c.Proposals(ctx)
		var ids []string
		for _, p := range ps {
			if p.State(time.Now()) == "proposed" {
				ids = append(ids, p.ID)
			}
		}
		return ids, err
	})
	return cmd
}

func newApprovalsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "approvals", Short: "Treasury actions held by the two-person rule"}
	var all, jsonOut bool
	list := &cobra.Command{
		Use:     "list [--all] [--json]",
		Short:   "List the actions waiting for a second person's approval (--all: approved and expired too)",
		Example: "  anchor approvals list\n  anchor approvals list --all --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCrediter(cmd.Context(), f, func(c Crediter) error {
				ps, err := c.Proposals(cmd.Context())
				if err != nil {
					return err
				}
				now := time.Now()
				rows := ps[:0:0]
				for _, p := range ps {
					if all || p.State(now) == "proposed" {
						rows = append(rows, p)
					}
				}
				if jsonOut {
					return writeJSON(f.IO.Out, views.NewProposals(rows, now))
				}
				printProposals(f, rows, now)
				return nil
			})
		},
	}
	list.Flags().BoolVar(&all, "all", false, "also approved and expired proposals")
	list.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

func printProposals(f *Factory, rows []treasury.Proposal, now time.Time) {
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tAMOUNT\tASSET\tPROPOSED_BY\tPROPOSED\tEXPIRES\tSTATE")
	for _, p := range rows {
		state := p.State(now)
		if p.ApprovedAt != nil {
			state += " by " + safe(p.ApprovedBy)
		}
		code, _, _ := strings.Cut(p.Asset, ":")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(p.ID), money.Format(p.Amount), safe(code), safe(p.ProposedBy),
			p.ProposedAt.UTC().Format(time.RFC3339), p.ExpiresAt.UTC().Format(time.RFC3339), state)
	}
	tw.Flush()
	fmt.Fprintf(f.IO.ErrOut, "%d proposal(s)\n", len(rows))
}
