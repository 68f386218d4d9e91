package standin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strconv"
	"time"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"
)

const (
	stroop      = 10_000_000
	baseReserve = stroop / 2 // 0.5 XLM
)

// assetKey names an asset: "native" or "CODE:ISSUER".
type assetKey string

func keyOf(a xdr.Asset) assetKey {
	if a.Type == xdr.AssetTypeAssetTypeNative {
		return "native"
	}
	var code, issuer string
	_ = a.Extract(new(xdr.AssetType), &code, &issuer)
	return assetKey(code + ":" + issuer)
}

type trustline struct {
	Balance    int64
	Limit      int64
	Authorized bool
}

type account struct {
	ID           string
	Seq          int64
	Native       int64
	Lines        map[assetKey]*trustline
	Signers      map[string]int32 // ed25519 public keys, the master key included
	Thresholds   [3]uint8         // low, medium, high
	HomeDomain   string
	AuthRequired bool
	Data         map[string][]byte
}

func (a *account) clone() *account {
	c := *a
	c.Lines = map[assetKey]*trustline{}
	for k, v := range a.Lines {
		l := *v
		c.Lines[k] = &l
	}
	c.Signers = maps.Clone(a.Signers)
	c.Data = maps.Clone(a.Data)
	return &c
}

func (a *account) subentries() int64 { return int64(len(a.Lines) + len(a.Signers) - 1 + len(a.Data)) }

func (a *account) minBalance() int64 { return (2 + a.subentries()) * baseReserve }

type claimable struct {
	ID        string
	Asset     assetKey
	Amount    int64
	Claimants []string
}

// Payment is a payment the ledger applied, in order (paging token = its position).
type Payment struct {
	PagingToken string
	TxHash      string
	From, To    string
	Asset       assetKey
	Amount      int64
	Memo        xdr.Memo
	Kind        string // payment, create_account
	At          time.Time
}

// txRecord is a transaction that reached the ledger (successful or failed).
type txRecord struct {
	Hash       string
	Successful bool
	Ledger     int32
	Envelope   string
	Source     string
	Seq        int64
	Fee        int64
	OpCount    int
	At         time.Time
	Memo       xdr.Memo
}

type state struct {
	accounts  map[string]*account
	claimable map[string]*claimable
}

func (s *state) clone() *state {
	c := &state{accounts: map[string]*account{}, claimable: map[string]*claimable{}}
	for k, v := range s.accounts {
		c.accounts[k] = v.clone()
	}
	for k, v := range s.claimable {
		cc := *v
		c.claimable[k] = &cc
	}
	return c
}

// result of a submission.
type result struct {
	applied  bool // reached the ledger (seq and fee consumed)
	queued   bool // outbid under surge pricing: not included, Horizon times out
	success  bool
	txCode   string
	opCodes  []string
	hash     string
	payments []Payment
}

