// Package views holds the JSON shapes that operators and their programs read: `--json` of the
// CLI today, the operator API and event payloads next. A view is a contract, not a storage
// struct: amounts are decimal strings with 7 places, times are RFC 3339 in UTC, and every field
// is always present (null for an amount or time that does not exist yet, "" for an empty text,
// [] for an empty list), so that a script never has to guess whether a key is missing or empty.
//
// The fields are documented in docs/json.md; a test checks that every field is listed there, and
// the CLI's golden files (cmd/testdata/golden) pin the whole shape.
package views

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/horizon"
	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/money"
	"github.com/anchorkit/anchor/internal/quotes"
	"github.com/anchorkit/anchor/internal/transfer"
	"github.com/anchorkit/anchor/internal/treasury"
)

// Time formats t as RFC 3339 in UTC to the second.
func Time(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Time(*t)
	return &s
}

func amountPtr(v *int64) *string {
	if v == nil {
		return nil
	}
	s := money.Format(*v)
	return &s
}

// Tx is a transaction as `tx list --json` and `tx show --json` print it.
type Tx struct {
	ID                        string   `json:"id"`
	Kind                      string   `json:"kind"`
	Status                    string   `json:"status"`
	HeldFrom                  string   `json:"held_from"`
	AssetCode                 string   `json:"asset_code"`
	AssetIssuer               string   `json:"asset_issuer"`
	Account                   string   `json:"account"`
	Memo                      string   `json:"memo"`
	CustomerID                string   `json:"customer_id"`
	ClaimedCustomerID         string   `json:"claimed_customer_id"`
	KYCType                   string   `json:"kyc_type"`
	FundingMethod             string   `json:"funding_method"`
	RequestedAmount           *string  `json:"requested_amount"`
	AmountIn                  *string  `json:"amount_in"`
	AmountFee                 *string  `json:"amount_fee"`
	AmountOut                 *string  `json:"amount_out"`
	AmountInAsset             string   `json:"amount_in_asset"`
	AmountOutAsset            string   `json:"amount_out_asset"`
	AmountFeeAsset            string   `json:"amount_fee_asset"`
	QuoteID                   string   `json:"quote_id"`
	QuoteExpiresAt            *string  `json:"quote_expires_at"`
	Price                     string   `json:"price"`
	To                        string   `json:"to"`
	DepositMemo               string   `json:"deposit_memo"`
	DepositMemoType           string   `json:"deposit_memo_type"`
	Reference                 string   `json:"reference"`
	From                      string   `json:"from"`
	WithdrawAnchorAccount     string   `json:"withdraw_anchor_account"`
	WithdrawMemo              string   `json:"withdraw_memo"`
	WithdrawMemoType          string   `json:"withdraw_memo_type"`
	RefundMemo                string   `json:"refund_memo"`
	RefundMemoType            string   `json:"refund_memo_type"`
	Dest                      string   `json:"dest"`
	DestExtra                 string   `json:"dest_extra"`
	ClaimableBalanceSupported bool     `json:"claimable_balance_supported"`
	ClaimableBalanceID        string   `json:"claimable_balance_id"`
	StellarTransactionID      string   `json:"stellar_transaction_id"`
	StellarOperationID        string   `json:"stellar_operation_id"`
	ExternalTransactionID     string   `json:"external_transaction_id"`
	Message                   string   `json:"message"`
	Refunds                   *Refunds `json:"refunds"`
	Email                     string   `json:"email_address"`
	CountryCode               string   `json:"country_code"`
	LocationID                string   `json:"location_id"`
	Lang                      string   `json:"lang"`
	OnChangeCallback          string   `json:"on_change_callback"`
	StartedAt                 string   `json:"started_at"`
	UpdatedAt                 string   `json:"updated_at"`
	CompletedAt               *string  `json:"completed_at"`
	FundsReceivedAt           *string  `json:"funds_received_at"`
	UserActionRequiredBy      *string  `json:"user_action_required_by"`
	History                   []TxMove `json:"history"`
}

