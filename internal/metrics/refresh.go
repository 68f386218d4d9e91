package metrics

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Source is what a refresh reads: the store's records.
type Source interface {
	AllTransfers(ctx context.Context, fn func(*transfer.Transaction) bool) error
	Customers(ctx context.Context, fn func(*kyc.Customer) bool) error
	DueCallbacks(ctx context.Context, now time.Time, limit int) ([]callback.Item, error)
	Ops(ctx context.Context) ([]treasury.Op, error)
	Proposals(ctx context.Context) ([]treasury.Proposal, error)
	EachUnmatched(ctx context.Context, fn func(*treasury.Unmatched) bool) error
	FeedStats(ctx context.Context, endpoint string) (events.FeedStats, error)
	TreasuryView(ctx context.Context, fn func(treasury.OpTx, transfer.Tx) error) error
}

func final(s transfer.Status) bool {
	switch s {
	case transfer.Completed, transfer.Refunded, transfer.Expired, transfer.Error, transfer.TooSmall, transfer.TooLarge, transfer.NoMarket:
		return true
	}
	return false
}

// StoreRefresher reads a Snapshot from src (every record once: run it every few tens of seconds,
// not per scrape) and the distribution balances from ledger (nil: not read).
func StoreRefresher(cfg *config.Config, src Source, ledger horizon.Client) Refresher {
	return func(ctx context.Context) (*Snapshot, error) {
		now := time.Now()
		s := &Snapshot{Transactions: map[[3]string]int{}, OldestWaiting: map[string]time.Duration{}, Customers: map[[2]string]int{}, TreasuryActions: map[string]int{}}
		if err := src.AllTransfers(ctx, func(t *transfer.Transaction) bool {
			s.Transactions[[3]string{string(t.Kind), t.AssetCode, string(t.Status)}]++
			if !final(t.Status) {
				if age := now.Sub(t.UpdatedAt); age > s.OldestWaiting[string(t.Status)] {
					s.OldestWaiting[string(t.Status)] = age
				}
			}
			return true
		}); err != nil {
			return nil, err
		}
		types := make([]string, 0, len(cfg.KYC.Types))
		for name := range cfg.KYC.Types {
			types = append(types, name)
		}
		sort.Strings(types)
		if err := src.Customers(ctx, func(c *kyc.Customer) bool {
			for _, name := range types {
				st := c.StatusFor(cfg.KYC.Types[name])
				if name != c.Type && st == kyc.NeedsInfo {
					continue // as kyc list: the types a customer is in review or decided for
				}
				s.Customers[[2]string{name, string(st)}]++
			}
			return true
		}); err != nil {
			return nil, err
		}
		s.Webhooks = map[string]events.FeedStats{}
		for _, w := range cfg.Events.Webhooks {
			st, err := src.FeedStats(ctx, w.Name)
			if err != nil {
				return nil, err
			}
			s.Webhooks[w.Name] = st
		}
		queued, err := src.DueCallbacks(ctx, now.Add(100*365*24*time.Hour), math.MaxInt)
		if err != nil {
			return nil, err
		}
		s.CallbacksQueued = len(queued)
		for _, it := range queued {
			if d := now.Sub(it.Due); d > s.CallbackOldest {
				s.CallbackOldest = d
			}
		}
		ops, err := src.Ops(ctx)
		if err != nil {
			return nil, err
		}
		for _, op := range ops {
			s.TreasuryActions[string(op.State)]++
		}
		props, err := src.Proposals(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range props {
			if p.State(now) == "proposed" {
				s.TreasuryActions["proposed"]++
			}
		}
		if err := src.TreasuryView(ctx, func(o treasury.OpTx, _ transfer.Tx) error {
			run, err := o.LastReconcile()
			if run != nil {
				s.Reconciled, s.ReconcileDifferences = run.At, run.Differences
			}
			return err
		}); err != nil {
			return nil, err
		}
		if err := src.EachUnmatched(ctx, func(u *treasury.Unmatched) bool {
			if u.Settlement == nil {
				s.Unsettled++
			}
			return true
		}); err != nil {
			return nil, err
		}
		if ledger != nil {
			s.Distribution = map[string]float64{}
			for _, a := range cfg.Assets {
				if a.DistributionAccount == "" {
					continue
				}
				acct, err := ledger.Account(ctx, a.DistributionAccount)
				if err != nil {
					s.Distribution = nil // keep the last values rather than report zero
					break
				}
				for _, b := range acct.Balances {
					if b.Asset.Code == a.Code && b.Asset.Issuer == a.Issuer {
						v, _ := strconv.ParseFloat(b.Balance, 64)
						s.Distribution[a.Code] = v
					}
				}
			}
		}
		return s, nil
	}
}