// apply checks and applies a v1 envelope as stellar-core would, for the operations anchor uses.
func (l *Server) apply(envB64 string, now time.Time) result {
	var env xdr.TransactionEnvelope
	if err := xdr.SafeUnmarshalBase64(envB64, &env); err != nil || env.V1 == nil {
		return result{txCode: "tx_malformed"}
	}
	tx := env.V1.Tx
	hashArr, err := network.HashTransactionInEnvelope(env, l.passphrase)
	if err != nil {
		return result{txCode: "tx_malformed"}
	}
	hash := hex.EncodeToString(hashArr[:])
	if _, seen := l.txs[hash]; seen {
		return result{txCode: "tx_duplicate", hash: hash} // answered as the earlier result by the caller
	}
	src := tx.SourceAccount.ToAccountId().Address()
	st := l.state
	srcAcct, ok := st.accounts[src]
	if !ok {
		return result{txCode: "tx_no_source_account", hash: hash}
	}
	if tb := env.TimeBounds(); tb != nil {
		if tb.MinTime != 0 && now.Unix() < int64(tb.MinTime) {
			return result{txCode: "tx_too_early", hash: hash}
		}
		if tb.MaxTime != 0 && now.Unix() > int64(tb.MaxTime) {
			return result{txCode: "tx_too_late", hash: hash}
		}
	}
	// CAP-21: with minSeqNum the transaction is valid while minSeqNum <= account seq < its seq
	// (a prepared envelope that does not hold the account's next number); otherwise its seq
	// must be the next one.
	if c := tx.Cond; c.Type == xdr.PreconditionTypePrecondV2 && c.V2 != nil && c.V2.MinSeqNum != nil {
		if srcAcct.Seq < int64(*c.V2.MinSeqNum) || srcAcct.Seq >= int64(tx.SeqNum) {
			return result{txCode: "tx_bad_seq", hash: hash}
		}
	} else if int64(tx.SeqNum) != srcAcct.Seq+1 {
		return result{txCode: "tx_bad_seq", hash: hash}
	}
	if len(tx.Operations) == 0 {
		return result{txCode: "tx_missing_operation", hash: hash}
	}
	fee := int64(tx.Fee)
	if fee < int64(100*len(tx.Operations)) {
		return result{txCode: "tx_insufficient_fee", hash: hash}
	}
	if surge := l.surge.Load(); fee < surge*int64(len(tx.Operations)) {
		// Surge pricing: the transaction waits in the queue and is not included (Horizon: 504).
		return result{queued: true, hash: hash}
	}
	// Signatures: each account that must authorize needs enough weight for its strictest use.
	needs := map[string]uint8{src: srcAcct.Thresholds[0]}
	for _, op := range tx.Operations {
		opSrc := src
		if op.SourceAccount != nil {
			opSrc = op.SourceAccount.ToAccountId().Address()
		}
		a, ok := st.accounts[opSrc]
		if !ok {
			return result{txCode: "tx_failed", opCodes: []string{"op_no_source_account"}, hash: hash}
		}
		level := a.Thresholds[1]
		if op.Body.Type == xdr.OperationTypeSetOptions {
			o := op.Body.SetOptionsOp
			if o.Signer != nil || o.MasterWeight != nil || o.LowThreshold != nil || o.MedThreshold != nil || o.HighThreshold != nil {
				level = a.Thresholds[2]
			}
		}
		if cur, ok := needs[opSrc]; !ok || level > cur {
			needs[opSrc] = level
		}
	}
	used := make([]bool, len(env.V1.Signatures))
	for acctID, threshold := range needs {
		a := st.accounts[acctID]
		var weight int32
		for signer, w := range a.Signers {
			if w <= 0 {
				continue
			}
			raw, err := strkey.Decode(strkey.VersionByteAccountID, signer)
			if err != nil {
				continue
			}
			for i, sig := range env.V1.Signatures {
				if bytes.Equal(sig.Hint[:], raw[28:]) && ed25519.Verify(raw, hashArr[:], sig.Signature) {
					used[i] = true
					weight += w
					break
				}
			}
		}
		need := int32(threshold)
		if need == 0 {
			need = 1
		}
		if weight < need {
			return result{txCode: "tx_bad_auth", hash: hash}
		}
	}
	for _, u := range used {
		if !u {
			return result{txCode: "tx_bad_auth_extra", hash: hash}
		}
	}
	if srcAcct.Native-fee < 0 {
		return result{txCode: "tx_insufficient_balance", hash: hash}
	}
	// The transaction reaches the ledger: sequence and fee are consumed whatever the operations do.
	srcAcct.Seq = int64(tx.SeqNum)
	srcAcct.Native -= fee
	work := st.clone()
	r := result{applied: true, hash: hash}
	for i, op := range tx.Operations {
		opSrc := src
		if op.SourceAccount != nil {
			opSrc = op.SourceAccount.ToAccountId().Address()
		}
		code, pay := applyOp(work, opSrc, op, hash, i, int64(tx.SeqNum), tx.SourceAccount.ToAccountId(), now)
		r.opCodes = append(r.opCodes, code)
		if code != "op_success" {
			r.txCode = "tx_failed"
			return r
		}
		if pay != nil {
			pay.TxHash, pay.Memo, pay.At = hash, tx.Memo, now
			r.payments = append(r.payments, *pay)
		}
	}
	l.state = work
	r.success, r.txCode = true, "tx_success"
	return r
}

func amountOf(a xdr.Int64) int64 { return int64(a) }

