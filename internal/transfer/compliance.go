package transfer

import (
	"fmt"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/kyc"
)

// ComplianceError refuses to move money for a customer compliance has not accepted.
type ComplianceError struct {
	TransferID string
	Status     kyc.Status
	Msg        string
}

func (e *ComplianceError) Error() string { return e.Msg }

// Compliance returns the KYC status of t's customer for t's customer type, read inside tx so
// that the caller's decision and its write are one store transaction. A type no longer
// configured counts as NEEDS_INFO: nothing is paid on a rule anchor cannot read.
func Compliance(tx Tx, cfg *config.Config, t *Transaction) (kyc.Status, *kyc.Customer, error) {
	c, err := tx.Customer(t.Account, t.Memo)
	if err != nil {
		return "", nil, err
	}
	typ, ok := cfg.KYC.Types[t.KYCType]
	if !ok {
		return kyc.NeedsInfo, c, nil
	}
	return c.StatusFor(typ), c, nil
}

// RequireAccepted returns a ComplianceError unless t's customer is ACCEPTED for t's type, read
// inside tx. Every move of money (an on-chain credit, a claimable balance, an account creation,
// a withdrawal's payout) calls it in the store transaction that records the move.
func RequireAccepted(tx Tx, cfg *config.Config, t *Transaction) error {
	st, c, err := Compliance(tx, cfg, t)
	if err != nil {
		return err
	}
	if st == kyc.Accepted {
		return nil
	}
	who := "the customer " + t.Account
	if t.Memo != "" {
		who += " (memo " + t.Memo + ")"
	}
	if c != nil {
		who = "customer " + c.ID
	}
	return &ComplianceError{TransferID: t.ID, Status: st, Msg: fmt.Sprintf("%s %s: %s is %s for %s, not ACCEPTED; compliance must approve first (anchor kyc approve)",
		t.Kind, t.ID, who, st, t.KYCType)}
}