// Refunds is a transaction's refunds (SEP-6's object, with decimal amounts).
type Refunds struct {
	AmountRefunded string          `json:"amount_refunded"`
	AmountFee      string          `json:"amount_fee"`
	Payments       []RefundPayment `json:"payments"`
}

// RefundPayment is one refund payment.
type RefundPayment struct {
	ID     string `json:"id"`
	IDType string `json:"id_type"`
	Amount string `json:"amount"`
	Fee    string `json:"fee"`
}

// TxMove is one entry of a transaction's history: a status change, or a note (from = to).
type TxMove struct {
	At     string `json:"at"`
	From   string `json:"from"`
	To     string `json:"to"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

// NewTx renders t.
func NewTx(t *transfer.Transaction) Tx {
	v := Tx{
		ID: t.ID, Kind: string(t.WireKind()), Status: string(t.Status), HeldFrom: string(t.HeldFrom),
		AssetCode: t.AssetCode, AssetIssuer: t.AssetIssuer, Account: t.Account, Memo: t.Memo,
		CustomerID: t.CustomerID, ClaimedCustomerID: t.ClaimedCustomerID, KYCType: t.KYCType,
		FundingMethod: t.FundingMethod, RequestedAmount: amountPtr(t.RequestedAmount),
		AmountIn: amountPtr(t.AmountIn), AmountFee: amountPtr(t.AmountFee), AmountOut: amountPtr(t.AmountOut),
		To: t.To, DepositMemo: t.DepositMemo, DepositMemoType: t.DepositMemoType, Reference: t.Reference,
		From: t.From, WithdrawAnchorAccount: t.WithdrawAnchorAccount, WithdrawMemo: t.WithdrawMemo,
		WithdrawMemoType: t.WithdrawMemoType, RefundMemo: t.RefundMemo, RefundMemoType: t.RefundMemoType,
		Dest: t.Dest, DestExtra: t.DestExtra, ClaimableBalanceSupported: t.ClaimableBalanceSupported,
		ClaimableBalanceID: t.ClaimableBalanceID, StellarTransactionID: t.StellarTransactionID,
		StellarOperationID: t.StellarOperationID, ExternalTransactionID: t.ExternalTransactionID,
		Message: t.Message, Email: t.Email, CountryCode: t.CountryCode, LocationID: t.LocationID,
		Lang: t.Lang, OnChangeCallback: t.OnChangeCallback,
		StartedAt: Time(t.StartedAt), UpdatedAt: Time(t.UpdatedAt), CompletedAt: timePtr(t.CompletedAt),
		FundsReceivedAt: timePtr(t.FundsReceivedAt), UserActionRequiredBy: timePtr(t.UserActionRequiredBy),
		History: make([]TxMove, 0, len(t.History)),
	}
	v.AmountInAsset, v.AmountOutAsset, v.AmountFeeAsset = t.Assets()
	v.Price = t.Price
	if q := t.Quote; q != nil {
		v.QuoteID, v.QuoteExpiresAt = q.ID, timePtr(&q.ExpiresAt)
	}
	if r := t.Refunds; r != nil {
		v.Refunds = &Refunds{AmountRefunded: money.Format(r.AmountRefunded), AmountFee: money.Format(r.AmountFee), Payments: make([]RefundPayment, 0, len(r.Payments))}
		for _, p := range r.Payments {
			v.Refunds.Payments = append(v.Refunds.Payments, RefundPayment{ID: p.ID, IDType: p.IDType, Amount: money.Format(p.Amount), Fee: money.Format(p.Fee)})
		}
	}
	for _, m := range t.History {
		v.History = append(v.History, TxMove{At: Time(m.At), From: string(m.From), To: string(m.To), Actor: m.Actor, Reason: m.Reason})
	}
	return v
}

// TxDetail is `tx show --json`: the transaction, the moves an operator may make from its status,
// and what it waits for.
type TxDetail struct {
	Transaction  Tx       `json:"transaction"`
	AllowedMoves []string `json:"allowed_moves"`
	Waiting      string   `json:"waiting"`
}

// NewTxDetail renders d.
func NewTxDetail(d *transfer.Detail) TxDetail {
	v := TxDetail{Transaction: NewTx(d.Transaction), AllowedMoves: make([]string, 0, len(d.Allowed)), Waiting: d.Waiting}
	for _, s := range d.Allowed {
		v.AllowedMoves = append(v.AllowedMoves, string(s))
	}
	return v
}

// CustomerRow is one row of `kyc list --json`: a customer and one customer type.
type CustomerRow struct {
	ID                 string `json:"id"`
	Account            string `json:"account"`
	Memo               string `json:"memo"`
	Type               string `json:"type"`
	Status             string `json:"status"`
	PreviouslyRejected bool   `json:"previously_rejected"`
	UpdatedAt          string `json:"updated_at"`
}

// NewCustomerRow renders s.
func NewCustomerRow(s kyc.Summary) CustomerRow {
	return CustomerRow{ID: s.ID, Account: s.Account, Memo: s.Memo, Type: s.Type, Status: string(s.Status),
		PreviouslyRejected: s.PreviouslyRejected, UpdatedAt: Time(s.UpdatedAt)}
}

// Customer is `kyc show --json`. For an erased customer, customer is null and erased holds what
// the law keeps of a rejection.
type Customer struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	Customer *CustomerData `json:"customer"`
	Files    []File        `json:"files"`
	History  []KYCEvent    `json:"history"`
	Erased   *Tombstone    `json:"erased"`
}

// CustomerData is a stored customer: SEP-9 values, per-field review states and file ids.
type CustomerData struct {
	Account            string                `json:"account"`
	Memo               string                `json:"memo"`
	Type               string                `json:"type"`
	Values             map[string]string     `json:"values"`
	Files              map[string]string     `json:"files"`
	Fields             map[string]FieldState `json:"fields"`
	FileBytes          int64                 `json:"file_bytes"`
	Message            string                `json:"message"`
	CallbackURL        string                `json:"callback_url"`
	PreviouslyRejected *Tombstone            `json:"previously_rejected"`
	CreatedAt          string                `json:"created_at"`
	UpdatedAt          string                `json:"updated_at"`
}

// FieldState is the review state of one provided field.
type FieldState struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// File is an uploaded file's metadata (the bytes come with `kyc show --save-files`).
type File struct {
	FileID      string `json:"file_id"`
	Field       string `json:"field"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CreatedAt   string `json:"created_at"`
}

