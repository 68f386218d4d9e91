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
			if err := s.exchangeAmount(t, &r); err != nil {
				return err
			}
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
		t.CustomerID, t.Prefill = c.ID, nil
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
		if t.DoneCallback != "" && t.DoneCallback != "postMessage" {
			queued = true
			if err := tx.EnqueueDoneCallback(t.ID, now); err != nil {
				return err
			}
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

// SetInteractiveCallbacks records the callbacks a wallet added to a SEP-24 interactive URL,
// while the transaction is incomplete: on_change_callback (a URL, checked as SEP-6's; SEP-24's
// "postMessage" form is not supported there) and callback ("postMessage", or a URL told once
// when the flow is done).
func (s *Service) SetInteractiveCallbacks(ctx context.Context, id, onChange, done string) error {
	if onChange == "" && done == "" {
		return nil
	}
	if onChange == "postMessage" {
		return inputErr("on_change_callback=postMessage is not supported; give a URL, or poll GET /transaction")
	}
	if err := s.checkCallback(&Request{OnChangeCallback: onChange}); err != nil {
		return err
	}
	if done != "" && done != "postMessage" {
		if err := s.checkCallback(&Request{OnChangeCallback: done}); err != nil {
			return inputErr("callback must be postMessage or an absolute https URL")
		}
	}
	return s.Store.TransferUpdate(ctx, func(tx Tx) error {
		t, err := tx.Get(id)
		if err != nil {
			return err
		}
		if t.Protocol != ProtocolSEP24 || t.Status != Incomplete {
			return nil
		}
		if onChange != "" {
			t.OnChangeCallback = onChange
		}
		if done != "" {
			t.DoneCallback = done
		}
		return tx.Put(t)
	})
}
