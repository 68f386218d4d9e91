// Package ids resolves the ids operators type: a whole id, or any unique prefix of one (as the
// help examples show, "7c1e..."), for transactions, customers and actions alike.
package ids

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var full = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ErrAmbiguous is wrapped by the error of a prefix that names more than one id.
var ErrAmbiguous = errors.New("ambiguous id prefix")

// Resolve returns the id a whole id or a unique prefix names, with find listing ids by prefix;
// notFound when none matches, an ErrAmbiguous error listing the matches when several do.
func Resolve(ctx context.Context, arg string, find func(ctx context.Context, prefix string, limit int) ([]string, error), notFound error) (string, error) {
	arg = strings.TrimSuffix(strings.ToLower(arg), "...")
	if full.MatchString(arg) {
		return arg, nil
	}
	matches, err := find(ctx, arg, 6)
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", notFound
	case 1:
		return matches[0], nil
	}
	more := ""
	if len(matches) > 5 {
		matches, more = matches[:5], ", ..."
	}
	return "", fmt.Errorf("%w: %q matches %s%s; type more of it", ErrAmbiguous, arg, strings.Join(matches, ", "), more)
}
