package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/views"
)

// withEvents runs fn on the running server's socket, or on the store when none runs.
func withEvents(ctx context.Context, f *Factory, fn func(admin.Events) error) error {
	return withEventsConfig(ctx, f, func(_ *config.Config, ev admin.Events) error { return fn(ev) })
}

// withEventsConfig is withEvents with the configuration read.
func withEventsConfig(ctx context.Context, f *Factory, fn func(*config.Config, admin.Events) error) error {
	cfg, c, st, err := f.reach(ctx)
	switch {
	case err != nil:
		return err
	case c != nil:
		return fn(cfg, admin.EventsClient{Client: c})
	}
	defer st.Close()
	return fn(cfg, st)
}

func eventLine(e events.Event) string {
	change := e.Status
	if e.PreviousStatus != "" {
		change = e.PreviousStatus + " -> " + e.Status
	}
	return fmt.Sprintf("%d\t%s\t%s\t#%d\t%s\t%s", e.ID, views.Time(e.At), e.Type, e.Seq, e.Subject, change)
}

func newEventsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Business events (transactions, customers, payments, treasury actions) and their webhooks",
		Long: `Every business-relevant change is an event, written with the change: a transaction created or
moved, a customer submitted or decided, a payment sent, received or unmatched, a treasury action
proposed, submitted, confirmed or failed. anchor serve delivers them to events.webhooks, signed
and in order per subject; a delivery that fails for events.retry_for is a dead letter, listed
with --failed and sent again with anchor events redeliver. docs/integration.md describes them.`,
	}
	var after uint64
	var limit int
	var failed, jsonOut bool
	list := &cobra.Command{
		Use:   "list [--after ID] [--limit N] [--failed] [--json]",
		Short: "List events in the order they were committed, or the dead letters",
		Args: withChecks(cobra.NoArgs, func() error {
			if limit < 1 || limit > 1000 {
				return usageError{fmt.Errorf("--limit %d: give 1 to 1000", limit)}
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEvents(cmd.Context(), f, func(ev admin.Events) error {
				if failed {
					ds, err := ev.FailedDeliveries(cmd.Context())
					if err != nil {
						return err
					}
					return printRows(f, jsonOut, ds, "No dead letters.", "EVENT\tWEBHOOK\tSUBJECT\tATTEMPTS\tLAST ERROR", func(d events.Delivery) string {
						return fmt.Sprintf("%d\t%s\t%s\t%d\t%s", d.EventID, d.Endpoint, d.Subject, d.Attempt, d.LastError)
					})
				}
				evs, err := ev.EventsAfter(cmd.Context(), after, limit)
				if err != nil {
					return err
				}
				if jsonOut {
					if evs == nil {
						evs = []events.Event{}
					}
					return writeJSON(f.IO.Out, evs)
				}
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tAT\tTYPE\tSEQ\tSUBJECT\tSTATUS")
				for _, e := range evs {
					fmt.Fprintln(tw, eventLine(e))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().Uint64Var(&after, "after", 0, "only events after this id")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many (at most 1000)")
	list.Flags().BoolVar(&failed, "failed", false, "list the dead letters instead")
	list.Flags().BoolVar(&jsonOut, "json", false, "print JSON (events as delivered)")

	var all bool
	redeliver := &cobra.Command{
		Use:   "redeliver EVENT_ID | --failed",
		Short: "Send an event again, delivered or not, or every dead letter",
		Long: `Send an event again: its dead letters, and a new delivery to each configured webhook that
takes its type and has already sent it (receivers drop the second copy by its id). A webhook
still to send it, or retrying it, is left as it is. With --failed, every dead letter.`,
		Example: "  anchor events list --failed\n  anchor events redeliver 1234\n  anchor events redeliver --failed",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id uint64
			switch {
			case all && len(args) == 0:
			case !all && len(args) == 1:
				n, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil || n == 0 {
					return usageError{fmt.Errorf("%q is not an event id", args[0])}
				}
				id = n
			default:
				return usageError{fmt.Errorf("give an event id, or --failed for every dead letter")}
			}
			return withEvents(cmd.Context(), f, func(ev admin.Events) error {
				n, err := ev.Redeliver(cmd.Context(), id, time.Now())
				if errors.Is(err, fault.ErrNotFound) {
					return fmt.Errorf("event %d is not in the event log (anchor events list)", id)
				}
				if err != nil {
					return err
				}
				switch {
				case n == 0 && id == 0:
					return fmt.Errorf("no dead letter to send again (anchor events list --failed)")
				case n == 0:
					return fmt.Errorf("event %d: no configured webhook that takes it has sent it yet, or its delivery is waiting (anchor events webhooks)", id)
				}
				what := "deliveries"
				if n == 1 {
					what = "delivery"
				}
				fmt.Fprintf(f.IO.Out, "Queued %d %s again.\n", n, what)
				return nil
			})
		},
	}
	redeliver.Flags().BoolVar(&all, "failed", false, "every dead letter")

	var tailAfter uint64
	var tailJSON bool
	tail := &cobra.Command{
		Use:   "tail [--after ID] [--json]",
		Short: "Print events as they happen, until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withEvents(ctx, f, func(ev admin.Events) error {
				next := tailAfter
				if next == 0 {
					// From now: skip what is already there.
					for {
						evs, err := ev.EventsAfter(ctx, next, 1000)
						if err != nil {
							return err
						}
						if len(evs) == 0 {
							break
						}
						next = evs[len(evs)-1].ID
					}
				}
				enc := json.NewEncoder(f.IO.Out)
				for {
					evs, err := ev.EventsAfter(ctx, next, 1000)
					if err != nil {
						if ctx.Err() != nil {
							return nil
						}
						return err
					}
					for _, e := range evs {
						if tailJSON {
							enc.Encode(e)
						} else {
							fmt.Fprintln(f.IO.Out, eventLine(e))
						}
						next = e.ID
					}
					if len(evs) == 0 {
						select {
						case <-ctx.Done():
							return nil
						case <-time.After(500 * time.Millisecond):
						}
					}
				}
			})
		},
	}
	tail.Flags().Uint64Var(&tailAfter, "after", 0, "start after this event id (default: from now)")
	tail.Flags().BoolVar(&tailJSON, "json", false, "one JSON event per line")
	var hooksJSON bool
	hooks := &cobra.Command{
		Use:   "webhooks [--json]",
		Short: "Each configured webhook's backlog: events not yet sent, since when, deliveries retrying, dead letters",
		Long: `Each webhook in events.webhooks and how far it is behind: the events its feed has yet to send
and how old the oldest of them is (a feed runs in anchor serve; one that falls behind means
no server runs it, or it cannot read the store), its deliveries retrying after a failed POST
(the receiver is down or refuses), and its dead letters (anchor events list --failed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEventsConfig(cmd.Context(), f, func(cfg *config.Config, ev admin.Events) error {
				out := []views.Webhook{}
				for _, w := range cfg.Events.Webhooks {
					st, err := ev.FeedStats(cmd.Context(), w.Name)
					if err != nil {
						return err
					}
					out = append(out, views.NewWebhook(w.Name, st.Behind, st.Oldest, st.Retrying, st.Dead))
				}
				return printRows(f, hooksJSON, out, "No webhooks configured (events.webhooks).", "WEBHOOK\tNOT SENT\tOLDEST NOT SENT\tRETRYING\tDEAD", func(w views.Webhook) string {
					oldest := "-"
					if w.OldestNotSent != nil {
						oldest = *w.OldestNotSent
						if at, err := time.Parse(time.RFC3339, oldest); err == nil {
							oldest += " (" + time.Since(at).Round(time.Second).String() + " ago)"
						}
					}
					return fmt.Sprintf("%s\t%d\t%s\t%d\t%d", w.Webhook, w.NotSent, oldest, w.Retrying, w.Dead)
				})
			})
		},
	}
	hooks.Flags().BoolVar(&hooksJSON, "json", false, "print JSON")
	cmd.AddCommand(list, redeliver, tail, hooks)
	return cmd
}
