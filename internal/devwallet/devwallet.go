// Package devwallet is a scripted Stellar wallet for demos, smoke tests and support (`anchor dev
// wallet`): it talks to any anchor by home domain, over the network and the SEPs only
// (stellar.toml, SEP-10, SEP-12, SEP-6, SEP-24, SEP-38, and Horizon for its own payments),
// never through anchor's store or admin socket. Its key lives in a local wallet file (mode
// 0600).
package devwallet

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/clients/horizonclient"
	"github.com/stellar/go-stellar-sdk/keypair"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/txnbuild"

	"github.com/anchorkit/anchor/pkg/sep10"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// File is the wallet file: the key, the anchor it talks to, and the current session.
type File struct {
	Seed       string    `json:"seed"`
	HomeDomain string    `json:"home_domain"`
	HorizonURL string    `json:"horizon_url,omitempty"` // overrides the anchor's HORIZON_URL
	Token      string    `json:"token,omitempty"`
	TokenUntil time.Time `json:"token_until,omitempty"`
	// Paid records each withdrawal's payment before it is submitted, so that a second pay of
	// the same withdrawal (after a crash, or by mistake) never pays it twice.
	Paid map[string]Payment `json:"paid,omitempty"`
}

// Payment is a withdrawal's payment: its Stellar transaction hash, and until when it can still
// reach the ledger (its time bounds).
type Payment struct {
	Hash  string    `json:"hash"`
	Until time.Time `json:"until"`
}

// Wallet is a loaded wallet file and what the anchor's stellar.toml says.
type Wallet struct {
	Path string
	File File
	Key  *keypair.Full
	TOML *stellartoml.StellarTOML
	HTTP *http.Client
	// Wait is how long Open and Login retry while the anchor or Horizon does not answer yet
	// (a server that is starting).
	Wait time.Duration
	// Friendbot funds a new account; default: Horizon's /friendbot (the stand-in), or
	// friendbot.stellar.org for the public testnet Horizon.
	Friendbot string
}

// Open reads the wallet file at path (creating a new key when it does not exist), and the
// stellar.toml of domain (or of the domain the file names).
func Open(ctx context.Context, path, domain, horizonURL string, wait time.Duration) (*Wallet, error) {
	w := &Wallet{Path: path, HTTP: &http.Client{Timeout: 15 * time.Second}, Wait: wait}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		w.File.Seed = keypair.MustRandom().Seed()
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &w.File); err != nil {
			return nil, fmt.Errorf("wallet file %s: %v", path, err)
		}
	}
	if w.Key, err = keypair.ParseFull(w.File.Seed); err != nil {
		return nil, fmt.Errorf("wallet file %s holds no valid key", path)
	}
	if domain != "" && domain != w.File.HomeDomain {
		w.File.HomeDomain, w.File.Token = domain, ""
	}
	if horizonURL != "" {
		w.File.HorizonURL = horizonURL
	}
	if w.File.HomeDomain == "" {
		return nil, errors.New("no anchor yet: give --domain (the anchor's home domain, e.g. localhost:8000)")
	}
	if err := w.retry(ctx, func() error {
		f, err := stellartoml.Fetch(ctx, w.HTTP, w.File.HomeDomain)
		if err != nil {
			return err
		}
		w.TOML, err = stellartoml.Decode(f.Body)
		return err
	}); err != nil {
		return nil, fmt.Errorf("stellar.toml of %s: %w", w.File.HomeDomain, err)
	}
	return w, w.Save()
}

