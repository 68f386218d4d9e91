package treasury

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/internal/transfer"
)

// BurnWithdrawals burns, per asset, what completed withdrawals collected in the distribution
// account and no burn covers yet. Each burn records the withdrawals it covers and its id is
// derived from them, so that a crashed run resumes the same burn and no withdrawal is burned
// twice. It returns the burns it carried out (none when there is nothing to burn).
func (t *Treasury) BurnWithdrawals(ctx context.Context, transfers *transfer.Service) ([]*Op, error) {
	ops, err := t.Store.Ops(ctx)
	if err != nil {
		return nil, err
	}
	covered := map[string]bool{}
	for _, op := range ops {
		if op.Purpose == "burn-withdrawals" && (op.State == Confirmed || op.State == Built) {
			for _, id := range op.TransferIDs {
				covered[id] = true
			}
		}
	}
	done, err := transfers.OperatorList(ctx, transfer.OpsFilter{Kind: transfer.Withdrawal, Status: transfer.Completed})
	if err != nil {
		return nil, err
	}
	type batch struct {
		ids    []string
		amount int64
	}
	byAsset := map[string]*batch{}
	for _, w := range done {
		if covered[w.ID] || w.AmountIn == nil {
			continue
		}
		k := w.AssetCode + ":" + w.AssetIssuer
		if byAsset[k] == nil {
			byAsset[k] = &batch{}
		}
		byAsset[k].ids = append(byAsset[k].ids, w.ID)
		byAsset[k].amount += *w.AmountIn
	}
	// Resume burns in flight first: they cover withdrawals already. Each asset stands alone: one
	// asset's failure is reported and the others carry on.
	var out []*Op
	var errs []error
	for _, op := range ops {
		if op.Purpose == "burn-withdrawals" && op.State == Built {
			code, issuer, _ := strings.Cut(op.Asset, ":")
			res, err := t.Execute(ctx, op.ID, op.Purpose, op.Source, t.Signer, []txnbuild.Operation{&txnbuild.Payment{Destination: issuer,
				Amount: transfer.FormatAmount(op.Amount), Asset: txnbuild.CreditAsset{Code: code, Issuer: issuer}}}, nil,
				Moved{Asset: op.Asset, Amount: op.Amount, TransferIDs: op.TransferIDs})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", op.Asset, err))
				continue
			}
			out = append(out, res)
		}
	}
	keys := make([]string, 0, len(byAsset))
	for k := range byAsset {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b := byAsset[k]
		slices.Sort(b.ids)
		sum := sha256.Sum256([]byte(strings.Join(b.ids, ",")))
		id := "burn-withdrawals/" + hex.EncodeToString(sum[:8])
		code, issuer, _ := strings.Cut(k, ":")
		op, err := t.Execute(ctx, id, "burn-withdrawals", t.distribution(k), t.Signer, []txnbuild.Operation{&txnbuild.Payment{Destination: issuer,
			Amount: transfer.FormatAmount(b.amount), Asset: txnbuild.CreditAsset{Code: code, Issuer: issuer}}}, nil,
			Moved{Asset: k, Amount: b.amount, TransferIDs: b.ids})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", code, err))
			continue
		}
		out = append(out, op)
	}
	return out, errors.Join(errs...)
}

// distribution returns the distribution account of asset CODE:ISSUER.
func (t *Treasury) distribution(asset string) string {
	for _, a := range t.Config.Assets {
		if a.Code+":"+a.Issuer == asset {
			return a.DistributionAccount
		}
	}
	return ""
}
