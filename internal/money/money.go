// Package money parses and formats decimal amounts as int64 stroops (7 places), with one grammar
// for everything: configuration (limits, fees, percentages) and requests alike, so that a value
// accepted at start-up is never refused later.
package money

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stellar/go-stellar-sdk/amount"
)

// Parse reads a non-negative decimal with at most 7 places ("10", "0.5", "1.2500000") into
// stroops. Signs, exponents, fractions, spaces and more than 7 places are refused.
func Parse(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	dot, places := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if dot {
				places++
			}
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return 0, fmt.Errorf("%q is not a decimal number (digits with an optional point)", s)
		}
	}
	if places > 7 {
		return 0, fmt.Errorf("%q has more than 7 decimal places", s)
	}
	v, err := amount.ParseInt64(s)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v, nil
}

// Format renders stroops as a decimal string with 7 places.
func Format(v int64) string { return amount.StringFromInt64(v) }

// JSONNumber renders an exact decimal string as a JSON number, without trailing zeros (never
// through float64); "" stays empty (omitted with omitempty).
func JSONNumber(s string) json.Number {
	if s == "" {
		return ""
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}

// Decimals counts the places of a decimal string that matter (trailing zeros do not).
func Decimals(s string) int {
	_, frac, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	return len(strings.TrimRight(frac, "0"))
}