// retry runs fn until it succeeds or Wait has passed.
func (w *Wallet) retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(w.Wait)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Save writes the wallet file, mode 0600, atomically.
func (w *Wallet) Save() error {
	b, err := json.MarshalIndent(w.File, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(w.Path), ".wallet-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), w.Path)
}

// Account is the wallet's Stellar account.
func (w *Wallet) Account() string { return w.Key.Address() }

func (w *Wallet) horizon() (*horizonclient.Client, error) {
	u := w.File.HorizonURL
	if u == "" {
		u = w.TOML.HorizonURL
	}
	if u == "" {
		return nil, errors.New("the anchor's stellar.toml names no HORIZON_URL: give --horizon")
	}
	return &horizonclient.Client{HorizonURL: strings.TrimSuffix(u, "/") + "/", HTTP: w.HTTP}, nil
}

func (w *Wallet) passphrase() string {
	if w.TOML.NetworkPassphrase != "" {
		return w.TOML.NetworkPassphrase
	}
	return network.TestNetworkPassphrase
}

// Login funds the account when it does not exist yet (friendbot) and signs in with SEP-10.
func (w *Wallet) Login(ctx context.Context) (funded bool, err error) {
	hc, err := w.horizon()
	if err != nil {
		return false, err
	}
	if err := w.retry(ctx, func() error {
		_, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: w.Account()})
		if herr, ok := err.(*horizonclient.Error); ok && herr.Problem.Status == http.StatusNotFound {
			if w.TOML.NetworkPassphrase == network.PublicNetworkPassphrase {
				return errors.New("account " + w.Account() + " does not exist, and there is no friendbot on the public network")
			}
			if ferr := w.fund(ctx, hc.HorizonURL); ferr != nil {
				return ferr
			}
			funded = true
			_, err = hc.AccountDetail(horizonclient.AccountRequest{AccountID: w.Account()})
		}
		return err
	}); err != nil {
		return false, fmt.Errorf("account %s: %w", w.Account(), err)
	}
	c := &sep10.Client{HTTP: w.HTTP, Endpoint: w.TOML.WebAuthEndpoint, ServerKey: w.TOML.SigningKey, Network: w.passphrase(), HomeDomain: w.File.HomeDomain}
	tok, err := c.Authenticate(ctx, w.Account(), nil, w.Key)
	if err != nil {
		return funded, fmt.Errorf("SEP-10: %w", err)
	}
	w.File.Token, w.File.TokenUntil = tok, time.Now().Add(50*time.Minute)
	return funded, w.Save()
}

