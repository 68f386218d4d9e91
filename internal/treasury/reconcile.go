package treasury

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/transfer"
)

// AssetReport compares, for one asset, the tokens held outside the distribution account on the
// network with what the store says went out (credits and payments, less withdrawals and
// unmatched payments received back).
type AssetReport struct {
	Asset          string `json:"asset"`
	Supply         string `json:"supply"`
	Distribution   string `json:"distribution_balance"`
	OutOnChain     string `json:"outstanding_on_chain"`
	OutInStore     string `json:"outstanding_in_store"`
	Credited       string `json:"credited"`
	WithdrawnIn    string `json:"withdrawals_received"`
	UnmatchedIn    string `json:"unmatched_received"`
	Burned         string `json:"burned"`
	Difference     string `json:"difference"`
	Balanced       bool   `json:"balanced"`
	onChain, store int64
}

// Movement is an on-chain movement of a distribution account no stored record explains.
type Movement struct {
	Hash   string `json:"stellar_transaction_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Asset  string `json:"asset"`
	Amount string `json:"amount"`
	Reason string `json:"reason"`
}

// Report is the result of Reconcile; OK only when every asset balances and every movement is tied.
type Report struct {
	Assets []AssetReport `json:"assets"`
	Untied []Movement    `json:"untied_movements"`
	// Unsettled are the unmatched payments no operator has returned or resolved yet: money
	// someone is owed, or must explain.
	Unsettled []Unmatched `json:"unsettled_payments"`
	OK        bool        `json:"ok"`
}

// Differences counts what the report found: assets out of balance, untied movements and
// unsettled payments.
func (r *Report) Differences() int {
	n := len(r.Untied) + len(r.Unsettled)
	for _, a := range r.Assets {
		if !a.Balanced {
			n++
		}
	}
	return n
}

// ReconcileRun is the store's record of the last reconcile: when it ran and how many
// differences it found. Kept in the store rather than in a server's memory, so that every
// replica's metrics report the same last run, a restart does not forget it, and a reconcile
// run straight against the database (no server on the machine) counts too.
type ReconcileRun struct {
	V           int       `json:"v"`
	At          time.Time `json:"at"`
	Differences int       `json:"differences"`
}

// Reconcile checks the store against the ledger (see AssetReport and Movement) and records the
// run (ReconcileRun).
func Reconcile(ctx context.Context, st Store, transfers *transfer.Service, cfg *config.Config, ledger horizon.Ledger) (*Report, error) {
	ops, err := st.Ops(ctx)
	if err != nil {
		return nil, err
	}
	unmatched, err := st.UnmatchedPayments(ctx)
	if err != nil {
		return nil, err
	}
	withdrawals, err := transfers.OperatorList(ctx, transfer.OpsFilter{Kind: transfer.Withdrawal})
	if err != nil {
		return nil, err
	}
	confirmed := map[string]Op{}
	for _, op := range ops {
		if op.State == Confirmed {
			confirmed[op.Hash] = op
		}
	}
	withdrawn := map[string]*transfer.Transaction{}
	for _, w := range withdrawals {
		if w.StellarTransactionID != "" && w.AmountIn != nil {
			withdrawn[w.StellarTransactionID] = w
		}
	}
	// Received payments are tied one operation at a time: by the paging token a withdrawal or an
	// unmatched record holds; a withdrawal recorded by hand with its hash only ties one payment
	// of that transaction.
	tied := map[string]bool{}
	byHashOnly := map[string]int{}
	for _, w := range withdrawn {
		if w.StellarOperationID != "" {
			tied[w.StellarOperationID] = true
		} else {
			byHashOnly[w.StellarTransactionID]++
		}
	}
	for _, u := range unmatched {
		tied[u.PagingToken] = true
	}
	rep := &Report{Assets: []AssetReport{}, Untied: []Movement{}, Unsettled: []Unmatched{}, OK: true}
	for _, u := range unmatched {
		if u.Settlement == nil {
			rep.Unsettled = append(rep.Unsettled, u)
			rep.OK = false
		}
	}
	seenDist := map[string]bool{}
	for _, a := range cfg.Assets {
		if a.DistributionAccount == "" {
			continue
		}
		key := a.Code + ":" + a.Issuer
		supply, err := ledger.AssetSupply(ctx, a.Code, a.Issuer)
		if err != nil {
			return nil, fmt.Errorf("supply of %s: %w", a.Code, err)
		}
		dist, err := ledger.Account(ctx, a.DistributionAccount)
		if errors.Is(err, horizon.ErrNotFound) {
			return nil, fmt.Errorf("the distribution account %s of %s does not exist on the network", a.DistributionAccount, a.Code)
		}
		if err != nil {
			return nil, fmt.Errorf("distribution account of %s: %w", a.Code, err)
		}
		var distBal int64
		for _, b := range dist.Balances {
			if b.Asset.Code == a.Code && b.Asset.Issuer == a.Issuer {
				distBal, _ = transfer.ParseAmount(b.Balance)
			}
		}
		r := AssetReport{Asset: key, onChain: supply - distBal}
		var credited, burned, withdrawnIn, unmatchedIn int64
		for _, op := range confirmed {
			if op.Asset != key {
				continue
			}
			if strings.HasPrefix(op.Purpose, "burn") {
				burned += op.Amount
			} else {
				credited += op.Amount
			}
		}
		for _, w := range withdrawn {
			if w.AssetCode == a.Code && w.AssetIssuer == a.Issuer {
				withdrawnIn += *w.AmountIn
			}
		}
		for _, u := range unmatched {
			// One tied to a withdrawal counts as that withdrawal's (withdrawals_received).
			if u.Asset == key && u.Account == transfer.WithdrawAccount(&a) && (u.Settlement == nil || u.Settlement.Action != SettledWithdrawal) {
				if v, err := transfer.ParseAmount(u.Amount); err == nil {
					unmatchedIn += v
				}
			}
		}
		r.store = credited - withdrawnIn - unmatchedIn
		r.Supply, r.Distribution = transfer.FormatAmount(supply), transfer.FormatAmount(distBal)
		r.OutOnChain, r.OutInStore = signed(r.onChain), signed(r.store)
		r.Credited, r.WithdrawnIn, r.UnmatchedIn, r.Burned = transfer.FormatAmount(credited), transfer.FormatAmount(withdrawnIn), transfer.FormatAmount(unmatchedIn), transfer.FormatAmount(burned)
		r.Difference = signed(r.onChain - r.store)
		r.Balanced = r.onChain == r.store
		rep.OK = rep.OK && r.Balanced
		rep.Assets = append(rep.Assets, r)

		if seenDist[a.DistributionAccount] {
			continue
		}
		seenDist[a.DistributionAccount] = true
		cursor := ""
		for {
			recs, err := ledger.Payments(ctx, a.DistributionAccount, cursor, 200)
			if errors.Is(err, horizon.ErrNotFound) {
				break
			}
			if err != nil {
				return nil, err
			}
			if len(recs) == 0 {
				break
			}
			for _, p := range recs {
				cursor = p.PagingToken
				if !p.Successful || p.Asset == "native" || p.Kind == "other" {
					continue
				}
				m := Movement{Hash: p.TxHash, From: p.From, To: p.To, Asset: p.Asset, Amount: p.Amount}
				switch {
				case p.From == a.DistributionAccount:
					if _, ok := confirmed[p.TxHash]; !ok {
						m.Reason = "paid out by the distribution account, but no confirmed credit, payment or burn has this hash"
					}
				case p.To == a.DistributionAccount:
					switch {
					case isIssuer(cfg, p.From), tied[p.PagingToken]:
					case byHashOnly[p.TxHash] > 0:
						byHashOnly[p.TxHash]--
					default:
						m.Reason = "received, but neither a withdrawal nor a recorded unmatched payment is this payment"
					}
				}
				if m.Reason != "" {
					rep.Untied = append(rep.Untied, m)
					rep.OK = false
				}
			}
		}
	}
	run := &ReconcileRun{V: 1, At: time.Now().UTC(), Differences: rep.Differences()}
	if err := st.TreasuryUpdate(ctx, func(o OpTx, _ transfer.Tx) error { return o.PutLastReconcile(run) }); err != nil {
		return nil, fmt.Errorf("recording the reconcile: %w", err)
	}
	return rep, nil
}

func isIssuer(cfg *config.Config, account string) bool {
	for _, a := range cfg.Assets {
		if a.Issuer == account {
			return true
		}
	}
	return false
}

func signed(v int64) string {
	if v < 0 {
		return "-" + transfer.FormatAmount(-v)
	}
	return transfer.FormatAmount(v)
}
