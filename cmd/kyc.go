package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/anchorkit/anchor/internal/admin"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/iostreams"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/store"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/views"
)

// backends opens what operator commands work on: the running server's admin API when one
// answers on the data dir's socket, else the store itself (KYC decisions and transaction moves
// made that way queue their callbacks for the next server start). close releases it.
func (f *Factory) backends(ctx context.Context) (admin.KYC, admin.Transfers, func() error, error) {
	cfg, c, st, err := f.reach(ctx)
	switch {
	case err != nil:
		return nil, nil, nil, err
	case c != nil:
		return c, c, func() error { return nil }, nil
	}
	k := &kyc.Service{Store: st, Config: cfg.KYC}
	return k, &transfer.Service{Store: st, Config: cfg, KYC: k, Quotes: quotes.ForConfig(cfg, st)}, st.Close, nil
}

// reach returns the running server's admin client when one answers on the data dir's socket,
// else the store, opened (the caller closes it).
func (f *Factory) reach(ctx context.Context) (*config.Config, *admin.Client, store.Backend, error) {
	cfg, err := f.Config(nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if c := admin.Dial(ctx, admin.SocketPath(cfg.DataDir)); c != nil {
		return cfg, c, nil, nil
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, nil, nil, fmt.Errorf("anchor serve holds %s but its admin socket does not answer; is it still starting?", cfg.DataDir)
		}
		return nil, nil, nil, err
	}
	return cfg, nil, st, nil
}

// KYCBackend opens what compliance commands work on (see backends).
func (f *Factory) KYCBackend(ctx context.Context) (admin.KYC, func() error, error) {
	k, _, closeFn, err := f.backends(ctx)
	return k, closeFn, err
}

// TransfersBackend opens what transaction commands work on (see backends).
func (f *Factory) TransfersBackend(ctx context.Context) (admin.Transfers, func() error, error) {
	_, t, closeFn, err := f.backends(ctx)
	return t, closeFn, err
}

// KYCOptions are shared by the kyc commands.
type KYCOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (admin.KYC, func() error, error)
	JSON    bool
}

func newKYCCmd(f *Factory) *cobra.Command {
	opts := &KYCOptions{IO: f.IO, Backend: f.KYCBackend}
	cmd := &cobra.Command{
		Use:   "kyc",
		Short: "Review SEP-12 customers: list, show, approve, reject, request information",
		Long: `Review customers who submitted KYC through SEP-12. These commands work while anchor serve
runs (through its admin socket in the data dir) and when it does not (on the database directly).
Every decision is recorded in the customer's append-only audit trail.`,
	}
	cmd.AddCommand(newKYCListCmd(opts), newKYCShowCmd(opts), newKYCApproveCmd(opts), newKYCRejectCmd(opts), newKYCRequestInfoCmd(opts))
	return cmd
}

func withBackend(ctx context.Context, opts *KYCOptions, fn func(admin.KYC) error) error {
	b, closeFn, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	err = fn(b)
	if errors.Is(err, kyc.ErrNotFound) {
		return errors.New("customer not found")
	}
	return err
}

// withCustomerID runs fn with the customer id that arg (a whole id or a unique prefix) names.
func withCustomerID(ctx context.Context, opts *KYCOptions, arg string, fn func(admin.KYC, string) error) error {
	return withBackend(ctx, opts, func(b admin.KYC) error {
		id, err := b.ResolveCustomerID(ctx, arg)
		if err != nil {
			return err
		}
		return fn(b, id)
	})
}

