package transfer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/strkey"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/sep9"
)

// KYCChecker reports a customer's SEP-12 status for a customer type, the fields still needed,
// and the customer id ("" if none).
type KYCChecker interface {
	CustomerStatus(ctx context.Context, account, memo, kycType string) (kyc.Status, []string, string, error)
	// CustomerExists reports whether a SEP-12 customer id exists.
	CustomerExists(ctx context.Context, id string) (bool, error)
}

// Service creates SEP-6 transactions and moves them through the state machine.
type Service struct {
	Store  Store
	Config *config.Config
	KYC    KYCChecker
	// AllowHTTPCallbacks allows http:// on_change_callback URLs (development mode).
	AllowHTTPCallbacks bool
	Now                func() time.Time
	// Wake, when set, is called after a commit that queued a callback.
	Wake func()
	// MoreInfoURL, when set, gives a transaction's status page for people (more_info_url).
	MoreInfoURL func(id, lang string) string
	// Quotes prices exchanges (SEP-38); nil or without pairs: no exchange is offered.
	Quotes *quotes.Service
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

func (s *Service) wake() {
	if s.Wake != nil {
		s.Wake()
	}
}

// Principal is the authenticated owner (JWT sub).
type Principal struct{ Account, Memo string }

// InputError is a bad request (400; the shared fault type).
type InputError = fault.InputError

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// LimitError is a request over a per-account limit (429).
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// LegacyKYCError is the deprecated 403 answer (sep6.legacy_kyc_responses).
type LegacyKYCError struct {
	Type   string   `json:"type"`
	Fields []string `json:"fields,omitempty"`
	Status string   `json:"status,omitempty"`
}

func (e *LegacyKYCError) Error() string { return e.Type }

// Request is a GET /deposit or /withdraw.
type Request struct {
	Kind Kind
	// Prefill: SEP-9 fields passed with a SEP-24 request (checked by the caller).
	Prefill                                               map[string]string
	AssetCode, Account, FundingMethod, MemoType, Memo     string
	Email, Amount, CountryCode, ClaimableBalanceSupported string
	OnChangeCallback, Lang, CustomerID, LocationID        string
	RefundMemo, RefundMemoType, Dest, DestExtra           string
	// Offchain (SEP-6 source_asset of a deposit-exchange, destination_asset of a
	// withdrawal-exchange) and QuoteID make the request an exchange; Exchange makes it one
	// however they are (SEP-6's exchange endpoints).
	Offchain, QuoteID string
	Exchange          bool

	// Set by prepareExchange for checkRequest: the funding methods of the off-chain asset
	// (nil: the direction's), and, for a deposit-exchange, the decimals of its amount (which is
	// in the off-chain asset, so the token's limits do not apply to it).
	methods          []string
	offchainDecimals int
	offchainAmount   bool
}

// Asset returns the configured asset enabled for kind, or a 400.
func (s *Service) Asset(code string, kind Kind) (*config.Asset, *config.Direction, error) {
	if code == "" {
		return nil, nil, inputErr("asset_code is required")
	}
	for i := range s.Config.Assets {
		a := &s.Config.Assets[i]
		if a.Code != code {
			continue
		}
		d := &a.Deposit
		if kind == Withdrawal {
			d = &a.Withdraw
		}
		if !d.Enabled {
			break
		}
		return a, d, nil
	}
	verb := "deposit"
	if kind == Withdrawal {
		verb = "withdrawal"
	}
	return nil, nil, inputErr("asset %q is not available for %s; see /info", code, verb)
}

func validAccount(a string) bool {
	if strkey.IsValidEd25519PublicKey(a) {
		return true
	}
	_, err := strkey.Decode(strkey.VersionByteMuxedAccount, a)
	return err == nil
}

// checkMemo validates a memo against its type (SEP-6: text ≤ 28 bytes, id uint64, hash base64
// of 32 bytes).
func checkMemo(param, memo, memoType string) error {
	switch memoType {
	case "id":
		if _, err := strconv.ParseUint(memo, 10, 64); err != nil {
			return inputErr("%s %q is not an id memo (memo_type id)", param, memo)
		}
	case "text":
		if len(memo) > 28 {
			return inputErr("%s is longer than 28 bytes (memo_type text)", param)
		}
	case "hash":
		if b, err := base64.StdEncoding.DecodeString(memo); err != nil || len(b) != 32 {
			return inputErr("%s is not a base64 32-byte hash (memo_type hash)", param)
		}
	default:
		return inputErr("%s_type must be id, text or hash", param)
	}
	return nil
}

func (s *Service) checkRequest(r *Request, dir *config.Direction) (*int64, string, error) {
	if r.Account != "" && !validAccount(r.Account) {
		return nil, "", inputErr("account %q is not a Stellar account (G...) or muxed account (M...)", r.Account)
	}
	if r.Memo != "" || r.MemoType != "" {
		if r.Memo == "" {
			return nil, "", inputErr("memo_type given without memo")
		}
		mt := r.MemoType
		if mt == "" {
			mt = "id"
		}
		if err := checkMemo("memo", r.Memo, mt); err != nil {
			return nil, "", err
		}
		r.MemoType = mt
	}
	if (r.RefundMemo == "") != (r.RefundMemoType == "") {
		return nil, "", inputErr("refund_memo and refund_memo_type go together")
	}
	if r.RefundMemo != "" {
		if err := checkMemo("refund_memo", r.RefundMemo, r.RefundMemoType); err != nil {
			return nil, "", err
		}
	}
	methods := dir.FundingMethods
	if len(r.methods) > 0 {
		methods = r.methods
	}
	method := r.FundingMethod
	if method == "" {
		method = methods[0]
	}
	ok := false
	for _, m := range methods {
		if strings.EqualFold(m, method) {
			method, ok = m, true
		}
	}
	if !ok {
		return nil, "", inputErr("funding_method %q is not supported; use one of %s", method, strings.Join(methods, ", "))
	}
	var amt *int64
	if r.Amount != "" {
		v, err := ParseAmount(r.Amount)
		if err != nil {
			return nil, "", inputErr("amount: %v", err)
		}
		if r.offchainAmount {
			if money.Decimals(r.Amount) > r.offchainDecimals {
				return nil, "", inputErr("amount %s has more than the %d decimals of %s", r.Amount, r.offchainDecimals, r.Offchain)
			}
		} else if dir.MinAmount != "" {
			if min, _ := ParseAmount(dir.MinAmount); v < min {
				return nil, "", inputErr("amount %s is below the minimum %s", r.Amount, dir.MinAmount)
			}
		}
		if dir.MaxAmount != "" {
			if max, _ := ParseAmount(dir.MaxAmount); v > max {
				return nil, "", inputErr("amount %s is above the maximum %s", r.Amount, dir.MaxAmount)
			}
		}
		amt = &v
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
			return nil, "", inputErr("email_address %q is not an email address", r.Email)
		}
	}
	if r.CountryCode != "" {
		f, _ := sep9.Lookup("address_country_code")
		if err := f.Check(r.CountryCode); err != nil {
			return nil, "", inputErr("country_code: %v", err)
		}
	}
	switch r.ClaimableBalanceSupported {
	case "", "true", "false":
	default:
		return nil, "", inputErr("claimable_balance_supported must be true or false")
	}
	if err := s.checkCallback(r); err != nil {
		return nil, "", err
	}
	return amt, method, nil
}

