package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/ids"
	"github.com/anchorkit/anchor/internal/kyc"
)

// Detail is `anchor tx show`: the transaction, the moves allowed from its status, and what it
// waits for. Its JSON names are a contract (tx show --json, the admin API).
type Detail struct {
	Transaction *Transaction `json:"transaction"`
	Allowed     []Status     `json:"allowed_moves"`
	// Waiting says, for an operator, what the transaction waits for ("" once it is final).
	Waiting string `json:"waiting,omitempty"`
}

// TransferIDs returns up to limit transaction ids that start with prefix (shell completion).
func (s *Service) TransferIDs(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.Store.TransferIDsWithPrefix(ctx, strings.ToLower(prefix), limit)
}

// ResolveTransferID returns the transaction id a whole id or a unique prefix names.
func (s *Service) ResolveTransferID(ctx context.Context, arg string) (string, error) {
	id, err := ids.Resolve(ctx, arg, s.Store.TransferIDsWithPrefix, ErrNotFound)
	if errors.Is(err, ids.ErrAmbiguous) {
		return "", &InputError{Msg: err.Error()}
	}
	return id, err
}

// Detail returns a transaction with its allowed moves and what it waits for.
func (s *Service) Detail(ctx context.Context, id string) (*Detail, error) {
	d := &Detail{}
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		st, c, err := Compliance(tx, s.Config, t)
		if err != nil {
			return err
		}
		d.Transaction, d.Waiting = t, waiting(t, st, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Allowed = Allowed(d.Transaction.Kind, d.Transaction.Status)
	if d.Allowed == nil {
		d.Allowed = []Status{}
	}
	return d, nil
}

// waiting explains what t waits for, given its customer's compliance status st.
func waiting(t *Transaction, st kyc.Status, c *kyc.Customer) string {
	if Terminal(t.Status) {
		return ""
	}
	customer := "no customer record yet"
	if c != nil {
		customer = "customer " + c.ID
	}
	review := fmt.Sprintf("compliance: %s is %s for %s", customer, st, t.KYCType)
	switch st {
	case kyc.NeedsInfo:
		review += " (the user must provide information through SEP-12)"
	case kyc.Processing:
		review += " (waiting for a review: anchor kyc approve)"
	}
	funds := ""
	if t.FundsReceivedAt != nil {
		funds = "funds received " + t.FundsReceivedAt.UTC().Format(time.RFC3339) + "; "
	}
	var parts []string
	switch t.Status {
	case PendingCustomerInfoUpdate:
		next := "then the user's transfer"
		if t.FundsReceivedAt != nil {
			next = "then it moves to pending_anchor by itself, ready to credit"
		}
		parts = append(parts, funds+review+"; "+next)
	case PendingUserTransferStart:
		if t.Kind == Deposit {
			parts = append(parts, "the user's fiat transfer with reference "+t.Reference+" (record it: anchor deposit received)")
		} else {
			parts = append(parts, "the user's Stellar payment with memo "+t.WithdrawMemo+" to "+t.WithdrawAnchorAccount)
		}
	case PendingAnchor:
		if t.Kind == Deposit {
			parts = append(parts, "the operator's credit: anchor credit "+t.ID)
		} else {
			parts = append(parts, "the operator's payout: anchor withdraw paid "+t.ID)
		}
		if st != kyc.Accepted {
			parts = append(parts, "refused until "+review)
		}
	case PendingTrust:
		parts = append(parts, "the user's trustline to "+t.AssetCode+" (the server credits it then)")
		if st != kyc.Accepted {
			parts = append(parts, "no credit until "+review)
		}
	case PendingStellar:
		parts = append(parts, "the payment "+t.StellarTransactionID+" on the network (anchor credit "+t.ID+" resumes it)")
	case OnHold:
		parts = append(parts, "the operator's release (anchor tx release); held from "+string(t.HeldFrom))
	case Error:
		if t.FundsReceivedAt != nil && st == kyc.Rejected {
			parts = append(parts, funds+"the customer was rejected: refund them (anchor tx refund)")
		} else {
			parts = append(parts, "the operator: "+t.Message)
		}
	case TooSmall, TooLarge, NoMarket:
		parts = append(parts, "the operator's refund (anchor tx refund)")
	default:
		parts = append(parts, "the user ("+string(t.Status)+")")
	}
	out := strings.Join(parts, "; ")
	if t.UserActionRequiredBy != nil {
		out += "; expires " + t.UserActionRequiredBy.UTC().Format(time.RFC3339)
	}
	return out
}
