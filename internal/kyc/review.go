package kyc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/ids"
	"github.com/anchorkit/anchor/internal/sep9"
)

// Summary is one line of `anchor kyc list`; its JSON names are a contract.
type Summary struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Memo      string    `json:"memo,omitempty"`
	Type      string    `json:"type"`
	Status    Status    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
	// PreviouslyRejected: an erased customer of the same account and memo was rejected.
	PreviouslyRejected bool `json:"previously_rejected,omitempty"`
}

// ListFilter selects customers; empty fields match all.
type ListFilter struct {
	Status Status
	Type   string
	// Limit keeps the most recently updated rows only (0: all).
	Limit int
}

// List returns the customers matching f, one row per customer and customer type: the type of
// its latest submission, and every type it qualifies for review or a decision (not NEEDS_INFO),
// so that a customer accepted for deposits stays listed as such after it sends withdrawal
// fields. Most recently updated first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Summary, error) {
	out := []Summary{}
	each := s.Store.Customers
	if f.Status == Processing {
		each = s.Store.CustomersInReview // the review queue: never every customer
	}
	err := each(ctx, func(c *Customer) bool {
		for _, name := range sortedKeys(s.Config.Types) {
			t := s.Config.Types[name]
			st := c.StatusFor(t)
			if (f.Type != "" && name != f.Type) || (name != c.Type && st == NeedsInfo) {
				continue
			}
			if f.Status != "" && st != f.Status {
				continue
			}
			out = append(out, Summary{ID: c.ID, Account: c.Account, Memo: c.Memo, Type: name, Status: st,
				UpdatedAt: c.UpdatedAt, PreviouslyRejected: c.PreviouslyRejected != nil})
		}
		// The store gives the most recently updated first: stop once the page is full.
		return f.Limit <= 0 || len(out) < f.Limit
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// Detail is `anchor kyc show`: the record, its status, files and audit trail; for a rejected
// customer that was erased, the tombstone (Erased) and the audit trail only.
type Detail struct {
	Customer *Customer  `json:"customer"`
	Status   Status     `json:"status"`
	Files    []*File    `json:"files"`
	History  []Event    `json:"history"`
	Erased   *Tombstone `json:"erased,omitempty"`
}

// CustomerIDs returns up to limit customer ids that start with prefix (shell completion).
func (s *Service) CustomerIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.Store.CustomerIDsWithPrefix(ctx, strings.ToLower(prefix), limit)
}

// ResolveCustomerID returns the customer id a whole id or a unique prefix names.
func (s *Service) ResolveCustomerID(ctx context.Context, arg string) (string, error) {
	id, err := ids.Resolve(ctx, arg, s.Store.CustomerIDsWithPrefix, ErrNotFound)
	if errors.Is(err, ids.ErrAmbiguous) {
		return "", &InputError{Msg: err.Error()}
	}
	return id, err
}

// Show returns everything about customer id.
func (s *Service) Show(ctx context.Context, id string) (*Detail, error) {
	d := &Detail{}
	err := s.Store.KYCView(ctx, func(tx Tx) error {
		c, err := tx.Customer(id)
		if errors.Is(err, ErrNotFound) {
			// Erased: a rejection's tombstone outlives it.
			if d.Erased, err = tx.TombstoneOf(id); err != nil {
				return err
			}
			d.Status = d.Erased.Decision
			return nil
		}
		if err != nil {
			return err
		}
		d.Customer = c
		d.Status = c.StatusFor(s.Config.Types[c.Type])
		d.Files, err = tx.FilesOf(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if d.Files == nil {
		d.Files = []*File{}
	}
	d.History, err = s.Store.Events(ctx, id)
	return d, err
}

// FileData returns a file's metadata and contents (for `kyc show --save-files`).
func (s *Service) FileData(ctx context.Context, fileID string) (*File, []byte, error) {
	var f *File
	var data []byte
	err := s.Store.KYCView(ctx, func(tx Tx) error {
		var err error
		if f, err = tx.File(fileID); err != nil {
			return err
		}
		data, err = tx.FileData(fileID)
		return err
	})
	return f, data, err
}

// Decision is a compliance decision on a customer.
type Decision struct {
	Action string `json:"action"` // approve, reject or request-info
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	Field  string `json:"field,omitempty"` // for request-info
}

// Decide applies a decision and records it in the audit trail, in one transaction. It returns
// the customer's status afterwards.
func (s *Service) Decide(ctx context.Context, id string, d Decision) (Status, error) {
	if strings.TrimSpace(d.By) == "" {
		return "", inputErr("the decision needs a reviewer (--by)")
	}
	switch d.Action {
	case ActionApprove:
	case ActionReject:
		if strings.TrimSpace(d.Reason) == "" {
			return "", inputErr("a rejection needs a reason")
		}
	case ActionRequestInfo:
		if _, ok := sep9.Lookup(d.Field); !ok {
			return "", inputErr("%q is not a SEP-9 field", d.Field)
		}
		if strings.TrimSpace(d.Reason) == "" {
			return "", inputErr("request-info needs a reason the customer will read")
		}
	default:
		return "", inputErr("unknown decision %q", d.Action)
	}
	now := s.now()
	var after Status
	var queued bool
	var account, memo string
	err := s.Store.KYCUpdate(ctx, func(tx Tx) error {
		queued = false
		c, err := tx.Customer(id)
		if err != nil {
			return err
		}
		account, memo = c.Account, c.Memo
		t := s.Config.Types[c.Type]
		beforeAll := s.statuses(c)
		snapshot, _ := json.Marshal(c)
		switch d.Action {
		case ActionApprove:
			// Approval accepts what waits for review; it cannot supply what is missing or
			// rejected: say what blocks it.
			var blocked []string
			for _, f := range t.Fields {
				if _, ok := c.Fields[f]; !ok {
					blocked = append(blocked, f+" (missing)")
				}
			}
			for _, name := range sortedKeys(c.Fields) {
				if st := c.Fields[name]; st.Status == FieldRejected {
					blocked = append(blocked, name+" (rejected: "+st.Error+")")
				}
			}
			if len(blocked) > 0 {
				return &BlockedError{Msg: fmt.Sprintf("customer %s cannot be approved for %s: %s; the customer must send them again (SEP-12), or reject", id, c.Type, strings.Join(blocked, ", "))}
			}
			for name, st := range c.Fields {
				if st.Status == FieldProcessing {
					c.Fields[name] = FieldState{Status: FieldAccepted}
				}
			}
			c.Rejected, c.Message = false, ""
		case ActionReject:
			c.Rejected, c.Message = true, d.Reason
		case ActionRequestInfo:
			c.Fields[d.Field] = FieldState{Status: FieldRejected, Error: d.Reason}
			c.Message = d.Reason
		}
		after = c.StatusFor(t)
		if again, _ := json.Marshal(c); bytes.Equal(again, snapshot) {
			return nil // the decision changes nothing: no write, no audit entry
		}
		c.UpdatedAt = now
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		if err := tx.MarkChanged(c.Account, c.Memo, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(&Event{CustomerID: id, At: now, By: d.By, Action: d.Action, Field: d.Field, Reason: d.Reason, Status: after}); err != nil {
			return err
		}
		if !maps.Equal(beforeAll, s.statuses(c)) && c.CallbackURL != "" {
			queued = true
			return tx.EnqueueCallback(id, now)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return "", ErrNotFound
	}
	if err == nil && queued {
		s.wake()
	}
	if err == nil {
		s.changed(account, memo)
	}
	return after, err
}
