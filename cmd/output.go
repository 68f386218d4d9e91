package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// jsonArray writes a JSON array one element at a time, exactly as writeJSON writes a slice, so
// an export of any size is never held whole.
type jsonArray struct {
	w   io.Writer
	n   int
	err error
}

func (a *jsonArray) add(v any) error {
	if a.err != nil {
		return a.err
	}
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		a.err = err
		return err
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	_, a.err = fmt.Fprintf(a.w, "%s%s", sep, b)
	return a.err
}

func (a *jsonArray) close() error {
	if a.err != nil {
		return a.err
	}
	if a.n == 0 {
		_, err := io.WriteString(a.w, "[]\n")
		return err
	}
	_, err := io.WriteString(a.w, "\n]\n")
	return err
}

// writeJSON prints v as indented JSON: every --json output is a view of internal/views.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRows prints rows as JSON (asJSON), else as a table under header, one line each, or, when
// there are none, says empty on stderr.
func printRows[T any](f *Factory, asJSON bool, rows []T, empty, header string, line func(T) string) error {
	if asJSON {
		return writeJSON(f.IO.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(f.IO.ErrOut, empty)
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, line(r))
	}
	return tw.Flush()
}

// page is the --limit N | --all pair of the list commands: the newest 50 rows by default.
type page struct {
	limit int
	all   bool
}

func addPageFlags(cmd *cobra.Command, p *page, rows string) {
	p.limit = 50
	cmd.Flags().IntVar(&p.limit, "limit", p.limit, "show at most this many")
	cmd.Flags().BoolVar(&p.all, "all", false, "show every matching "+rows)
}

// max is the number of rows to read (0: all), or a usage error for a limit below 1.
func (p page) max() (int, error) {
	if p.limit < 1 {
		return 0, usageError{fmt.Errorf("--limit %d: give a positive number, or --all", p.limit)}
	}
	if p.all {
		return 0, nil
	}
	return p.limit, nil
}

// byHelp describes --by: who is recorded is the OS user (read from the admin socket's peer
// credentials by a running server); --by adds a note to it.
const byHelp = "a note recorded with your OS user in the audit trail, e.g. your full name (who is recorded is the OS user, never this text)"

// offline are the flags of a command whose transaction may be signed elsewhere: --xdr-out FILE
// (prepare, unsigned unless --sign, valid for --valid-for), or --key-prompt (sign here with a
// typed key).
type offline struct {
	out      string
	prompt   bool
	sign     bool
	validFor time.Duration
}

func (o *offline) flags(cmd *cobra.Command, what, keyHelp string) {
	cmd.Flags().StringVar(&o.out, "xdr-out", "", "prepare "+what+" and write its envelope to FILE instead of submitting (sign it with anchor sign FILE, then anchor submit FILE)")
	cmd.Flags().BoolVar(&o.prompt, "key-prompt", false, "sign with "+keyHelp+" typed at a hidden prompt instead of the configured secret")
	cmd.Flags().BoolVar(&o.sign, "sign", false, "with --xdr-out: add the configured key's signature (default: the envelope is written unsigned)")
	cmd.Flags().DurationVar(&o.validFor, "valid-for", 24*time.Hour, "with --xdr-out: how long the envelope stays valid for its signers (at most treasury.max_valid_for)")
}

// check refuses flag combinations that mean nothing (usage errors, exit 2).
func (o *offline) check(cmd *cobra.Command) error {
	switch {
	case o.out == "" && cmd.Flags().Changed("valid-for"):
		return usageError{errors.New("--valid-for applies to an envelope prepared with --xdr-out")}
	case o.out == "" && o.sign:
		return usageError{errors.New("--sign applies to an envelope prepared with --xdr-out")}
	case o.out != "" && o.prompt:
		return usageError{errors.New("--xdr-out prepares the envelope for signing elsewhere; --key-prompt signs it here: choose one")}
	case o.validFor <= 0:
		return usageError{fmt.Errorf("--valid-for %s: give a positive duration such as 24h", o.validFor)}
	}
	return nil
}

// checkMax refuses a --valid-for beyond the configured bound.
func (o *offline) checkMax(max time.Duration) error {
	if o.out != "" && max > 0 && o.validFor > max {
		return usageError{fmt.Errorf("--valid-for %s is longer than treasury.max_valid_for (%s)", o.validFor, max)}
	}
	return nil
}

// pageFooter says on standard error how many rows a list printed, and, when the page is full,
// that more may exist.
func pageFooter(w io.Writer, n, limit int, noun string) {
	more := ""
	if limit > 0 && n == limit {
		more = " (the newest; --limit N or --all for more)"
	}
	fmt.Fprintf(w, "%d %s(s)%s\n", n, noun, more)
}
