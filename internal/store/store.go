// Package store keeps anchor's state. The interfaces here are what the rest of anchor uses; bbolt
// (bolt.go) is the embedded implementation, and internal/store/postgres implements them on
// PostgreSQL (one contract suite, storetest, runs against both).
package store

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrNotFound is the store's own not-found error (a schema version not written yet); it is
	// fault.ErrNotFound as every service's is.
	ErrNotFound = fault.NotFound("not found")
	// ErrLocked means another process (usually a running anchor serve) holds the database.
	ErrLocked = errors.New("database is in use by another process")
	// ErrNewerSchema means the file was written by a newer anchor.
	ErrNewerSchema = errors.New("database was written by a newer version of anchor")
	// ErrSharedMismatch: an account that authenticated with a memo now authenticates without
	// one, or the reverse (fault's, which SEP-10 checks).
	ErrSharedMismatch = fault.ErrSharedMismatch
	// ErrCorrupt means a stored record could not be decoded. It is an error of its own, never
	// "not found", so that nothing is built anew in place of a record anchor cannot read.
	ErrCorrupt = errors.New("corrupt record in the database")
	// ErrUnavailable means the database could not be reached (PostgreSQL down, restarting, or
	// out of connections): nothing was written; try again later. HTTP answers 503.
	ErrUnavailable error = unavailable{}
)

type unavailable struct{}

func (unavailable) Error() string { return "the database is unavailable" }

// Unavailable marks the error for transports that cannot import this package (httpx).
func (unavailable) Unavailable() bool { return true }

// ChallengeStore remembers SEP-10 challenges that were exchanged for a token, so that each is
// exchanged at most once (SEP-10: "should not provide more than one JWT for a specific challenge").
type ChallengeStore interface {
	// UseChallenge records the challenge hash and reports whether this was its first use.
	// It also records whether account (G...) authenticates as a shared account (with a memo or
	// a muxed id) and returns ErrSharedMismatch, recording nothing, when that differs from its
	// earlier authentications (SEP-12: accounts are either shared or not). The record may reach
	// the disk after it returns; a store that can lose it in a crash says so through
	// IssuedNotBefore.
	UseChallenge(ctx context.Context, hash [32]byte, expires time.Time, account string, shared bool) (first bool, err error)
	// PruneChallenges forgets challenges that expired before t and returns how many.
	PruneChallenges(ctx context.Context, before time.Time) (int, error)
	// IssuedNotBefore is when challenges must have been issued, at the earliest, to be
	// exchanged: zero, or the time of a start after an unclean stop when the store could have
	// lost the marks of its last moments.
	IssuedNotBefore() time.Time
}

// Store is everything anchor keeps.
type Store interface {
	ChallengeStore
	kyc.Store
	transfer.Store
	callback.Queue
	quotes.Store
	quotes.Lister
	// SchemaVersion is the schema version of the open database.
	SchemaVersion(ctx context.Context) (int, error)
	Close() error
}

// Backend is a whole store as anchor serve and the CLI open it: bbolt (Bolt) or PostgreSQL
// (package postgres), chosen by database_url.
type Backend interface {
	Store
	treasury.Store
	apikey.Store
	events.Store
	// SetEvents makes the store record the events of its transfer, KYC and treasury
	// transactions (package events); nil: none. A webhook of r without a feed gets one, at the
	// end of the event log: it takes the events from now on.
	SetEvents(r *events.Recorder) error
	// Ping proves the store writable (readiness).
	Ping(ctx context.Context) error
	// Backup writes a consistent snapshot (bbolt); a backend with backups of its own (PostgreSQL:
	// pg_dump, base backups) refuses, saying so.
	Backup(ctx context.Context, w io.Writer) error
	// Check verifies every record decodes and the indexes agree with the records.
	Check(ctx context.Context) (*CheckReport, error)
}

var _ Backend = (*Bolt)(nil)

// What every backend does the same way, over the services' Tx interfaces.

// CustomerOf returns the SEP-12 customer of an owner in k (nil when there is none): every
// backend's transfer.Tx.Customer.
func CustomerOf(k kyc.Tx, account, memo string) (*kyc.Customer, error) {
	id, err := k.CustomerID(account, memo)
	if errors.Is(err, kyc.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return k.Customer(id)
}

// DeleteFilesOf deletes a customer's files and the account's pending uploads (the start of
// every backend's DeleteCustomer).
func DeleteFilesOf(k kyc.Tx, c *kyc.Customer) error {
	files, err := k.FilesOf(c.ID)
	if err != nil {
		return err
	}
	pending, err := k.PendingFiles(c.Account, c.Memo)
	if err != nil {
		return err
	}
	for _, f := range append(files, pending...) {
		if err := k.DeleteFile(f.ID); err != nil {
			return err
		}
	}
	return nil
}

// ForgetPerson clears what a transaction holds about its owner's person (contact and bank
// details, the link to the customer) and reports whether there was any; amounts, statuses and
// on-chain ids stay for accounting (kyc.Tx.ErasePersonalData).
func ForgetPerson(tr *transfer.Transaction) bool {
	if tr.Email == "" && tr.Dest == "" && tr.DestExtra == "" && tr.CountryCode == "" && tr.CustomerID == "" && len(tr.Prefill) == 0 {
		return false
	}
	tr.Email, tr.Dest, tr.DestExtra, tr.CountryCode, tr.CustomerID, tr.Prefill = "", "", "", "", "", nil
	return true
}
