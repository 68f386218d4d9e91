package server

import (
	"net/http/httptest"
	"testing"
)

// TestIsWrite: the requests write_rate_limit counts per account: every one that creates or
// changes something (SEP-6 deposits and withdrawals, exchanges included, SEP-24's interactive
// starts, SEP-38 firm quotes, SEP-12 writes), and no read.
func TestIsWrite(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		write        bool
	}{
		{"GET", "/sep6/deposit", true},
		{"GET", "/sep6/withdraw", true},
		{"GET", "/sep6/deposit-exchange", true},
		{"GET", "/sep6/withdraw-exchange", true},
		{"GET", "/sep6/info", false},
		{"GET", "/sep6/transactions", false},
		{"GET", "/sep6/transaction", false},
		{"POST", "/sep24/transactions/deposit/interactive", true},
		{"POST", "/sep24/transactions/withdraw/interactive", true},
		{"GET", "/sep24/transaction", false},
		{"POST", "/sep38/quote", true},
		{"GET", "/sep38/prices", false},
		{"GET", "/sep38/quote/7c1e", false},
		{"PUT", "/kyc/customer", true},
		{"DELETE", "/kyc/customer/GABC", true},
		{"POST", "/kyc/customer/files", true},
		{"GET", "/kyc/customer", false},
	} {
		if got := isWrite(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.write {
			t.Errorf("%s %s: write %v, want %v", tc.method, tc.path, got, tc.write)
		}
	}
}
