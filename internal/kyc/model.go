// Package kyc holds customer records, their SEP-12 status rules and compliance decisions. The
// wallet API (internal/sep12) and the operator CLI (through the admin API or directly) both go
// through Service, so that both paths behave the same.
package kyc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/sep9"
)

// Status is a customer's SEP-12 status (for one customer type).
type Status string

// Customer statuses (SEP-12 "Customer Statuses").
const (
	NeedsInfo  Status = "NEEDS_INFO"
	Processing Status = "PROCESSING"
	Accepted   Status = "ACCEPTED"
	Rejected   Status = "REJECTED"
)

// FieldStatus is the status of one provided field (SEP-12 "Provided Field Statuses").
type FieldStatus string

// Field statuses.
const (
	FieldAccepted             FieldStatus = "ACCEPTED"
	FieldProcessing           FieldStatus = "PROCESSING"
	FieldRejected             FieldStatus = "REJECTED"
	FieldVerificationRequired FieldStatus = "VERIFICATION_REQUIRED"
)

// Customer is one SEP-12 customer: an account (G... or M...) and memo, with what it provided.
type Customer struct {
	V       int    `json:"v"`
	ID      string `json:"id"`
	Account string `json:"account"`
	Memo    string `json:"memo,omitempty"`
	// Type is the customer type of the latest PUT, used by `kyc list`.
	Type string `json:"type"`
	// Values holds non-binary fields; Files maps binary fields to file ids.
	Values map[string]string `json:"values"`
	Files  map[string]string `json:"files"`
	// Fields holds the status of every provided field.
	Fields map[string]FieldState `json:"fields"`
	// FileBytes is the total size of the customer's files, for the quota.
	FileBytes   int64  `json:"file_bytes"`
	Rejected    bool   `json:"rejected,omitempty"`
	Message     string `json:"message,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
	// PreviouslyRejected flags a customer whose account and memo belonged to a customer that was
	// rejected and then erased: the reviewer sees it, and it is never auto-approved.
	PreviouslyRejected *Tombstone `json:"previously_rejected,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// Tombstone is what remains of a rejected customer after its erasure: no personal data, only
// the account and memo, the decision, when, by whom and why, which a legal obligation (not to
// serve a rejected customer) requires the anchor to keep.
type Tombstone struct {
	V          int       `json:"v"`
	CustomerID string    `json:"customer_id"`
	Account    string    `json:"account"`
	Memo       string    `json:"memo,omitempty"`
	Decision   Status    `json:"decision"`
	DecidedAt  time.Time `json:"decided_at"`
	By         string    `json:"by"`
	Reason     string    `json:"reason,omitempty"`
	ErasedAt   time.Time `json:"erased_at"`
}

// FieldState is the review state of one provided field.
type FieldState struct {
	Status FieldStatus `json:"status"`
	Error  string      `json:"error,omitempty"`
}

// File is an uploaded file (POST /customer/files or a binary PUT field).
type File struct {
	V           int       `json:"v"`
	ID          string    `json:"file_id"`
	CustomerID  string    `json:"customer_id,omitempty"`
	Account     string    `json:"account"`
	Memo        string    `json:"memo,omitempty"`
	Field       string    `json:"field,omitempty"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// Event is one entry of a customer's append-only audit trail: who did what, when and why.
// Events hold no field values, and outlive the customer's deletion.
type Event struct {
	V          int       `json:"v"`
	Seq        uint64    `json:"seq"`
	CustomerID string    `json:"customer_id"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Action     string    `json:"action"`
	Field      string    `json:"field,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Status     Status    `json:"status,omitempty"`
}

// Audit actions.
const (
	ActionSubmit      = "submit"
	ActionApprove     = "approve"
	ActionAutoApprove = "auto-approve"
	ActionReject      = "reject"
	ActionRequestInfo = "request-info"
	ActionDelete      = "delete"
	ActionCallback    = "set-callback"
)

// StatusFor derives the customer's status for a customer type from its field states: REJECTED
// once rejected; NEEDS_INFO while a required field is missing or rejected; ACCEPTED when every
// provided field the type uses is accepted; PROCESSING otherwise (waiting for review).
func (c *Customer) StatusFor(t config.CustomerType) Status {
	if c == nil {
		return NeedsInfo
	}
	if c.Rejected {
		return Rejected
	}
	for _, f := range t.Fields {
		st, ok := c.Fields[f]
		if !ok || st.Status == FieldRejected || st.Status == FieldVerificationRequired {
			return NeedsInfo
		}
	}
	// A field compliance asked for again (request-info), whatever the type uses it for.
	for _, st := range c.Fields {
		if st.Status == FieldRejected {
			return NeedsInfo
		}
	}
	for _, f := range append(append([]string{}, t.Fields...), t.Optional...) {
		if st, ok := c.Fields[f]; ok && st.Status != FieldAccepted {
			return Processing
		}
	}
	return Accepted
}

// FieldInfo describes a field in GET /customer's fields and provided_fields.
type FieldInfo struct {
	Type        sep9.Type   `json:"type"`
	Description string      `json:"description"`
	Choices     []string    `json:"choices,omitempty"`
	Optional    bool        `json:"optional,omitempty"`
	Status      FieldStatus `json:"status,omitempty"`
	Error       string      `json:"error,omitempty"`
}

// Response is the body of GET /customer (and of status callbacks).
type Response struct {
	ID             string               `json:"id,omitempty"`
	Status         Status               `json:"status"`
	Fields         map[string]FieldInfo `json:"fields,omitempty"`
	ProvidedFields map[string]FieldInfo `json:"provided_fields,omitempty"`
	Message        string               `json:"message,omitempty"`
}

// Describe builds the GET /customer response of c (nil: an unknown customer) for a type.
func Describe(c *Customer, t config.CustomerType) *Response {
	r := &Response{Status: c.StatusFor(t), Fields: map[string]FieldInfo{}, ProvidedFields: map[string]FieldInfo{}}
	info := func(name string, optional bool) FieldInfo {
		f, _ := sep9.Lookup(name)
		return FieldInfo{Type: f.Type, Description: f.Description, Choices: f.Choices, Optional: optional}
	}
	for _, list := range []struct {
		names    []string
		optional bool
	}{{t.Fields, false}, {t.Optional, true}} {
		for _, name := range list.names {
			var st FieldState
			var ok bool
			if c != nil {
				st, ok = c.Fields[name]
			}
			if !ok || st.Status == FieldRejected {
				fi := info(name, list.optional)
				r.Fields[name] = fi
			}
			if ok {
				fi := info(name, list.optional)
				fi.Status, fi.Error = st.Status, st.Error
				r.ProvidedFields[name] = fi
			}
		}
	}
	if c != nil {
		r.ID = c.ID
		r.Message = c.Message
		if r.Status == Rejected && r.Message == "" {
			r.Message = "the customer was rejected"
		}
		// Fields provided beyond the type's list are still reported.
		for name, st := range c.Fields {
			if _, ok := r.ProvidedFields[name]; !ok {
				fi := info(name, true)
				fi.Status, fi.Error = st.Status, st.Error
				r.ProvidedFields[name] = fi
			}
		}
	}
	if r.Status == Accepted {
		// SEP-12: accepted customers have no required fields left; list only optional ones.
		for k, v := range r.Fields {
			if !v.Optional {
				delete(r.Fields, k)
			}
		}
	}
	if len(r.Fields) == 0 {
		r.Fields = nil
	}
	if len(r.ProvidedFields) == 0 {
		r.ProvidedFields = nil
	}
	return r
}

// NewID returns an unguessable id: a random UUID (version 4).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Errors the HTTP layer maps to statuses.
var (
	ErrNotFound = fault.NotFound("not found")
)

// InputError is a bad request (400) naming what is wrong (the shared fault type).
type InputError = fault.InputError

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// ForbiddenError is a request for another account's data (403).
type ForbiddenError struct{ Msg string }

func (e *ForbiddenError) Error() string { return e.Msg }

// StorageFullError: the anchor's KYC storage (kyc.storage_quota) is full (507).
type StorageFullError struct{ Msg string }

func (e *StorageFullError) Error() string { return e.Msg }

// BlockedError: a decision that cannot be made as asked (exit 1, 400), with what blocks it.
type BlockedError struct{ Msg string }

func (e *BlockedError) Error() string { return e.Msg }

// TooLargeError is a file over a limit (413).
type TooLargeError struct{ Msg string }

func (e *TooLargeError) Error() string { return e.Msg }

// Tx is what Service needs from the store inside one transaction.
type Tx interface {
	Customer(id string) (*Customer, error)
	CustomerID(account, memo string) (string, error)
	PutCustomer(c *Customer) error
	// DeleteCustomer removes the record, its index entry, its files (and the account's pending
	// uploads) and their contents.
	DeleteCustomer(c *Customer) error
	PutFile(f *File, data []byte) error
	File(id string) (*File, error)
	FileData(id string) ([]byte, error)
	DeleteFile(id string) error
	FilesOf(customerID string) ([]*File, error)
	// PendingFiles lists files (account, memo) uploaded that no customer uses yet.
	PendingFiles(account, memo string) ([]*File, error)
	AppendEvent(e *Event) error
	// EnqueueCallback queues the customer's status callback (callback kind "kyc").
	EnqueueCallback(customerID string, at time.Time) error
	// PutTombstone keeps a rejection past the customer's erasure; Tombstone finds one by account
	// and memo, TombstoneOf by the erased customer's id (ErrNotFound when there is none).
	PutTombstone(t *Tombstone) error
	// StoredBytes returns the file bytes stored by an account (its G... account, all memos) and
	// by everyone.
	StoredBytes(account string) (accountBytes, totalBytes int64, err error)
	// ErasePersonalData removes what other records (SEP-6 transactions) hold about an owner's
	// person: contact and bank details and the link to the customer; amounts, statuses and
	// on-chain ids stay for accounting.
	// It returns how many records it changed.
	ErasePersonalData(account, memo string) (int, error)
	// MarkChanged journals that an owner's KYC changed, for transactions waiting for it.
	MarkChanged(account, memo string, at time.Time) error
	// Events is the customer's audit trail, oldest first.
	Events(customerID string) ([]Event, error)
	Tombstone(account, memo string) (*Tombstone, error)
	TombstoneOf(customerID string) (*Tombstone, error)
}

// Store runs transactions over customers. Update transactions may be batched with others and
// re-run: fn must not have effects outside tx.
type Store interface {
	KYCUpdate(ctx context.Context, fn func(Tx) error) error
	KYCView(ctx context.Context, fn func(Tx) error) error
	// Customers calls fn for every customer, the most recently updated first, until fn returns
	// false.
	Customers(ctx context.Context, fn func(*Customer) bool) error
	// CustomersInReview is Customers restricted to those with a field waiting for review (a
	// superset of the PROCESSING ones, for the review queue).
	CustomersInReview(ctx context.Context, fn func(*Customer) bool) error
	Events(ctx context.Context, customerID string) ([]Event, error)
	// CustomerIDsWithPrefix returns up to limit customer ids that start with prefix.
	CustomerIDsWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error)
	// WipeErasedKeys destroys the data keys of records deleted by committed transactions (every
	// customer record and file is sealed under a key of its own): what an erased customer stored
	// can never be read again, wherever its bytes linger.
	WipeErasedKeys(ctx context.Context) error
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