func newKYCListCmd(opts *KYCOptions) *cobra.Command {
	var status, typ string
	var pg page
	cmd := &cobra.Command{
		Use:     "list [--status processing|accepted|rejected|needs_info] [--type T] [--limit N | --all] [--json]",
		Short:   "List customers, most recently updated first (the newest 50 unless --limit or --all)",
		Example: "  anchor kyc list --status processing\n  anchor kyc list --type sep6-withdraw --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st := kyc.Status(strings.ToUpper(status))
			switch st {
			case "", kyc.Processing, kyc.Accepted, kyc.Rejected, kyc.NeedsInfo:
			default:
				return usageError{fmt.Errorf("--status %q is not processing, accepted, rejected or needs_info", status)}
			}
			limit, err := pg.max()
			if err != nil {
				return err
			}
			return withBackend(cmd.Context(), opts, func(b admin.KYC) error {
				list, err := b.List(cmd.Context(), kyc.ListFilter{Status: st, Type: typ, Limit: limit})
				if err != nil {
					return err
				}
				if opts.JSON {
					rows := make([]views.CustomerRow, 0, len(list))
					for _, s := range list {
						rows = append(rows, views.NewCustomerRow(s))
					}
					return writeJSON(opts.IO.Out, rows)
				}
				tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tACCOUNT\tMEMO\tTYPE\tSTATUS\tUPDATED")
				for _, s := range list {
					status := string(s.Status)
					if s.PreviouslyRejected {
						status += " (previously rejected)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, safe(s.Account), safe(s.Memo), safe(s.Type), status, views.Time(s.UpdatedAt))
				}
				tw.Flush()
				pageFooter(opts.IO.ErrOut, len(list), limit, "customer")
				return nil
			})
		},
	}
	addPageFlags(cmd, &pg, "customer")
	cmd.Flags().StringVar(&status, "status", "", "only customers in this status")
	cmd.Flags().StringVar(&typ, "type", "", "only customers of this type")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func newKYCShowCmd(opts *KYCOptions) *cobra.Command {
	var saveDir string
	cmd := &cobra.Command{
		Use:     "show ID [--json] [--save-files DIR]",
		Short:   "Show a customer: fields, files and the audit trail",
		Example: "  anchor kyc show 0b8f...\n  anchor kyc show 0b8f... --save-files ./review",
		Args:    idArg("customer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCustomerID(cmd.Context(), opts, args[0], func(b admin.KYC, id string) error {
				d, err := b.Show(cmd.Context(), id)
				if err != nil {
					return err
				}
				if saveDir != "" {
					if err := saveFiles(cmd.Context(), opts, b, d, saveDir); err != nil {
						return err
					}
				}
				if opts.JSON {
					return writeJSON(opts.IO.Out, views.NewCustomer(d))
				}
				printDetail(opts, d)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&saveDir, "save-files", "", "write the customer's files into DIR (mode 0600)")
	return cmd
}

func printDetail(opts *KYCOptions, d *kyc.Detail) {
	c := d.Customer
	w := opts.IO.Out
	if c == nil && d.Erased != nil {
		e := d.Erased
		fmt.Fprintf(w, "id:       %s (erased %s; its rejection is kept)\naccount:  %s\n", e.CustomerID, e.ErasedAt.Format("2006-01-02 15:04:05Z07:00"), safe(e.Account))
		if e.Memo != "" {
			fmt.Fprintf(w, "memo:     %s\n", safe(e.Memo))
		}
		fmt.Fprintf(w, "status:   %s %s by %s (%s)\n", e.Decision, e.DecidedAt.Format("2006-01-02 15:04:05Z07:00"), safe(e.By), safe(e.Reason))
		printHistory(w, d.History)
		return
	}
	fmt.Fprintf(w, "id:       %s\naccount:  %s\n", c.ID, safe(c.Account))
	if pr := c.PreviouslyRejected; pr != nil {
		fmt.Fprintf(w, "WARNING:  this account and memo belonged to customer %s, rejected %s by %s (%s) and erased; not auto-approved\n",
			pr.CustomerID, pr.DecidedAt.Format("2006-01-02"), safe(pr.By), safe(pr.Reason))
	}
	if c.Memo != "" {
		fmt.Fprintf(w, "memo:     %s\n", safe(c.Memo))
	}
	fmt.Fprintf(w, "type:     %s\nstatus:   %s\n", safe(c.Type), d.Status)
	if c.Message != "" {
		fmt.Fprintf(w, "message:  %s\n", safe(c.Message))
	}
	if c.CallbackURL != "" {
		fmt.Fprintf(w, "callback: %s\n", safe(c.CallbackURL))
	}
	fmt.Fprintf(w, "created:  %s\nupdated:  %s\n\nfields:\n", c.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), c.UpdatedAt.Format("2006-01-02 15:04:05Z07:00"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, name := range sortedFieldNames(c) {
		st := c.Fields[name]
		val := c.Values[name]
		if fid, ok := c.Files[name]; ok {
			val = "(file " + fid + ")"
		}
		extra := ""
		if st.Error != "" {
			extra = " — " + safe(st.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", safe(name), safe(val), st.Status, extra)
	}
	tw.Flush()
	if len(d.Files) > 0 {
		fmt.Fprintln(w, "\nfiles:")
		for _, f := range d.Files {
			fmt.Fprintf(w, "  %s  %s  %s  %d bytes  sha256 %s\n", f.ID, safe(f.Field), safe(f.ContentType), f.Size, f.SHA256)
		}
	}
	printHistory(w, d.History)
}

func printHistory(w io.Writer, history []kyc.Event) {
	fmt.Fprintln(w, "\nhistory:")
	for _, e := range history {
		line := fmt.Sprintf("  %s  %-14s by %s", e.At.Format("2006-01-02 15:04:05Z07:00"), e.Action, safe(e.By))
		if e.Field != "" {
			line += "  fields=" + safe(e.Field)
		}
		if e.Status != "" {
			line += "  → " + string(e.Status)
		}
		if e.Reason != "" {
			line += "  (" + safe(e.Reason) + ")"
		}
		fmt.Fprintln(w, line)
	}
}

func sortedFieldNames(c *kyc.Customer) []string { return slices.Sorted(maps.Keys(c.Fields)) }

func saveFiles(ctx context.Context, opts *KYCOptions, b admin.KYC, d *kyc.Detail, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range d.Files {
		meta, data, err := b.FileData(ctx, f.ID)
		if err != nil {
			return err
		}
		ext := ""
		if exts, _ := mime.ExtensionsByType(meta.ContentType); len(exts) > 0 {
			ext = exts[len(exts)-1]
		}
		name := filepath.Join(dir, strings.ReplaceAll(meta.Field, ".", "_")+"-"+meta.ID+ext)
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "Wrote %s\n", name)
	}
	return nil
}

// reviewer is --by, or the OS user.
// reviewer is the actor a command run on the store records: the OS user running it, with
// --by kept as a note (through a running server, the server reads the OS user from the socket).
func reviewer(by string) string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "uid " + strconv.Itoa(os.Getuid())
	}
	return admin.ActorNote(name, by)
}

func decide(cmd *cobra.Command, opts *KYCOptions, arg string, d kyc.Decision) error {
	return withCustomerID(cmd.Context(), opts, arg, func(b admin.KYC, id string) error {
		st, err := b.Decide(cmd.Context(), id, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "customer %s: %s\n", id, st)
		return nil
	})
}

func newKYCApproveCmd(opts *KYCOptions) *cobra.Command {
	var note, by string
	cmd := &cobra.Command{
		Use:     "approve ID [--note TEXT] [--by NAME]",
		Short:   "Accept every field under review; the customer becomes ACCEPTED",
		Example: "  anchor kyc approve 0b8f... --note \"passport checked\"",
		Args:    idArg("customer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return decide(cmd, opts, args[0], kyc.Decision{Action: kyc.ActionApprove, By: reviewer(by), Reason: note})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "note for the audit trail")
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	return cmd
}

func newKYCRejectCmd(opts *KYCOptions) *cobra.Command {
	var reason, by string
	cmd := &cobra.Command{
		Use:     "reject ID --reason TEXT [--by NAME]",
		Short:   "Reject the customer (REJECTED); the reason is shown to the wallet",
		Example: "  anchor kyc reject 0b8f... --reason \"on a sanctions list\"",
		Args:    idArg("customer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return decide(cmd, opts, args[0], kyc.Decision{Action: kyc.ActionReject, By: reviewer(by), Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; the wallet sees it)")
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newKYCRequestInfoCmd(opts *KYCOptions) *cobra.Command {
	var field, reason, by string
	cmd := &cobra.Command{
		Use:     "request-info ID --field NAME --reason TEXT [--by NAME]",
		Short:   "Mark a field REJECTED and the customer NEEDS_INFO, so the wallet sends it again",
		Example: "  anchor kyc request-info 0b8f... --field photo_id_front --reason \"photo is blurred\"",
		Args:    idArg("customer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return decide(cmd, opts, args[0], kyc.Decision{Action: kyc.ActionRequestInfo, By: reviewer(by), Field: field, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&field, "field", "", "SEP-9 field to ask for again (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "what is wrong (required; the wallet sees it)")
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	_ = cmd.MarkFlagRequired("field")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}
