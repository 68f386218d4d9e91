package transfer

import (
	"context"

	"github.com/anchorkit/anchor/internal/kyc"
)

// ConfirmInteractive ends a SEP-24 transaction's interactive flow: the user confirmed amount
// (required now if the wallet did not give it), and the owner's customer information is
// ACCEPTED (checked in the same store transaction). The deposit gets its reference and the
// withdrawal its memo and account, and the transaction waits for the user's transfer
// (pending_user_transfer_start). Confirming again changes nothing.
func (s *Service) ConfirmInteractive(ctx context.Context, id, amount string) (*Transaction, error) {
	now := s.now()
	var out *Transaction
	var queued bool
	err := s.Store.TransferUpdate(ctx, func(tx Tx) error {
		queued = false
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		if t.Protocol != ProtocolSEP24 {
			return ErrNotFound
		}
		out = t
		if t.Status != Incomplete {
			return nil // confirmed already, or expired meanwhile: the page shows which
		}
		asset, dir, err := s.Asset(t.AssetCode, t.Kind)
		if err != nil {
			return err
		}
		if amount != "" {
			r := Request{Amount: amount, FundingMethod: t.FundingMethod}
			amt, _, err := s.checkRequest(&r, dir)
			if err != nil {
				return err
			}
			t.RequestedAmount = amt
		}
		if t.RequestedAmount == nil {
			return inputErr("amount is required")
		}
		st, c, err := Compliance(tx, s.Config, t)
		if err != nil {
			return err
		}
		if st != kyc.Accepted {
			return inputErr("the customer information is %s, not accepted yet", st)
		}
		t.CustomerID = c.ID
		if err := s.allocate(tx, t, asset); err != nil {
			return err
		}
		s.release(t, asset)
		if err := t.MoveTo(PendingUserTransferStart, t.Account, "the user confirmed the transaction", now); err != nil {
			return err
		}
		by := now.Add(s.Config.SEP6.TransferExpiry)
		t.UserActionRequiredBy, t.UpdatedAt = &by, now
		if err := tx.Put(t); err != nil {
			return err
		}
		if t.OnChangeCallback != "" {
			queued = true
			return tx.EnqueueCallback(t.ID, now)
		}
		return nil
	})
	if err == nil && queued {
		s.wake()
	}
	return out, err
}

// SetInteractiveCallback records the on_change_callback URL a wallet added to a SEP-24
// interactive URL ("postMessage" is the page's business, not stored), checked as SEP-6's
// parameter is, while the transaction is incomplete.
func (s *Service) SetInteractiveCallback(ctx context.Context, id, callback string) error {
	if callback == "" || callback == "postMessage" {
		return nil
	}
	r := Request{OnChangeCallback: callback}
	if err := s.checkCallback(&r); err != nil {
		return err
	}
	return s.Store.TransferUpdate(ctx, func(tx Tx) error {
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		if t.Protocol != ProtocolSEP24 || t.Status != Incomplete || t.OnChangeCallback == callback {
			return nil
		}
		t.OnChangeCallback = callback
		return tx.Put(t)
	})
}