// KYCEvent is one entry of a customer's audit trail.
type KYCEvent struct {
	Seq    uint64 `json:"seq"`
	At     string `json:"at"`
	By     string `json:"by"`
	Action string `json:"action"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
	Status string `json:"status"`
}

// Tombstone is a rejected customer's decision, kept after its data was erased.
type Tombstone struct {
	CustomerID string `json:"customer_id"`
	Account    string `json:"account"`
	Memo       string `json:"memo"`
	Decision   string `json:"decision"`
	DecidedAt  string `json:"decided_at"`
	By         string `json:"by"`
	Reason     string `json:"reason"`
	ErasedAt   string `json:"erased_at"`
}

func newTombstone(t *kyc.Tombstone) *Tombstone {
	if t == nil {
		return nil
	}
	return &Tombstone{CustomerID: t.CustomerID, Account: t.Account, Memo: t.Memo, Decision: string(t.Decision),
		DecidedAt: Time(t.DecidedAt), By: t.By, Reason: t.Reason, ErasedAt: Time(t.ErasedAt)}
}

// NewCustomer renders d.
func NewCustomer(d *kyc.Detail) Customer {
	v := Customer{Status: string(d.Status), Files: make([]File, 0, len(d.Files)), History: make([]KYCEvent, 0, len(d.History)), Erased: newTombstone(d.Erased)}
	if d.Erased != nil {
		v.ID = d.Erased.CustomerID
	}
	if c := d.Customer; c != nil {
		v.ID = c.ID
		cd := &CustomerData{Account: c.Account, Memo: c.Memo, Type: c.Type, Values: map[string]string{}, Files: map[string]string{},
			Fields: map[string]FieldState{}, FileBytes: c.FileBytes, Message: c.Message, CallbackURL: c.CallbackURL,
			PreviouslyRejected: newTombstone(c.PreviouslyRejected), CreatedAt: Time(c.CreatedAt), UpdatedAt: Time(c.UpdatedAt)}
		for k, x := range c.Values {
			cd.Values[k] = x
		}
		for k, x := range c.Files {
			cd.Files[k] = x
		}
		for k, x := range c.Fields {
			cd.Fields[k] = FieldState{Status: string(x.Status), Error: x.Error}
		}
		v.Customer = cd
	}
	for _, f := range d.Files {
		v.Files = append(v.Files, File{FileID: f.ID, Field: f.Field, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, CreatedAt: Time(f.CreatedAt)})
	}
	for _, e := range d.History {
		v.History = append(v.History, KYCEvent{Seq: e.Seq, At: Time(e.At), By: e.By, Action: e.Action, Field: e.Field, Reason: e.Reason, Status: string(e.Status)})
	}
	return v
}

// Payment is a payment into a distribution account that matched no withdrawal (`payment list
// --json`), and how it was settled.
type Payment struct {
	ID                   string      `json:"id"`
	At                   string      `json:"at"`
	Account              string      `json:"account"`
	From                 string      `json:"from"`
	Asset                string      `json:"asset"`
	Amount               string      `json:"amount"`
	MemoType             string      `json:"memo_type"`
	Memo                 string      `json:"memo"`
	StellarTransactionID string      `json:"stellar_transaction_id"`
	TransferID           string      `json:"transfer_id"`
	Reason               string      `json:"reason"`
	State                string      `json:"state"`
	Settlement           *Settlement `json:"settlement"`
}

// Settlement is how an operator settled an unmatched payment.
type Settlement struct {
	Action               string `json:"action"`
	By                   string `json:"by"`
	At                   string `json:"at"`
	Note                 string `json:"note"`
	WithdrawalID         string `json:"withdrawal_id"`
	ActionID             string `json:"action_id"`
	StellarTransactionID string `json:"stellar_transaction_id"`
}

// NewPayment renders u.
func NewPayment(u treasury.Unmatched) Payment {
	p := Payment{ID: u.PagingToken, At: Time(u.At), Account: u.Account, From: u.From, Asset: u.Asset, Amount: u.Amount,
		MemoType: u.MemoType, Memo: u.Memo, StellarTransactionID: u.TxHash, TransferID: u.TransferID, Reason: u.Reason, State: u.State()}
	if s := u.Settlement; s != nil {
		p.Settlement = &Settlement{Action: s.Action, By: s.By, At: Time(s.At), Note: s.Note, WithdrawalID: s.WithdrawalID, ActionID: s.ActionID, StellarTransactionID: s.Hash}
	}
	return p
}

// NewPayments renders a list of payments.
func NewPayments(list []treasury.Unmatched) []Payment {
	out := make([]Payment, 0, len(list))
	for _, u := range list {
		out = append(out, NewPayment(u))
	}
	return out
}

// Report is `reconcile --json`: the asset reports and untied movements as treasury computes
// them (already decimal strings), and the unsettled payments as Payment views.
type Report struct {
	Assets            []treasury.AssetReport `json:"assets"`
	UntiedMovements   []treasury.Movement    `json:"untied_movements"`
	UnsettledPayments []Payment              `json:"unsettled_payments"`
	OK                bool                   `json:"ok"`
}

// NewReport renders r.
func NewReport(r *treasury.Report) Report {
	v := Report{Assets: r.Assets, UntiedMovements: r.Untied, UnsettledPayments: NewPayments(r.Unsettled), OK: r.OK}
	if v.Assets == nil {
		v.Assets = []treasury.AssetReport{}
	}
	if v.UntiedMovements == nil {
		v.UntiedMovements = []treasury.Movement{}
	}
	return v
}

// Account is a Stellar account as `account show --json` prints it: the parts an anchor's
// operator checks, in this contract's form rather than Horizon's document.
type Account struct {
	AccountID  string          `json:"account_id"`
	Sequence   string          `json:"sequence"`
	HomeDomain string          `json:"home_domain"`
	Thresholds Thresholds      `json:"thresholds"`
	Flags      AccountFlags    `json:"flags"`
	Balances   []Balance       `json:"balances"`
	Signers    []AccountSigner `json:"signers"`
}

// Thresholds are the account's operation thresholds.
type Thresholds struct {
	Low    int `json:"low"`
	Medium int `json:"medium"`
	High   int `json:"high"`
}

// AccountFlags are the issuer flags.
type AccountFlags struct {
	AuthRequired        bool `json:"auth_required"`
	AuthRevocable       bool `json:"auth_revocable"`
	AuthImmutable       bool `json:"auth_immutable"`
	AuthClawbackEnabled bool `json:"auth_clawback_enabled"`
}

// Balance is one balance: "native" or CODE:ISSUER; limit and authorized are null for XLM.
type Balance struct {
	Asset      string  `json:"asset"`
	Balance    string  `json:"balance"`
	Limit      *string `json:"limit"`
	Authorized *bool   `json:"authorized"`
}

// AccountSigner is one signer and its weight.
type AccountSigner struct {
	Key    string `json:"key"`
	Weight int    `json:"weight"`
}

// NewAccount renders a.
func NewAccount(a *horizon.Account) Account {
	v := Account{AccountID: a.ID, Sequence: strconv.FormatInt(a.Sequence, 10), HomeDomain: a.HomeDomain,
		Thresholds: Thresholds{Low: int(a.Thresholds.LowThreshold), Medium: int(a.Thresholds.MedThreshold), High: int(a.Thresholds.HighThreshold)},
		Flags:      AccountFlags{AuthRequired: a.Flags.AuthRequired, AuthRevocable: a.Flags.AuthRevocable, AuthImmutable: a.Flags.AuthImmutable, AuthClawbackEnabled: a.Flags.AuthClawbackEnabled},
		Balances:   make([]Balance, 0, len(a.Balances)), Signers: make([]AccountSigner, 0, len(a.Signers))}
	for _, b := range a.Balances {
		x := Balance{Asset: "native", Balance: b.Balance}
		if b.Asset.Type != "native" {
			x.Asset = b.Asset.Code + ":" + b.Asset.Issuer
			limit, auth := b.Limit, true
			if b.IsAuthorized != nil {
				auth = *b.IsAuthorized
			}
			x.Limit, x.Authorized = &limit, &auth
		}
		v.Balances = append(v.Balances, x)
	}
	for _, s := range a.Signers {
		v.Signers = append(v.Signers, AccountSigner{Key: s.Key, Weight: int(s.Weight)})
	}
	return v
}

// ConfigTree renders a configuration value (config.Asset, config.Documentation, ...) under the
// key names anchor.yaml uses (its mapstructure tags), so that `config show --json` reads like the
// file it came from: structs become objects, durations strings like "24h0m0s", nil slices [].
func ConfigTree(v any) any { return configTree(reflect.ValueOf(v)) }

func configTree(v reflect.Value) any {
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return configTree(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out[name] = configTree(v.Field(i))
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			out = append(out, configTree(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = configTree(iter.Value())
		}
		return out
	default:
		return v.Interface()
	}
}

// Proposal is an action the two-person rule holds (`approvals list --json`).
type Proposal struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Purpose    string  `json:"purpose"`
	Asset      string  `json:"asset"`
	Amount     string  `json:"amount"`
	Source     string  `json:"source"`
	TransferID string  `json:"transfer_id"`
	PaymentID  string  `json:"payment_id"`
	State      string  `json:"state"`
	ProposedBy string  `json:"proposed_by"`
	ProposedAt string  `json:"proposed_at"`
	ExpiresAt  string  `json:"expires_at"`
	ApprovedBy string  `json:"approved_by"`
	ApprovedAt *string `json:"approved_at"`
}

// NewProposals renders proposals as of now.
func NewProposals(list []treasury.Proposal, now time.Time) []Proposal {
	out := make([]Proposal, 0, len(list))
	for _, p := range list {
		out = append(out, Proposal{ID: p.ID, Kind: p.Kind, Purpose: p.Purpose, Asset: p.Asset, Amount: money.Format(p.Amount), Source: p.Source,
			TransferID: p.TransferID, PaymentID: p.PaymentID, State: p.State(now), ProposedBy: p.ProposedBy, ProposedAt: Time(p.ProposedAt),
			ExpiresAt: Time(p.ExpiresAt), ApprovedBy: p.ApprovedBy, ApprovedAt: timePtr(p.ApprovedAt)})
	}
	return out
}

// Op is a treasury action (the operator API's answer to a credit, burn, return or submit).
type Op struct {
	ID                 string   `json:"id"`
	Purpose            string   `json:"purpose"`
	State              string   `json:"state"`
	TransferID         string   `json:"transfer_id"`
	TransferIDs        []string `json:"transfer_ids"`
	ReturnOf           string   `json:"return_of"`
	Source             string   `json:"source"`
	Asset              string   `json:"asset"`
	Amount             *string  `json:"amount"`
	Hash               string   `json:"hash"`
	Envelope           string   `json:"envelope"`
	ClaimableBalanceID string   `json:"claimable_balance_id"`
	AwaitingSignatures bool     `json:"awaiting_signatures"`
	AlreadyDone        bool     `json:"already_done"`
	DryRun             bool     `json:"dry_run"`
	Operations         []string `json:"operations"`
	Result             string   `json:"result"`
	By                 string   `json:"by"`
	Attempt            int      `json:"attempt"`
	CreatedAt          *string  `json:"created_at"`
	UpdatedAt          *string  `json:"updated_at"`
}

// NewOp renders a treasury action.
func NewOp(o *treasury.Op) Op {
	v := Op{ID: o.ID, Purpose: o.Purpose, State: string(o.State), TransferID: o.TransferID, TransferIDs: nonNil(o.TransferIDs),
		ReturnOf: o.ReturnOf, Source: o.Source, Asset: o.Asset, Hash: o.Hash, Envelope: o.Envelope, ClaimableBalanceID: o.ClaimableBalanceID,
		AwaitingSignatures: o.AwaitingSignatures, AlreadyDone: o.AlreadyDone, DryRun: o.DryRun, Operations: nonNil(o.Operations),
		Result: o.Result, By: o.By, Attempt: o.Attempt}
	if o.Amount != 0 {
		v.Amount = amountPtr(&o.Amount)
	}
	if !o.CreatedAt.IsZero() {
		v.CreatedAt = timePtr(&o.CreatedAt)
	}
	if !o.UpdatedAt.IsZero() {
		v.UpdatedAt = timePtr(&o.UpdatedAt)
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// APIKey is an operator API key as `anchor apikey list --json` prints it (never its secret
// or hash).
type APIKey struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	State     string  `json:"state"`
	CreatedAt string  `json:"created_at"`
	CreatedBy string  `json:"created_by"`
	ExpiresAt *string `json:"expires_at"`
	RevokedAt *string `json:"revoked_at"`
	RevokedBy string  `json:"revoked_by"`
}

// NewAPIKey renders a key as of now.
func NewAPIKey(k *apikey.Key, now time.Time) APIKey {
	v := APIKey{ID: k.ID, Name: k.Name, Role: string(k.Role), State: k.State(now), CreatedAt: Time(k.CreatedAt), CreatedBy: k.CreatedBy, RevokedBy: k.RevokedBy}
	if !k.ExpiresAt.IsZero() {
		v.ExpiresAt = timePtr(&k.ExpiresAt)
	}
	if !k.RevokedAt.IsZero() {
		v.RevokedAt = timePtr(&k.RevokedAt)
	}
	return v
}

// Webhook is a configured webhook's backlog (anchor events webhooks, GET
// /v1/events/webhooks/{name}).
type Webhook struct {
	Webhook       string  `json:"webhook"`
	NotSent       int     `json:"not_sent"`
	OldestNotSent *string `json:"oldest_not_sent"`
	Retrying      int     `json:"retrying"`
	Dead          int     `json:"dead"`
}

// NewWebhook renders a webhook's backlog: the events its feed has yet to send and the oldest
// one's time (zero: none), its deliveries retrying and its dead letters.
func NewWebhook(name string, notSent int, oldest time.Time, retrying, dead int) Webhook {
	v := Webhook{Webhook: name, NotSent: notSent, Retrying: retrying, Dead: dead}
	if !oldest.IsZero() {
		v.OldestNotSent = timePtr(&oldest)
	}
	return v
}

// Of is the view of a service's answer, for transports that answer in views (the operator
// API): v itself when it has none (ids, statuses, store check reports).
func Of(v any, now time.Time) any {
	switch v := v.(type) {
	case *transfer.Transaction:
		return NewTx(v)
	case *transfer.Detail:
		return NewTxDetail(v)
	case []kyc.Summary:
		out := make([]CustomerRow, 0, len(v))
		for _, s := range v {
			out = append(out, NewCustomerRow(s))
		}
		return out
	case *kyc.Detail:
		return NewCustomer(v)
	case *treasury.Unmatched:
		return NewPayment(*v)
	case []treasury.Unmatched:
		return NewPayments(v)
	case *treasury.Report:
		return NewReport(v)
	case []treasury.Proposal:
		return NewProposals(v, now)
	case *treasury.Op:
		return NewOp(v)
	case *quotes.Quote:
		return NewQuote(v)
	case []*quotes.Quote:
		out := make([]Quote, 0, len(v))
		for _, q := range v {
			out = append(out, NewQuote(q))
		}
		return out
	case []*treasury.Op:
		out := make([]Op, 0, len(v))
		for _, o := range v {
			out = append(out, NewOp(o))
		}
		return out
	}
	return v
}

// Quote is a SEP-38 firm quote as `quote list --json` and `quote show --json` print it: whose
// it is, and the transaction that used it (used_by; empty while unused).
type Quote struct {
	ID                 string   `json:"id"`
	Account            string   `json:"account"`
	Memo               string   `json:"memo"`
	Context            string   `json:"context"`
	SellAsset          string   `json:"sell_asset"`
	SellAmount         string   `json:"sell_amount"`
	SellDeliveryMethod string   `json:"sell_delivery_method"`
	BuyAsset           string   `json:"buy_asset"`
	BuyAmount          string   `json:"buy_amount"`
	BuyDeliveryMethod  string   `json:"buy_delivery_method"`
	Price              string   `json:"price"`
	TotalPrice         string   `json:"total_price"`
	Fee                QuoteFee `json:"fee"`
	CreatedAt          string   `json:"created_at"`
	ExpiresAt          string   `json:"expires_at"`
	UsedBy             string   `json:"used_by"`
}

// QuoteFee is a quote's fee.
type QuoteFee struct {
	Total   string             `json:"total"`
	Asset   string             `json:"asset"`
	Details []quotes.FeeDetail `json:"details"`
}

// NewQuote renders q.
func NewQuote(q *quotes.Quote) Quote {
	return Quote{ID: q.ID, Account: q.Account, Memo: q.Memo, Context: q.Context, SellAsset: q.SellAsset, SellAmount: q.SellAmount,
		SellDeliveryMethod: q.SellDeliveryMethod, BuyAsset: q.BuyAsset, BuyAmount: q.BuyAmount, BuyDeliveryMethod: q.BuyDeliveryMethod,
		Price: q.Price, TotalPrice: q.TotalPrice, Fee: QuoteFee{Total: q.Fee.Total, Asset: q.Fee.Asset, Details: nonNilDetails(q.Fee.Details)},
		CreatedAt: Time(q.CreatedAt), ExpiresAt: Time(q.ExpiresAt), UsedBy: q.TransferID}
}

func nonNilDetails(d []quotes.FeeDetail) []quotes.FeeDetail {
	if d == nil {
		return []quotes.FeeDetail{}
	}
	return d
}
