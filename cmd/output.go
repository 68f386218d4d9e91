package cmd

import (
	"encoding/json"
	"fmt"
	"io"

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
