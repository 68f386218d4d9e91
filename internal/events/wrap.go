package events

import (
	"time"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
	"github.com/anchorkit/anchor/internal/views"
)

// Transfer returns tx recording the events of the transactions it writes: created (written
// without being read in this store transaction), each status change of its history since it was
// read, and the on-chain payment when its Stellar transaction appears (a deposit's tokens sent,
// a withdrawal's payment received). tx itself when r is nil or tx is no Sink.
func (r *Recorder) Transfer(tx transfer.Tx) transfer.Tx {
	s, ok := tx.(Sink)
	if r == nil || !ok {
		return tx
	}
	return &transferTx{Tx: tx, r: r, sink: s, seen: map[string]txState{}}
}

type txState struct {
	moves     int
	stellarID string
}

type transferTx struct {
	transfer.Tx
	r    *Recorder
	sink Sink
	seen map[string]txState
}

func (w *transferTx) Get(id string) (*transfer.Transaction, error) {
	t, err := w.Tx.Get(id)
	if err == nil {
		if _, ok := w.seen[t.ID]; !ok {
			w.seen[t.ID] = txState{moves: len(t.History), stellarID: t.StellarTransactionID}
		}
	}
	return t, err
}

func (w *transferTx) Put(t *transfer.Transaction) error {
	if err := w.Tx.Put(t); err != nil {
		return err
	}
	prev, read := w.seen[t.ID]
	w.seen[t.ID] = txState{moves: len(t.History), stellarID: t.StellarTransactionID}
	subject := "transaction:" + t.ID
	view := views.NewTx(t)
	if !read {
		if err := w.r.emit(w.sink, TransactionCreated, subject, view, "", string(t.Status)); err != nil {
			return err
		}
		prev = txState{moves: len(t.History), stellarID: ""}
	}
	for _, m := range t.History[min(prev.moves, len(t.History)):] {
		if m.From == m.To {
			continue // a note: the status stays
		}
		if err := w.r.emit(w.sink, TransactionStatusChanged, subject, view, string(m.From), string(m.To)); err != nil {
			return err
		}
	}
	if prev.stellarID == "" && t.StellarTransactionID != "" {
		typ := PaymentSent
		if t.Kind == transfer.Withdrawal {
			typ = PaymentReceived
		}
		if err := w.r.emit(w.sink, typ, subject, view, "", string(t.Status)); err != nil {
			return err
		}
	}
	return nil
}

// KYC returns tx recording customers' events: submitted (with each submission the audit trail
// records) and each change of status (a customer written without being read in this store
// transaction is new: its status changes from "").
func (r *Recorder) KYC(tx kyc.Tx) kyc.Tx {
	s, ok := tx.(Sink)
	if r == nil || !ok {
		return tx
	}
	return &kycTx{Tx: tx, r: r, sink: s, read: map[string]kyc.Status{}, submitted: map[string]bool{}}
}

type kycTx struct {
	kyc.Tx
	r    *Recorder
	sink Sink
	read map[string]kyc.Status
	// submitted are the customers whose submission this transaction recorded.
	submitted map[string]bool
}

func (w *kycTx) status(c *kyc.Customer) kyc.Status { return c.StatusFor(w.r.KYCTypes[c.Type]) }

func (w *kycTx) row(c *kyc.Customer) views.CustomerRow {
	return views.CustomerRow{ID: c.ID, Account: c.Account, Memo: c.Memo, Type: c.Type, Status: string(w.status(c)),
		PreviouslyRejected: c.PreviouslyRejected != nil, UpdatedAt: views.Time(c.UpdatedAt)}
}

func (w *kycTx) Customer(id string) (*kyc.Customer, error) {
	c, err := w.Tx.Customer(id)
	if err == nil {
		if _, ok := w.read[c.ID]; !ok {
			w.read[c.ID] = w.status(c)
		}
	}
	return c, err
}

func (w *kycTx) PutCustomer(c *kyc.Customer) error {
	if err := w.Tx.PutCustomer(c); err != nil {
		return err
	}
	subject := "customer:" + c.ID
	before, now := w.read[c.ID], w.status(c)
	w.read[c.ID] = now
	if w.submitted[c.ID] {
		delete(w.submitted, c.ID)
		if err := w.r.emit(w.sink, CustomerSubmitted, subject, w.row(c), "", string(now)); err != nil {
			return err
		}
	}
	if before == now {
		return nil
	}
	return w.r.emit(w.sink, CustomerStatusChanged, subject, w.row(c), string(before), string(now))
}