// applyOp applies one operation to st; it returns the result code and, for payments, the payment.
func applyOp(st *state, src string, op xdr.Operation, txHash string, index int, seq int64, txSource xdr.AccountId, now time.Time) (string, *Payment) {
	a := st.accounts[src]
	switch op.Body.Type {
	case xdr.OperationTypeCreateAccount:
		o := op.Body.CreateAccountOp
		dest := o.Destination.Address()
		amt := amountOf(o.StartingBalance)
		if _, exists := st.accounts[dest]; exists {
			return "op_already_exists", nil
		}
		if amt < 2*baseReserve {
			return "op_low_reserve", nil
		}
		if a.Native-amt < a.minBalance() {
			return "op_underfunded", nil
		}
		a.Native -= amt
		st.accounts[dest] = newAccount(dest, amt, now)
		return "op_success", &Payment{From: src, To: dest, Asset: "native", Amount: amt, Kind: "create_account"}
	case xdr.OperationTypePayment:
		o := op.Body.PaymentOp
		dest := o.Destination.ToAccountId().Address()
		return pay(st, src, dest, keyOf(o.Asset), amountOf(o.Amount))
	case xdr.OperationTypeChangeTrust:
		o := op.Body.ChangeTrustOp
		if o.Line.Type == xdr.AssetTypeAssetTypePoolShare {
			return "op_malformed", nil
		}
		k := keyOf(o.Line.ToAsset())
		issuer := string(k)[len(k)-56:]
		is, ok := st.accounts[issuer]
		if !ok {
			return "op_no_issuer", nil
		}
		line, has := a.Lines[k]
		limit := amountOf(o.Limit)
		switch {
		case limit == 0 && !has:
			return "op_invalid_limit", nil
		case limit == 0:
			if line.Balance != 0 {
				return "op_invalid_limit", nil
			}
			delete(a.Lines, k)
		case has:
			if limit < line.Balance {
				return "op_invalid_limit", nil
			}
			line.Limit = limit
		default:
			if a.Native < (a.minBalance() + baseReserve) {
				return "op_low_reserve", nil
			}
			a.Lines[k] = &trustline{Limit: limit, Authorized: !is.AuthRequired}
		}
		return "op_success", nil
	case xdr.OperationTypeSetOptions:
		o := op.Body.SetOptionsOp
		if o.MasterWeight != nil {
			a.Signers[a.ID] = int32(*o.MasterWeight)
		}
		for i, t := range []*xdr.Uint32{o.LowThreshold, o.MedThreshold, o.HighThreshold} {
			if t != nil {
				a.Thresholds[i] = uint8(*t)
			}
		}
		if o.HomeDomain != nil {
			a.HomeDomain = string(*o.HomeDomain)
		}
		if o.SetFlags != nil && uint32(*o.SetFlags)&uint32(xdr.AccountFlagsAuthRequiredFlag) != 0 {
			a.AuthRequired = true
		}
		if o.ClearFlags != nil && uint32(*o.ClearFlags)&uint32(xdr.AccountFlagsAuthRequiredFlag) != 0 {
			a.AuthRequired = false
		}
		if o.Signer != nil {
			if o.Signer.Key.Type != xdr.SignerKeyTypeSignerKeyTypeEd25519 {
				return "op_bad_signer", nil
			}
			key := strkey.MustEncode(strkey.VersionByteAccountID, o.Signer.Key.Ed25519[:])
			if o.Signer.Weight == 0 {
				delete(a.Signers, key)
			} else {
				a.Signers[key] = int32(o.Signer.Weight)
			}
		}
		return "op_success", nil
	case xdr.OperationTypeManageData:
		o := op.Body.ManageDataOp
		if o.DataValue == nil {
			delete(a.Data, string(o.DataName))
		} else {
			a.Data[string(o.DataName)] = []byte(*o.DataValue)
		}
		return "op_success", nil
	case xdr.OperationTypeCreateClaimableBalance:
		o := op.Body.CreateClaimableBalanceOp
		k := keyOf(o.Asset)
		amt := amountOf(o.Amount)
		if code := debit(st, src, k, amt); code != "" {
			return code, nil
		}
		opID := xdr.HashIdPreimage{Type: xdr.EnvelopeTypeEnvelopeTypeOpId, OperationId: &xdr.HashIdPreimageOperationId{
			SourceAccount: txSource, SeqNum: xdr.SequenceNumber(seq), OpNum: xdr.Uint32(index)}}
		raw, _ := opID.MarshalBinary()
		sum := sha256.Sum256(raw)
		id := "00000000" + hex.EncodeToString(sum[:])
		var claimants []string
		for _, c := range o.Claimants {
			claimants = append(claimants, c.V0.Destination.Address())
		}
		st.claimable[id] = &claimable{ID: id, Asset: k, Amount: amt, Claimants: claimants}
		return "op_success", nil
	}
	return "op_not_supported", nil
}

// debit takes amt of k from src (the issuer of k has unlimited supply).
func debit(st *state, src string, k assetKey, amt int64) string {
	a := st.accounts[src]
	if k == "native" {
		if a.Native-amt < a.minBalance() {
			return "op_underfunded"
		}
		a.Native -= amt
		return ""
	}
	if string(k)[len(k)-56:] == src {
		return ""
	}
	line, ok := a.Lines[k]
	if !ok {
		return "op_src_no_trust"
	}
	if !line.Authorized {
		return "op_src_not_authorized"
	}
	if line.Balance < amt {
		return "op_underfunded"
	}
	line.Balance -= amt
	return ""
}

func pay(st *state, src, dest string, k assetKey, amt int64) (string, *Payment) {
	if amt <= 0 {
		return "op_malformed", nil
	}
	to, ok := st.accounts[dest]
	if !ok {
		return "op_no_destination", nil
	}
	if code := debit(st, src, k, amt); code != "" {
		return code, nil
	}
	switch {
	case k == "native":
		to.Native += amt
	case string(k)[len(k)-56:] == dest:
		// Paid back to the issuer: burned.
	default:
		line, ok := to.Lines[k]
		if !ok {
			return "op_no_trust", nil
		}
		if !line.Authorized {
			return "op_not_authorized", nil
		}
		if line.Balance+amt > line.Limit {
			return "op_line_full", nil
		}
		line.Balance += amt
	}
	return "op_success", &Payment{From: src, To: dest, Asset: k, Amount: amt, Kind: "payment"}
}

func newAccount(id string, native int64, now time.Time) *account {
	return &account{ID: id, Seq: now.Unix() << 32, Native: native, Lines: map[assetKey]*trustline{},
		Signers: map[string]int32{id: 1}, Data: map[string][]byte{}}
}

func formatAmount(v int64) string {
	s := strconv.FormatInt(v/stroop, 10) + "."
	frac := strconv.FormatInt(v%stroop, 10)
	for len(frac) < 7 {
		frac = "0" + frac
	}
	return s + frac
}