func (w *Wallet) fund(ctx context.Context, horizonURL string) error {
	fb := w.Friendbot
	switch {
	case fb != "":
	case strings.Contains(horizonURL, "horizon-testnet.stellar.org"):
		fb = "https://friendbot.stellar.org"
	default:
		fb = strings.TrimSuffix(horizonURL, "/") + "/friendbot"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", fb+"?addr="+url.QueryEscape(w.Account()), nil)
	if err != nil {
		return err
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("friendbot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("friendbot: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

// session returns a valid token, signing in again when the stored one is old.
func (w *Wallet) session(ctx context.Context) (string, error) {
	if w.File.Token == "" || time.Now().After(w.File.TokenUntil) {
		if _, err := w.Login(ctx); err != nil {
			return "", err
		}
	}
	return w.File.Token, nil
}

// asset finds a currency of the anchor's stellar.toml by code.
func (w *Wallet) asset(code string) (txnbuild.CreditAsset, error) {
	for _, c := range w.TOML.Currencies {
		if strings.EqualFold(c.Code, code) && c.Issuer != "" {
			return txnbuild.CreditAsset{Code: c.Code, Issuer: c.Issuer}, nil
		}
	}
	return txnbuild.CreditAsset{}, fmt.Errorf("the anchor's stellar.toml lists no currency %s", code)
}

// Trust adds a trustline to the anchor's asset code; a trustline that exists is left alone.
func (w *Wallet) Trust(ctx context.Context, code string) (string, error) {
	a, err := w.asset(code)
	if err != nil {
		return "", err
	}
	line, err := a.ToChangeTrustAsset()
	if err != nil {
		return "", err
	}
	return w.submit(ctx, &txnbuild.ChangeTrust{Line: line, Limit: txnbuild.MaxTrustlineLimit}, nil, nil)
}

// paymentTimeout bounds the wallet's transactions: one not in the ledger by then never will be.
const paymentTimeout = 120 * time.Second

// submit builds, signs and submits a transaction of op; signed, if not nil, sees its hash
// before it is submitted.
func (w *Wallet) submit(ctx context.Context, op txnbuild.Operation, memo txnbuild.Memo, signed func(hash string, until time.Time) error) (string, error) {
	hc, err := w.horizon()
	if err != nil {
		return "", err
	}
	acct, err := hc.AccountDetail(horizonclient.AccountRequest{AccountID: w.Account()})
	if err != nil {
		return "", fmt.Errorf("account %s: %w (run anchor dev wallet login first)", w.Account(), err)
	}
	tx, err := txnbuild.NewTransaction(txnbuild.TransactionParams{SourceAccount: &acct, IncrementSequenceNum: true, Operations: []txnbuild.Operation{op},
		Memo: memo, BaseFee: txnbuild.MinBaseFee * 10, Preconditions: txnbuild.Preconditions{TimeBounds: txnbuild.NewTimeout(int64(paymentTimeout / time.Second))}})
	if err != nil {
		return "", err
	}
	if tx, err = tx.Sign(w.passphrase(), w.Key); err != nil {
		return "", err
	}
	if signed != nil {
		hash, err := tx.HashHex(w.passphrase())
		if err != nil {
			return "", err
		}
		if err := signed(hash, time.Unix(tx.Timebounds().MaxTime, 0)); err != nil {
			return "", err
		}
	}
	res, err := hc.SubmitTransactionWithOptions(tx, horizonclient.SubmitTxOpts{SkipMemoRequiredCheck: true})
	if err != nil {
		if herr, ok := err.(*horizonclient.Error); ok {
			if codes, cerr := herr.ResultCodes(); cerr == nil {
				return "", &refusedError{fmt.Sprintf("transaction refused: %s %v", codes.TransactionCode, codes.OperationCodes), herr}
			}
		}
		return "", err
	}
	return res.Hash, nil
}

// refusedError is Horizon's refusal of a transaction, said by its result codes; it unwraps to
// Horizon's error, so that a refusal is told from a submission whose answer was lost.
type refusedError struct {
	msg string
	err *horizonclient.Error
}

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return e.err }

// Call is one SEP request's answer: its status and decoded JSON body.
type Call struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// Err is the answer's error, if it is not a success.
func (c *Call) Err() error {
	if c.Status >= 200 && c.Status < 300 {
		return nil
	}
	if msg, ok := c.Body["error"].(string); ok {
		return fmt.Errorf("status %d: %s", c.Status, msg)
	}
	return fmt.Errorf("status %d: %s", c.Status, strings.TrimSpace(string(c.Raw)))
}

func (w *Wallet) call(ctx context.Context, method, u, ctype string, body io.Reader) (*Call, error) {
	tok, err := w.session(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	c := &Call{Status: resp.StatusCode}
	if c.Raw, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20)); err != nil {
		return nil, err
	}
	_ = json.Unmarshal(c.Raw, &c.Body)
	return c, c.Err()
}

func (w *Wallet) server(which string) (string, error) {
	u := map[string]string{"kyc": w.TOML.KYCServer, "sep6": w.TOML.TransferServer, "sep24": w.TOML.TransferServerSEP0024,
		"sep38": w.TOML.AnchorQuoteServer}[which]
	if u == "" {
		return "", fmt.Errorf("the anchor's stellar.toml names no %s server", strings.ToUpper(which))
	}
	return strings.TrimSuffix(u, "/"), nil
}

// PutCustomer sends SEP-9 fields and files (field → path) with SEP-12 PUT /customer.
func (w *Wallet) PutCustomer(ctx context.Context, typ string, fields, files map[string]string) (*Call, error) {
	base, err := w.server("kyc")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if typ != "" {
		mw.WriteField("type", typ)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		part, err := mw.CreateFormFile(k, filepath.Base(path))
		if err != nil {
			return nil, err
		}
		part.Write(data)
	}
	mw.Close()
	return w.call(ctx, "PUT", base+"/customer", mw.FormDataContentType(), &buf)
}

// Customer is SEP-12 GET /customer for the wallet's account.
func (w *Wallet) Customer(ctx context.Context, typ string) (*Call, error) {
	base, err := w.server("kyc")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if typ != "" {
		q.Set("type", typ)
	}
	return w.call(ctx, "GET", base+"/customer?"+q.Encode(), "", nil)
}

// Deposit is SEP-6 GET /deposit of amount of asset code, to the wallet's account; with a firm
// quote (GetQuote's answer), GET /deposit-exchange of the quote's off-chain asset and amount.
func (w *Wallet) Deposit(ctx context.Context, code, amount string, quote map[string]any) (*Call, error) {
	base, err := w.server("sep6")
	if err != nil {
		return nil, err
	}
	path, q := "/deposit", url.Values{"asset_code": {code}, "account": {w.Account()}}
	if amount != "" {
		q.Set("amount", amount)
	}
	if quote != nil {
		path, q = "/deposit-exchange", exchangeParams(quote, "source_asset", "destination_asset", code, "sell_delivery_method")
		q.Set("account", w.Account())
	}
	return w.call(ctx, "GET", base+path+"?"+q.Encode(), "", nil)
}

// exchangeParams are a SEP-6 exchange's parameters for a firm quote: the off-chain asset (the
// quote's sell asset for a deposit, buy asset for a withdrawal) under offchainParam, the token
// code under tokenParam, the amount (the quote's sell amount), the quote's id and its delivery
// method (method: the quote's field) as funding_method.
func exchangeParams(quote map[string]any, offchainParam, tokenParam, code, method string) url.Values {
	str := func(k string) string { v, _ := quote[k].(string); return v }
	offchain := str("buy_asset")
	if offchainParam == "source_asset" {
		offchain = str("sell_asset")
	}
	q := url.Values{offchainParam: {offchain}, tokenParam: {code}, "quote_id": {str("id")}, "amount": {str("sell_amount")}}
	if m := str(method); m != "" {
		q.Set("funding_method", m)
	}
	return q
}

// AssetID writes an asset as SEP-38 does: a code of the anchor's stellar.toml (USDX) as
// stellar:USDX:ISSUER; an id already in that form (stellar:..., iso4217:EUR) as it is.
func (w *Wallet) AssetID(a string) (string, error) {
	if strings.Contains(a, ":") {
		return a, nil
	}
	ca, err := w.asset(a)
	if err != nil {
		return "", err
	}
	return "stellar:" + ca.Code + ":" + ca.Issuer, nil
}

// Quote asks SEP-38 POST /quote for a firm quote (the request's fields as SEP-38 names them).
func (w *Wallet) Quote(ctx context.Context, req map[string]string) (*Call, error) {
	base, err := w.server("sep38")
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return w.call(ctx, "POST", base+"/quote", "application/json", bytes.NewReader(body))
}

// GetQuote is SEP-38 GET /quote/{id}: a firm quote of the wallet's.
func (w *Wallet) GetQuote(ctx context.Context, id string) (map[string]any, error) {
	base, err := w.server("sep38")
	if err != nil {
		return nil, err
	}
	c, err := w.call(ctx, "GET", base+"/quote/"+url.PathEscape(id), "", nil)
	if err != nil {
		return nil, fmt.Errorf("quote %s: %w", id, err)
	}
	return c.Body, nil
}

// Withdraw asks SEP-6 GET /withdraw for amount of asset code (with a firm quote: GET
// /withdraw-exchange of the quote's sell amount for its off-chain asset), then pays it on-chain
// from the wallet's account to the anchor's account with the memo it gave. It returns the
// anchor's answer and the payment's hash.
func (w *Wallet) Withdraw(ctx context.Context, code, amount string, quote map[string]any) (*Call, string, error) {
	base, err := w.server("sep6")
	if err != nil {
		return nil, "", err
	}
	path, q := "/withdraw", url.Values{"asset_code": {code}, "amount": {amount}}
	if quote != nil {
		path, q = "/withdraw-exchange", exchangeParams(quote, "destination_asset", "source_asset", code, "buy_delivery_method")
		amount = q.Get("amount")
	}
	q.Set("account", w.Account())
	c, err := w.call(ctx, "GET", base+path+"?"+q.Encode(), "", nil)
	if err != nil {
		return c, "", err
	}
	dest, _ := c.Body["account_id"].(string)
	if dest == "" {
		return c, "", errors.New("the anchor gave no account_id to pay (its customer information may still be needed: anchor dev wallet kyc status)")
	}
	memo, _ := c.Body["memo"].(string)
	memoType, _ := c.Body["memo_type"].(string)
	id, _ := c.Body["id"].(string)
	hash, err := w.pay(ctx, id, code, amount, dest, memo, memoType)
	return c, hash, err
}

// pay pays amount of the anchor's asset code to dest with the memo the anchor gave, for the
// withdrawal id (recorded in the wallet file before it is submitted: see PayWithdrawal).
func (w *Wallet) pay(ctx context.Context, id, code, amount, dest, memoValue, memoType string) (string, error) {
	a, err := w.asset(code)
	if err != nil {
		return "", err
	}
	var memo txnbuild.Memo
	if memoValue != "" {
		switch memoType {
		case "id", "":
			n, err := strconv.ParseUint(memoValue, 10, 64)
			if err != nil {
				return "", fmt.Errorf("memo %q is not an id memo", memoValue)
			}
			memo = txnbuild.MemoID(n)
		case "text":
			memo = txnbuild.MemoText(memoValue)
		case "hash":
			raw, err := base64.StdEncoding.DecodeString(memoValue)
			if err != nil || len(raw) != 32 {
				return "", fmt.Errorf("memo %q is not a base64 hash memo", memoValue)
			}
			memo = txnbuild.MemoHash(raw)
		default:
			return "", fmt.Errorf("memo type %q is not supported by this wallet", memoType)
		}
	}
	record := func(hash string, until time.Time) error {
		if id == "" {
			return nil
		}
		if w.File.Paid == nil {
			w.File.Paid = map[string]Payment{}
		}
		w.File.Paid[id] = Payment{Hash: hash, Until: until}
		return w.Save()
	}
	hash, err := w.submit(ctx, &txnbuild.Payment{Destination: dest, Amount: amount, Asset: a}, memo, record)
	if err != nil && id != "" && w.File.Paid[id].Hash != "" && !maybeSubmitted(err) {
		delete(w.File.Paid, id) // refused: nothing was paid
		_ = w.Save()
	}
	return hash, err
}

// maybeSubmitted says whether a failed submission may still have reached the network (no
// answer, rather than Horizon's refusal).
func maybeSubmitted(err error) bool {
	var herr *horizonclient.Error
	return !errors.As(err, &herr) || herr.Problem.Status == http.StatusGatewayTimeout
}

// ErrNothingToPay is PayWithdrawal's answer for a transaction that wants no payment from the
// wallet: not a withdrawal, paid already, or over.
var ErrNothingToPay = errors.New("nothing to pay")

// PayWithdrawal pays a withdrawal (SEP-6 or SEP-24) that waits for the user's payment
// (pending_user_transfer_start): amount_in of its asset to withdraw_anchor_account with
// withdraw_memo. code names the asset when the transaction does not (amount_in_asset); empty:
// the anchor's only currency. A withdrawal this wallet has paid is never paid again: the payment
// is recorded in the wallet file before it is submitted, and a recorded one that reached the
// ledger is returned as it is (already true).
func (w *Wallet) PayWithdrawal(ctx context.Context, id string, tx map[string]any, code string) (hash string, already bool, err error) {
	if p, ok := w.File.Paid[id]; ok {
		hc, err := w.horizon()
		if err != nil {
			return "", false, err
		}
		detail, err := hc.TransactionDetail(p.Hash)
		var herr *horizonclient.Error
		switch {
		case err == nil && detail.Successful:
			return p.Hash, true, nil
		case err == nil:
			// In the ledger but failed (its fee and sequence number spent, nothing paid): pay
			// again, below.
		case !errors.As(err, &herr) || herr.Problem.Status != http.StatusNotFound:
			return "", false, fmt.Errorf("the payment %s recorded for %s: %w", p.Hash, id, err)
		case time.Now().Before(p.Until.Add(10 * time.Second)):
			return "", false, fmt.Errorf("the payment %s recorded for %s is not in the ledger yet, and may still reach it until %s: try again then", p.Hash, id, p.Until.Format(time.RFC3339))
		}
		// Its time bounds have passed: it never will. Pay again.
	}
	str := func(k string) string { v, _ := tx[k].(string); return v }
	switch {
	case str("kind") != "withdrawal" && str("kind") != "withdrawal-exchange":
		return "", false, fmt.Errorf("%s is a %s: %w", id, str("kind"), ErrNothingToPay)
	case str("stellar_transaction_id") != "":
		return "", false, fmt.Errorf("withdrawal %s is paid already, by Stellar transaction %s (not from this wallet file)", id, str("stellar_transaction_id"))
	case str("status") != "pending_user_transfer_start":
		return "", false, fmt.Errorf("withdrawal %s is %s: %w", id, str("status"), ErrNothingToPay)
	case str("withdraw_anchor_account") == "" || str("amount_in") == "":
		return "", false, fmt.Errorf("withdrawal %s names no withdraw_anchor_account or amount_in to pay", id)
	}
	if a := str("amount_in_asset"); strings.HasPrefix(a, "stellar:") {
		code, _, _ = strings.Cut(strings.TrimPrefix(a, "stellar:"), ":")
	}
	if code == "" {
		if len(w.TOML.Currencies) != 1 {
			return "", false, errors.New("the anchor has several currencies: give --asset")
		}
		code = w.TOML.Currencies[0].Code
	}
	hash, err = w.pay(ctx, id, code, str("amount_in"), str("withdraw_anchor_account"), str("withdraw_memo"), str("withdraw_memo_type"))
	return hash, false, err
}

// Interactive starts a SEP-24 deposit or withdrawal (kind "deposit" or "withdraw") of the
// anchor's asset code, for amount (empty: the user gives it in the anchor's pages), or for a
// firm quote's amount and off-chain asset. The answer holds the transaction's id and the url to
// open.
func (w *Wallet) Interactive(ctx context.Context, kind, code, amount string, quote map[string]any) (*Call, error) {
	base, err := w.server("sep24")
	if err != nil {
		return nil, err
	}
	form := url.Values{"asset_code": {code}, "account": {w.Account()}}
	if amount != "" {
		form.Set("amount", amount)
	}
	if quote != nil {
		offchain := "destination_asset"
		if kind == "deposit" {
			offchain = "source_asset"
		}
		q := exchangeParams(quote, offchain, "asset_code", code, "")
		for k := range q {
			form.Set(k, q.Get(k))
		}
	}
	return w.call(ctx, "POST", base+"/transactions/"+kind+"/interactive", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// Transaction is GET /transaction?id= of the transfer server that knows the transaction: SEP-6's,
// then SEP-24's (each keeps to its own transactions).
func (w *Wallet) Transaction(ctx context.Context, id string) (*Call, error) {
	var last *Call
	var lastErr error
	for _, which := range []string{"sep6", "sep24"} {
		base, err := w.server(which)
		if err != nil {
			continue
		}
		c, err := w.call(ctx, "GET", base+"/transaction?"+url.Values{"id": {id}}.Encode(), "", nil)
		if c == nil || c.Status != http.StatusNotFound {
			return c, err
		}
		last, lastErr = c, err
	}
	if last == nil {
		return nil, errors.New("the anchor's stellar.toml names no transfer server (TRANSFER_SERVER, TRANSFER_SERVER_SEP0024)")
	}
	return last, lastErr
}

// Transactions is GET /transactions for asset code, of SEP-6 or (interactive) SEP-24.
func (w *Wallet) Transactions(ctx context.Context, code string, interactive bool) (*Call, error) {
	which := "sep6"
	if interactive {
		which = "sep24"
	}
	base, err := w.server(which)
	if err != nil {
		return nil, err
	}
	return w.call(ctx, "GET", base+"/transactions?"+url.Values{"asset_code": {code}}.Encode(), "", nil)
}