// AppendEvent notes a submission; the customer's write that follows it emits the event.
func (w *kycTx) AppendEvent(e *kyc.Event) error {
	if err := w.Tx.AppendEvent(e); err != nil {
		return err
	}
	if e.Action == kyc.ActionSubmit {
		w.submitted[e.CustomerID] = true
	}
	return nil
}

// Treasury returns the treasury's transaction pair recording actions' events (proposed;
// submitted, confirmed or failed as their state changes) and unmatched payments, besides the
// transactions' (Transfer).
func (r *Recorder) Treasury(ops treasury.OpTx, trs transfer.Tx) (treasury.OpTx, transfer.Tx) {
	s, ok := ops.(Sink)
	if r == nil || !ok {
		return ops, trs
	}
	return &opTx{OpTx: ops, r: r, sink: s, read: map[string]treasury.OpState{}, unmatched: map[string]bool{}, proposals: map[string]bool{}}, r.Transfer(trs)
}

type opTx struct {
	treasury.OpTx
	r         *Recorder
	sink      Sink
	read      map[string]treasury.OpState
	unmatched map[string]bool
	proposals map[string]bool
}

func (w *opTx) Proposal(id string) (*treasury.Proposal, error) {
	p, err := w.OpTx.Proposal(id)
	if err == nil {
		w.proposals[p.ID] = true
	}
	return p, err
}

func (w *opTx) Op(id string) (*treasury.Op, error) {
	op, err := w.OpTx.Op(id)
	if err == nil {
		if _, ok := w.read[op.ID]; !ok {
			w.read[op.ID] = op.State
		}
	}
	return op, err
}

func (w *opTx) PutOp(op *treasury.Op) error {
	if err := w.OpTx.PutOp(op); err != nil {
		return err
	}
	before, read := w.read[op.ID]
	w.read[op.ID] = op.State
	if read && before == op.State {
		return nil
	}
	typ := ""
	switch op.State {
	case treasury.Built:
		typ = ActionSubmitted
	case treasury.Confirmed:
		typ = ActionConfirmed
	case treasury.Failed, treasury.Expired:
		typ = ActionFailed
	default:
		return nil
	}
	return w.r.emit(w.sink, typ, "action:"+op.ID, views.NewOp(op), string(before), string(op.State))
}

func (w *opTx) Unmatched(token string) (*treasury.Unmatched, error) {
	return w.recorded(w.OpTx.Unmatched(token))
}

func (w *opTx) UnmatchedAt(account, token string) (*treasury.Unmatched, error) {
	return w.recorded(w.OpTx.UnmatchedAt(account, token))
}

// recorded notes a payment read as already recorded: writing it again is a settlement.
func (w *opTx) recorded(u *treasury.Unmatched, err error) (*treasury.Unmatched, error) {
	if err == nil {
		w.unmatched[u.Account+"/"+u.PagingToken] = true
	}
	return u, err
}

func (w *opTx) PutUnmatched(u *treasury.Unmatched) error {
	if err := w.OpTx.PutUnmatched(u); err != nil {
		return err
	}
	key := u.Account + "/" + u.PagingToken
	if w.unmatched[key] {
		return nil // a settlement of a recorded payment, not a new one
	}
	w.unmatched[key] = true
	return w.r.emit(w.sink, PaymentUnmatched, "payment:"+u.PagingToken, views.NewPayment(*u), "", "")
}

func (w *opTx) PutProposal(p *treasury.Proposal) error {
	if err := w.OpTx.PutProposal(p); err != nil {
		return err
	}
	if w.proposals[p.ID] || p.ApprovedAt != nil {
		return nil // an approval or an update: its action's own events follow
	}
	w.proposals[p.ID] = true
	return w.r.emit(w.sink, ActionProposed, "action:"+p.ID, views.NewProposals([]treasury.Proposal{*p}, time.Now())[0], "", "proposed")
}
