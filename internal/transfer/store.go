package transfer

import (
	"context"
	"errors"
	"time"

	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/kyc"
)

// ErrNotFound: no such transaction (or not the caller's).
var ErrNotFound = fault.NotFound("transaction not found")

// ErrMemoTaken: a freshly drawn memo is already someone's (ClaimFreshMemo); draw another.
var ErrMemoTaken = errors.New("the memo is taken")

// Tx is what Service needs from the store inside one transaction.
type Tx interface {
	Get(id string) (*Transaction, error)
	// Put writes t and its indexes (owner and time, stellar and external ids).
	Put(t *Transaction) error
	ByStellarID(hash string) (string, error)
	ByExternalID(ref string) (string, error)
	// ReserveMemo claims a memo or reference in a namespace for txID; false if it is taken.
	ReserveMemo(namespace, memo, txID string) (bool, error)
	// ClaimFreshMemo claims a freshly drawn random memo for txID without waiting to learn
	// whether it was free: a taken one is ErrMemoTaken at once, or fails the whole store
	// transaction, which the store runs again (PostgreSQL: a round trip fewer per transaction
	// created). Never for a memo that may be taken in earnest (ReserveMemo).
	ClaimFreshMemo(namespace, memo, txID string) error
	// MemoOwner returns the transaction that reserved a memo (ErrNotFound if none).
	MemoOwner(namespace, memo string) (string, error)
	// Customer returns the SEP-12 customer of an owner (nil when there is none), so that a
	// compliance check and the move it allows happen in one store transaction.
	Customer(account, memo string) (*kyc.Customer, error)
	// OpenTransactions counts the unfinished transactions of an account (its G... account: all
	// memos and muxed ids together).
	OpenTransactions(account string) (int, error)
	// EnqueueCallback queues the transaction's on_change_callback (callback kind "tx").
	EnqueueCallback(id string, at time.Time) error
	// EnqueueDoneCallback queues the SEP-24 callback that the interactive flow is done
	// (kind DoneCallbackKind).
	EnqueueDoneCallback(id string, at time.Time) error
}

// Store runs transactions over SEP-6 transactions; update functions may be re-run.
type Store interface {
	TransferUpdate(ctx context.Context, fn func(Tx) error) error
	TransferView(ctx context.Context, fn func(Tx) error) error
	// Owned calls fn with the owner's transactions, newest first, until fn returns false.
	Owned(ctx context.Context, account, memo string, fn func(*Transaction) bool) error
	// AllTransfers calls fn with every transaction, newest first, until fn returns false.
	AllTransfers(ctx context.Context, fn func(*Transaction) bool) error
	// TransferIDsWithPrefix returns up to limit transaction ids that start with prefix.
	TransferIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error)
	// DueExpiries calls fn with the ids of the transactions whose user_action_required_by is
	// before now (oldest first), until fn returns false: only what is due is read.
	DueExpiries(ctx context.Context, now time.Time, fn func(id string) bool) error
	// WaitingForKYC calls fn with the owner's transactions in pending_customer_info_update.
	WaitingForKYC(ctx context.Context, account, memo string, fn func(*Transaction) bool) error
	// ChangedCustomers returns up to limit owners whose KYC changed since DoneChanged last
	// dropped them (the journal the KYC service writes with each change).
	ChangedCustomers(ctx context.Context, limit int) ([]Changed, error)
	// DoneChanged drops entries of the journal, unless they changed again meanwhile.
	DoneChanged(ctx context.Context, done []Changed) error
}

// Changed is an owner whose KYC changed (Mark identifies the change).
type Changed struct {
	Account, Memo string
	Mark          []byte
}