// checkCallback checks on_change_callback: an absolute https URL (http too in development).
func (s *Service) checkCallback(r *Request) error {
	if r.OnChangeCallback != "" {
		u, err := url.Parse(r.OnChangeCallback)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && s.AllowHTTPCallbacks)) {
			return inputErr("on_change_callback must be an absolute https URL")
		}
	}
	return nil
}

// Create validates a deposit or withdrawal request and creates its transaction: waiting in
// pending_customer_info_update until the customer's KYC is ACCEPTED, else ready for the user's
// transfer (SEP-6 v4). With sep6.legacy_kyc_responses it answers the deprecated 403 instead.
func (s *Service) Create(ctx context.Context, p Principal, r Request) (*Transaction, error) {
	legacy := s.Config.SEP6.LegacyKYCResponses
	t, asset, status, missing, err := s.prepare(ctx, p, r, "", legacy)
	if err != nil {
		return nil, err
	}
	if legacy && status != kyc.Accepted {
		switch status {
		case kyc.NeedsInfo:
			return nil, &LegacyKYCError{Type: "non_interactive_customer_info_needed", Fields: missing}
		case kyc.Rejected:
			return nil, &LegacyKYCError{Type: "customer_info_status", Status: "denied"}
		default:
			return nil, &LegacyKYCError{Type: "customer_info_status", Status: "pending"}
		}
	}
	by := t.UserActionRequiredBy
	err = s.Store.TransferUpdate(ctx, func(tx Tx) error {
		// The customer's KYC is read in this write (no read transaction of its own): the
		// status the transaction starts in is the one its customer has as it is stored.
		status, c, err := Compliance(tx, s.Config, t)
		if err != nil {
			return err
		}
		if c != nil {
			t.CustomerID = c.ID
		}
		s.initial(t, status, p.Account, by)
		if err := s.openLimit(tx, p.Account); err != nil {
			return err
		}
		if err := claimQuote(tx, t); err != nil {
			return err
		}
		if err := s.allocate(tx, t, asset); err != nil {
			return err
		}
		if t.Status == PendingUserTransferStart {
			s.release(t, asset)
		}
		return tx.Put(t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// initial sets a new transaction's first status from its customer's KYC status: waiting in
// pending_customer_info_update until ACCEPTED (SEP-6 v4), error when REJECTED; time in the
// anchor's review never counts against the user. by is the user's deadline.
func (s *Service) initial(t *Transaction, status kyc.Status, actor string, by *time.Time) {
	kycType := t.KYCType
	initial := PendingCustomerInfoUpdate
	reason := "waiting for the customer's information (" + kycType + ")"
	t.Message, t.UserActionRequiredBy = "", by
	switch status {
	case kyc.Accepted:
		initial, reason = PendingUserTransferStart, "customer information accepted"
	case kyc.Rejected:
		initial, reason = Error, "the customer's information was rejected"
		t.Message = reason
		t.UserActionRequiredBy = nil
	case kyc.Processing:
		reason = "waiting for the anchor's review of the customer's information (" + kycType + ")"
		t.UserActionRequiredBy = nil
	}
	t.Status = initial
	t.History = []Move{{To: initial, At: t.StartedAt, Actor: actor, Reason: reason}}
}

// claimedCustomer checks a customer_id the wallet gave that is not the account's own customer.
// SEP-6: customer_id is passed when "the relationship between this id and the user's Stellar
// account is not known to the anchor". The link is recorded for compliance to confirm; the
// transaction still needs this account's own KYC, so an id never lends another customer's
// approval.
func (s *Service) claimedCustomer(ctx context.Context, given, own string) (string, error) {
	if given == "" || given == own {
		return "", nil
	}
	ok, err := s.KYC.CustomerExists(ctx, given)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", inputErr("customer_id %q is not a customer of this anchor", given)
	}
	return given, nil
}

// prepare checks a request (asset, parameters, the customer_id the wallet gave) and drafts its
// transaction, before its status; it returns the owner's KYC status and missing fields for the
// transaction's customer type.
// With readKYC (or a customer_id given) it reads the owner's KYC first; else the caller reads
// it in its write.
func (s *Service) prepare(ctx context.Context, p Principal, r Request, protocol string, readKYC bool) (*Transaction, *config.Asset, kyc.Status, []string, error) {
	asset, dir, err := s.Asset(r.AssetCode, r.Kind)
	if err != nil {
		return nil, nil, "", nil, err
	}
	var terms *QuoteTerms
	if r.Offchain != "" || r.QuoteID != "" || r.Exchange {
		if terms, err = s.prepareExchange(ctx, p, &r, asset, dir, protocol); err != nil {
			return nil, nil, "", nil, err
		}
	}
	amt, method, err := s.checkRequest(&r, dir)
	if err != nil {
		return nil, nil, "", nil, err
	}
	kycType := s.Config.SEP6.DepositKYCType
	if r.Kind == Withdrawal {
		kycType = s.Config.SEP6.WithdrawKYCType
	}
	var status kyc.Status
	var missing []string
	var customerID string
	if readKYC || r.CustomerID != "" {
		if status, missing, customerID, err = s.KYC.CustomerStatus(ctx, p.Account, p.Memo, kycType); err != nil {
			return nil, nil, "", nil, err
		}
	}
	claimed, err := s.claimedCustomer(ctx, r.CustomerID, customerID)
	if err != nil {
		return nil, nil, "", nil, err
	}
	t := s.draft(p, r, asset, amt, method, kycType, customerID, claimed, s.now())
	t.Offchain, t.Quote, t.Protocol = r.Offchain, terms, protocol
	return t, asset, status, missing, nil
}

// openLimit refuses a new transaction of an account with sep6.max_open_transactions unfinished.
func (s *Service) openLimit(tx Tx, account string) error {
	if max := s.Config.SEP6.MaxOpenTransactions; max > 0 {
		n, err := tx.OpenTransactions(account)
		if err != nil {
			return err
		}
		if n >= max {
			return &LimitError{Msg: fmt.Sprintf("this account has %d unfinished transactions, the most this anchor allows; finish or abandon some first", n)}
		}
	}
	return nil
}

// draft is a new transaction of the request, before its status.
func (s *Service) draft(p Principal, r Request, asset *config.Asset, amt *int64, method, kycType, customerID, claimed string, now time.Time) *Transaction {
	by := now.Add(s.Config.SEP6.TransferExpiry)
	t := &Transaction{
		ID: kyc.NewID(), Kind: r.Kind, AssetCode: asset.Code, AssetIssuer: asset.Issuer,
		Account: p.Account, Memo: p.Memo, CustomerID: customerID, KYCType: kycType,
		FundingMethod: method, RequestedAmount: amt, Email: r.Email, CountryCode: r.CountryCode,
		ClaimableBalanceSupported: r.ClaimableBalanceSupported == "true", OnChangeCallback: r.OnChangeCallback,
		LocationID: r.LocationID, Lang: r.Lang, StartedAt: now, UpdatedAt: now, UserActionRequiredBy: &by,
		ClaimedCustomerID: claimed,
	}
	if r.Kind == Deposit {
		t.To = r.Account
		if t.To == "" {
			t.To = p.Account
		}
		t.DepositMemo, t.DepositMemoType = r.Memo, r.MemoType
	} else {
		t.From = r.Account
		if t.From == "" {
			t.From = p.Account
		}
		t.RefundMemo, t.RefundMemoType, t.Dest, t.DestExtra = r.RefundMemo, r.RefundMemoType, r.Dest, r.DestExtra
	}
	return t
}

// ProtocolSEP24 marks the transactions started through SEP-24's interactive flow (SEP-6 ones
// have no protocol): each protocol's endpoints list and show only their own.
const ProtocolSEP24 = "sep24"

// CreateInteractive starts a SEP-24 transaction: checked as a SEP-6 request is, and stored in
// incomplete until the user finishes the interactive flow (SEP-24: "This transaction must be in
// the incomplete status until the user has provided the anchor all information necessary").
// No reference or memo is reserved yet. It expires as any transaction waiting for its user.
func (s *Service) CreateInteractive(ctx context.Context, p Principal, r Request) (*Transaction, error) {
	t, _, _, _, err := s.prepare(ctx, p, r, ProtocolSEP24, false)
	if err != nil {
		return nil, err
	}
	t.Status, t.Prefill = Incomplete, r.Prefill
	t.History = []Move{{To: Incomplete, At: t.StartedAt, Actor: p.Account, Reason: "interactive flow started"}}
	err = s.Store.TransferUpdate(ctx, func(tx Tx) error {
		c, err := tx.Customer(p.Account, p.Memo)
		if err != nil {
			return err
		}
		if c != nil {
			t.CustomerID = c.ID
		}
		if err := s.openLimit(tx, p.Account); err != nil {
			return err
		}
		if err := claimQuote(tx, t); err != nil {
			return err
		}
		return tx.Put(t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// allocate reserves the deposit reference or withdrawal memo: a random value over the full
// uint64 range, claimed in the same store transaction, so no two transactions share one.
func (s *Service) allocate(tx Tx, t *Transaction, asset *config.Asset) error {
	ns := "deposit-reference"
	if t.Kind == Withdrawal {
		ns = WithdrawMemoNamespace(withdrawAccount(asset))
	}
	for i := 0; i < 16; i++ {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		v := binary.BigEndian.Uint64(b[:])
		if v == 0 {
			continue
		}
		memo := strconv.FormatUint(v, 10)
		err := tx.ClaimFreshMemo(ns, memo, t.ID)
		if errors.Is(err, ErrMemoTaken) {
			continue
		}
		if err != nil {
			return err
		}
		if t.Kind == Deposit {
			t.Reference = memo
		} else {
			t.WithdrawMemo = memo
		}
		return nil
	}
	return errors.New("could not allocate a unique memo")
}

// WithdrawAccount is where users send an asset's withdrawals: its distribution account, or its
// issuer when it has none.
func WithdrawAccount(a *config.Asset) string { return withdrawAccount(a) }

func withdrawAccount(a *config.Asset) string {
	if a.DistributionAccount != "" {
		return a.DistributionAccount
	}
	return a.Issuer
}

// release fills what the user needs once KYC is accepted: where to send a withdrawal.
func (s *Service) release(t *Transaction, asset *config.Asset) {
	if t.Kind == Withdrawal {
		t.WithdrawAnchorAccount = withdrawAccount(asset)
		t.WithdrawMemoType = "id"
	}
}

func (s *Service) assetOf(t *Transaction) *config.Asset {
	for i := range s.Config.Assets {
		if a := &s.Config.Assets[i]; a.Code == t.AssetCode && a.Issuer == t.AssetIssuer {
			return a
		}
	}
	return &config.Asset{Code: t.AssetCode, Issuer: t.AssetIssuer}
}

// ListQuery is GET /transactions.
type ListQuery struct {
	AssetCode   string
	NoOlderThan *time.Time
	Limit       int
	Kinds       []Kind
	PagingID    string
	// Protocol keeps to one protocol's transactions: "" (SEP-6) or ProtocolSEP24.
	Protocol string
}

// ParseListQuery reads GET /transactions' parameters (SEP-6 and SEP-24 alike): asset_code
// (required), no_older_than, limit, kind (one or more of kinds, repeated or comma-separated)
// and paging_id.
func ParseListQuery(q url.Values, kinds ...string) (ListQuery, error) {
	lq := ListQuery{AssetCode: q.Get("asset_code"), PagingID: q.Get("paging_id")}
	if lq.AssetCode == "" {
		return lq, inputErr("asset_code is required")
	}
	if s := q.Get("no_older_than"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, inputErr("no_older_than must be an ISO 8601 UTC date-time, e.g. 2026-01-02T15:04:05Z")
		}
		lq.NoOlderThan = &t
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return lq, inputErr("limit must be a positive integer")
		}
		lq.Limit = n
	}
	for _, k := range q["kind"] {
		for _, one := range strings.Split(k, ",") {
			if !slices.Contains(kinds, one) {
				return lq, inputErr("kind must be %s", strings.Join(kinds, ", "))
			}
			lq.Kinds = append(lq.Kinds, Kind(one))
		}
	}
	return lq, nil
}

// List returns the owner's transactions, newest first (SEP-6 Transaction History).
func (s *Service) List(ctx context.Context, p Principal, q ListQuery) ([]*Transaction, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 200
	}
	if q.AssetCode != "" && !slices.ContainsFunc(s.Config.Assets, func(a config.Asset) bool { return a.Code == q.AssetCode }) {
		return nil, inputErr("asset %q is not served by this anchor; see /info", q.AssetCode)
	}
	var out []*Transaction
	paging := q.PagingID == ""
	err := s.Store.Owned(ctx, p.Account, p.Memo, func(t *Transaction) bool {
		if !paging {
			paging = t.ID == q.PagingID
			return true
		}
		if q.NoOlderThan != nil && t.StartedAt.Before(*q.NoOlderThan) {
			return false
		}
		if q.AssetCode != "" && t.AssetCode != q.AssetCode {
			return true
		}
		if len(q.Kinds) > 0 && !containsKind(q.Kinds, t.WireKind()) {
			return true
		}
		if t.Protocol != q.Protocol {
			return true
		}
		out = append(out, t)
		return len(out) < q.Limit
	})
	return out, err
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// KYCTypeOf implements kyc.TransactionKYC: the customer type the owner's transaction id needs.
func (s *Service) KYCTypeOf(ctx context.Context, account, memo, id string) (string, error) {
	t, err := s.Get(ctx, Principal{Account: account, Memo: memo}, id, "", "")
	if errors.Is(err, ErrNotFound) {
		return "", kyc.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	return t.KYCType, nil
}

// Get finds the owner's transaction by one of its ids; another owner's is ErrNotFound.
func (s *Service) Get(ctx context.Context, p Principal, id, stellarID, externalID string) (*Transaction, error) {
	if id == "" && stellarID == "" && externalID == "" {
		return nil, inputErr("id, stellar_transaction_id or external_transaction_id is required")
	}
	var t *Transaction
	err := s.Store.TransferView(ctx, func(tx Tx) error {
		var err error
		switch {
		case id != "":
		case stellarID != "":
			id, err = tx.ByStellarID(stellarID)
		default:
			id, err = tx.ByExternalID(externalID)
		}
		if err != nil {
			return err
		}
		t, err = tx.Get(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.Account != p.Account || t.Memo != p.Memo {
		return nil, ErrNotFound
	}
	return t, nil
}
