package kyc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/anchorkit/anchor/internal/callback"
	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/sep9"
)

// Service applies SEP-12 requests and compliance decisions to the store.
type Service struct {
	Store  Store
	Config config.KYC
	// AllowHTTPCallbacks allows http:// callback URLs (development mode).
	AllowHTTPCallbacks bool
	Now                func() time.Time
	// Wake, when set, is called after a commit that queued a callback.
	Wake func()
	// OnChange, when set, is called after a customer's fields or review state changed, so
	// that transactions waiting for its KYC can move on (SEP-6).
	OnChange func(account, memo string)
	// Transactions resolves SEP-12's transaction_id (nil: the parameter is refused).
	Transactions TransactionKYC
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

// Principal is the authenticated client: the JWT's account (G... or M...) and memo.
type Principal struct {
	Account string
	Memo    string
}

// customerType returns the configured type, or a 400.
func (s *Service) customerType(name string) (string, config.CustomerType, error) {
	if name == "" {
		name = s.Config.DefaultType
	}
	t, ok := s.Config.Types[name]
	if !ok {
		return "", t, inputErr("unknown customer type %q; this anchor knows: %s", name, strings.Join(sortedKeys(s.Config.Types), ", "))
	}
	return name, t, nil
}

// key resolves the customer key (account, memo) a request addresses, under SEP-12's rules for
// shared accounts: a memo in the JWT must match the request's; without one the request may
// name any memo of the account; a muxed JWT account may be named by its G... account and id.
func key(p Principal, account, memo, memoType string) (string, string, error) {
	muxID := ""
	base := p.Account
	if strings.HasPrefix(p.Account, "M") {
		if m, err := xdr.AddressToMuxedAccount(p.Account); err == nil {
			id, _ := m.GetId()
			muxID = strconv.FormatUint(id, 10)
			base = m.ToAccountId().Address()
		}
	}
	if account != "" && account != p.Account && !(muxID != "" && account == base) {
		return "", "", &ForbiddenError{Msg: "account does not match the authenticated account"}
	}
	switch {
	case muxID != "":
		if memo != "" && memo != muxID {
			return "", "", &ForbiddenError{Msg: "memo does not match the authenticated muxed account"}
		}
		return p.Account, "", nil
	case p.Memo != "":
		if memo != "" && memo != p.Memo {
			return "", "", &ForbiddenError{Msg: "memo does not match the authenticated memo"}
		}
		return p.Account, p.Memo, nil
	}
	if err := checkMemo(memo, memoType); err != nil {
		return "", "", err
	}
	return p.Account, memo, nil
}

// CustomerExists reports whether customer id exists (SEP-6's customer_id).
func (s *Service) CustomerExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.Store.KYCView(ctx, func(tx Tx) error {
		_, err := tx.Customer(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// TransactionKYC tells the customer type a transaction needs: the SEP-6/SEP-24 service
// implements it for SEP-12's transaction_id. ErrNotFound unless the transaction exists and
// belongs to the account and memo.
type TransactionKYC interface {
	KYCTypeOf(ctx context.Context, account, memo, transactionID string) (string, error)
}

// typeForTransaction resolves the customer type of a request naming transaction_id: the
// transaction must exist and be the authenticated account's, and its KYC type is used unless
// the request names one (SEP-12: "the anchor can infer the type from the transaction").
func (s *Service) typeForTransaction(ctx context.Context, p Principal, typeName, txID string) (string, error) {
	if txID == "" {
		return typeName, nil
	}
	if s.Transactions == nil {
		return "", inputErr("transaction_id is not supported by this anchor")
	}
	t, err := s.Transactions.KYCTypeOf(ctx, p.Account, p.Memo, txID)
	if errors.Is(err, ErrNotFound) {
		return "", inputErr("transaction_id %q is not a transaction of the authenticated account", txID)
	}
	if err != nil {
		return "", err
	}
	if typeName == "" {
		return t, nil
	}
	return typeName, nil
}

// statuses is the customer's status for every configured type.
func (s *Service) statuses(c *Customer) map[string]Status {
	out := make(map[string]Status, len(s.Config.Types))
	for name, t := range s.Config.Types {
		out[name] = c.StatusFor(t)
	}
	return out
}

// checkMemo applies the memo type's rules (Stellar memos: id a uint64, text at most 28 bytes,
// hash 32 bytes, base64 in SEP-12). Without a type, a memo is an id if it reads as one, else
// text.
func checkMemo(memo, memoType string) error {
	if memo == "" {
		return nil
	}
	_, idErr := strconv.ParseUint(memo, 10, 64)
	switch memoType {
	case "id":
		if idErr != nil {
			return inputErr("memo is not an id memo (a 64-bit unsigned number)")
		}
	case "", "text":
		if (memoType == "text" || idErr != nil) && len(memo) > 28 {
			return inputErr("memo is longer than 28 bytes (the limit of a text memo)")
		}
	case "hash":
		if b, err := base64.StdEncoding.DecodeString(memo); err != nil || len(b) != 32 {
			return inputErr("memo is not a base64-encoded 32-byte hash (memo_type hash)")
		}
	default:
		return inputErr("memo_type must be id, text or hash")
	}
	return nil
}

// owns reports whether p may see customer c.
func owns(p Principal, c *Customer) bool {
	if c.Account != p.Account {
		return false
	}
	return p.Memo == "" || c.Memo == p.Memo
}

// find loads the customer by id (404 unless p owns it) or by key (nil if none).
func find(tx Tx, p Principal, id, account, memo string) (*Customer, error) {
	if id != "" {
		c, err := tx.Customer(id)
		if errors.Is(err, ErrNotFound) || (err == nil && !owns(p, c)) {
			return nil, ErrNotFound
		}
		return c, err
	}
	cid, err := tx.CustomerID(account, memo)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return tx.Customer(cid)
}

// GetQuery are the parameters of GET /customer.
type GetQuery struct {
	ID, Account, Memo, MemoType, Type, TransactionID, Lang string
}

// Get answers GET /customer.
func (s *Service) Get(ctx context.Context, p Principal, q GetQuery) (*Response, error) {
	typeName, err := s.typeForTransaction(ctx, p, q.Type, q.TransactionID)
	if err != nil {
		return nil, err
	}
	_, t, err := s.customerType(typeName)
	if err != nil {
		return nil, err
	}
	account, memo, err := key(p, q.Account, q.Memo, q.MemoType)
	if err != nil {
		return nil, err
	}
	var c *Customer
	err = s.Store.KYCView(ctx, func(tx Tx) error {
		var err error
		c, err = find(tx, p, q.ID, account, memo)
		return err
	})
	if err != nil {
		return nil, err
	}
	return Describe(c, t), nil
}

// BinaryValue is an uploaded binary field.
type BinaryValue struct {
	Data        []byte
	ContentType string // sniffed and checked
}

// PutRequest is a parsed PUT /customer (see ParsePut).
type PutRequest struct {
	ID, Account, Memo, MemoType, Type, TransactionID string
	Values                                           map[string]string
	Binary                                           map[string]BinaryValue
	FileIDs                                          map[string]string
	Verifications                                    map[string]string
}

// Put applies PUT /customer in one transaction and returns the customer id.
func (s *Service) Put(ctx context.Context, p Principal, r *PutRequest) (string, error) {
	typeName, err := s.typeForTransaction(ctx, p, r.Type, r.TransactionID)
	if err != nil {
		return "", err
	}
	typeName, t, err := s.customerType(typeName)
	if err != nil {
		return "", err
	}
	account, memo, err := key(p, r.Account, r.Memo, r.MemoType)
	if err != nil {
		return "", err
	}
	if err := checkValues(r); err != nil {
		return "", err
	}
	for name, b := range r.Binary {
		if int64(len(b.Data)) > s.Config.MaxFileSize {
			return "", &TooLargeError{Msg: name + " is larger than " + strconv.FormatInt(s.Config.MaxFileSize, 10) + " bytes"}
		}
	}
	now := s.now()
	var id string
	var queued bool
	err = s.Store.KYCUpdate(ctx, func(tx Tx) error {
		queued = false
		c, err := find(tx, p, r.ID, account, memo)
		if err != nil {
			return err
		}
		if c == nil {
			c = &Customer{V: 1, ID: NewID(), Account: account, Memo: memo, CreatedAt: now,
				Values: map[string]string{}, Files: map[string]string{}, Fields: map[string]FieldState{}}
			// A rejection outlives erasure: a new submission for its account and memo is flagged.
			ts, err := tx.Tombstone(account, memo)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			c.PreviouslyRejected = ts
		}
		beforeAll := s.statuses(c)
		var changed []string
		set := func(field string) {
			c.Fields[field] = FieldState{Status: FieldProcessing}
			changed = append(changed, field)
		}
		for _, name := range sortedKeys(r.Values) {
			v := r.Values[name]
			if old, ok := c.Values[name]; ok && old == v && c.Fields[name].Status != FieldRejected {
				continue
			}
			c.Values[name] = v
			set(name)
		}
		for _, name := range sortedKeys(r.Binary) {
			b := r.Binary[name]
			sum := sha256.Sum256(b.Data)
			hash := hex.EncodeToString(sum[:])
			if old, ok := c.Files[name]; ok {
				if f, err := tx.File(old); err == nil && f.SHA256 == hash && c.Fields[name].Status != FieldRejected {
					continue
				}
				if err := s.dropFile(tx, c, old); err != nil {
					return err
				}
			}
			f := &File{V: 1, ID: "file_" + NewID(), CustomerID: c.ID, Account: account, Memo: memo, Field: name,
				ContentType: b.ContentType, Size: int64(len(b.Data)), SHA256: hash, CreatedAt: now}
			if c.FileBytes+f.Size > s.Config.CustomerQuota {
				return &TooLargeError{Msg: "the customer's files would exceed the quota of " + strconv.FormatInt(s.Config.CustomerQuota, 10) + " bytes"}
			}
			if err := s.checkStorage(tx, account, f.Size); err != nil {
				return err
			}
			if err := tx.PutFile(f, b.Data); err != nil {
				return err
			}
			c.FileBytes += f.Size
			c.Files[name] = f.ID
			set(name)
		}
		for _, name := range sortedKeys(r.FileIDs) {
			fid := r.FileIDs[name]
			if c.Files[name] == fid && c.Fields[name].Status != FieldRejected {
				continue
			}
			f, err := tx.File(fid)
			if errors.Is(err, ErrNotFound) || (err == nil && (f.Account != account || (f.CustomerID != "" && f.CustomerID != c.ID))) {
				return inputErr("%s_file_id: file %q not found", name, fid)
			}
			if err != nil {
				return err
			}
			// The type was sniffed when the file was stored: no need to read it again.
			field, _ := sep9.Lookup(name)
			if err := field.CheckContentType(f.ContentType); err != nil {
				return inputErr("%s_file_id: %v", name, err)
			}
			if old, ok := c.Files[name]; ok && old != fid {
				if err := s.dropFile(tx, c, old); err != nil {
					return err
				}
			}
			if f.CustomerID == "" {
				if c.FileBytes+f.Size > s.Config.CustomerQuota {
					return &TooLargeError{Msg: "the customer's files would exceed the quota"}
				}
				c.FileBytes += f.Size
				f.CustomerID, f.Field = c.ID, name
				if err := tx.PutFile(f, nil); err != nil {
					return err
				}
			}
			c.Files[name] = fid
			set(name)
		}
		for _, name := range sortedKeys(r.Verifications) {
			if c.Fields[name].Status != FieldVerificationRequired {
				return inputErr("%s_verification: %s does not need verification", name, name)
			}
		}
		c.Type = typeName
		c.UpdatedAt = now
		if len(changed) > 0 {
			if err := tx.AppendEvent(&Event{CustomerID: c.ID, At: now, By: c.Account, Action: ActionSubmit, Field: strings.Join(changed, ",")}); err != nil {
				return err
			}
		}
		if s.Config.AutoApprove && c.PreviouslyRejected == nil && c.StatusFor(t) == Processing {
			for name, st := range c.Fields {
				if st.Status == FieldProcessing {
					c.Fields[name] = FieldState{Status: FieldAccepted}
				}
			}
			c.Message = ""
			if err := tx.AppendEvent(&Event{CustomerID: c.ID, At: now, By: "anchor", Action: ActionAutoApprove, Status: Accepted}); err != nil {
				return err
			}
		}
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		if err := tx.MarkChanged(c.Account, c.Memo, now); err != nil {
			return err
		}
		id = c.ID
		// SEP-12: the callback follows any change of the customer's status, for any type.
		if !maps.Equal(beforeAll, s.statuses(c)) && c.CallbackURL != "" {
			queued = true
			return tx.EnqueueCallback(c.ID, now)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if queued {
		s.wake()
	}
	s.changed(account, memo)
	return id, nil
}

func (s *Service) dropFile(tx Tx, c *Customer, fid string) error {
	f, err := tx.File(fid)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c.FileBytes -= f.Size
	return tx.DeleteFile(fid)
}

// checkValues validates every value by its SEP-9 type; nothing is stored if one fails.
func checkValues(r *PutRequest) error {
	for _, name := range sortedKeys(r.Values) {
		f, ok := sep9.Lookup(name)
		if !ok {
			return inputErr("%s is not a SEP-9 field", name)
		}
		if f.Type == sep9.Binary {
			return inputErr("%s is binary: send it as a multipart file or as %s_file_id", name, name)
		}
		v := r.Values[name]
		var err error
		if name == "mobile_number" {
			format := r.Values["mobile_number_format"]
			if strings.TrimSpace(v) == "" {
				err = errors.New("is empty")
			} else {
				err = sep9.CheckMobileNumber(v, format)
			}
		} else {
			err = f.Check(v)
		}
		if err != nil {
			return inputErr("%s: %v", name, err)
		}
	}
	for name, b := range r.Binary {
		f, ok := sep9.Lookup(name)
		if !ok || f.Type != sep9.Binary {
			return inputErr("%s is not a binary SEP-9 field", name)
		}
		ct, err := f.CheckBinary(b.Data)
		if err != nil {
			return inputErr("%s: %v", name, err)
		}
		b.ContentType = ct
		r.Binary[name] = b
	}
	for name := range r.FileIDs {
		if f, ok := sep9.Lookup(name); !ok || f.Type != sep9.Binary {
			return inputErr("%s_file_id: %s is not a binary SEP-9 field", name, name)
		}
	}
	for name := range r.Verifications {
		if _, ok := sep9.Lookup(name); !ok {
			return inputErr("%s_verification: %s is not a SEP-9 field", name, name)
		}
	}
	return nil
}

// Delete erases the customer (account, memo): values, files and their contents.
func (s *Service) Delete(ctx context.Context, p Principal, account, memo, memoType string) error {
	acct, mem, err := key(p, account, memo, memoType)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.Store.KYCUpdate(ctx, func(tx Tx) error {
		c, err := find(tx, p, "", acct, mem)
		if err != nil {
			return err
		}
		if c == nil {
			// No customer, but maybe uploads waiting for one: they go too.
			pending, err := tx.PendingFiles(acct, mem)
			if err != nil {
				return err
			}
			for _, f := range pending {
				if err := tx.DeleteFile(f.ID); err != nil {
					return err
				}
			}
			n, err := tx.ErasePersonalData(acct, mem)
			if err != nil {
				return err
			}
			if n+len(pending) == 0 {
				return ErrNotFound
			}
			return nil
		}
		// "Delete all personal information": the customer's transactions too.
		if _, err := tx.ErasePersonalData(c.Account, c.Memo); err != nil {
			return err
		}
		if c.Rejected {
			if err := s.keepRejection(tx, c, now); err != nil {
				return err
			}
		}
		if err := tx.DeleteCustomer(c); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{CustomerID: c.ID, At: now, By: c.Account, Action: ActionDelete})
	})
	if err != nil {
		return err
	}
	// Deleted is not yet erased: bbolt may keep the freed pages for a while, so destroy the key
	// the data was sealed with (a cost per customer, not per database).
	return s.Store.WipeErasedKeys(ctx)
}

// checkStorage refuses add more file bytes for account beyond kyc.account_quota (all the
// account's memos together: 413) or kyc.storage_quota (everyone: 507); 0 means no limit.
func (s *Service) checkStorage(tx Tx, account string, add int64) error {
	mine, all, err := tx.StoredBytes(account)
	if err != nil {
		return err
	}
	if q := s.Config.AccountQuota; q > 0 && mine+add > q {
		return &TooLargeError{Msg: "this account's files would exceed its quota of " + strconv.FormatInt(q, 10) + " bytes (all its memos together)"}
	}
	if q := s.Config.StorageQuota; q > 0 && all+add > q {
		return &StorageFullError{Msg: "the anchor cannot store more files now; try again later"}
	}
	return nil
}

// keepRejection stores the tombstone of a rejected customer being erased: the last rejection in
// its audit trail (who, when, why), or its message when the trail has none.
func (s *Service) keepRejection(tx Tx, c *Customer, now time.Time) error {
	ts := &Tombstone{V: 1, CustomerID: c.ID, Account: c.Account, Memo: c.Memo, Decision: Rejected, DecidedAt: c.UpdatedAt,
		By: "anchor", Reason: c.Message, ErasedAt: now}
	events, err := tx.Events(c.ID)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Action == ActionReject {
			ts.DecidedAt, ts.By, ts.Reason = e.At, e.By, e.Reason
		}
	}
	return tx.PutTombstone(ts)
}

// CallbackRequest is PUT /customer/callback.
type CallbackRequest struct {
	ID, Account, Memo, MemoType, URL string
}

// SetCallback registers the URL that receives status changes.
func (s *Service) SetCallback(ctx context.Context, p Principal, r CallbackRequest) error {
	u, err := url.Parse(r.URL)
	if r.URL == "" {
		return inputErr("url is required")
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && s.AllowHTTPCallbacks)) {
		return inputErr("url must be an absolute https URL")
	}
	account, memo, err := key(p, r.Account, r.Memo, r.MemoType)
	if err != nil {
		return err
	}
	now := s.now()
	return s.Store.KYCUpdate(ctx, func(tx Tx) error {
		c, err := find(tx, p, r.ID, account, memo)
		if err != nil {
			return err
		}
		if c == nil {
			return ErrNotFound
		}
		c.CallbackURL = u.String()
		c.UpdatedAt = now
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{CustomerID: c.ID, At: now, By: c.Account, Action: ActionCallback})
	})
}

// Verify answers PUT /customer/verification (deprecated in SEP-12, still served).
func (s *Service) Verify(ctx context.Context, p Principal, id string, codes map[string]string, typeName string) (*Response, error) {
	if id == "" {
		return nil, inputErr("id is required")
	}
	if len(codes) == 0 {
		return nil, inputErr("no *_verification field given")
	}
	_, t, err := s.customerType(typeName)
	if err != nil {
		return nil, err
	}
	var c *Customer
	err = s.Store.KYCView(ctx, func(tx Tx) error {
		c, err = find(tx, p, id, "", "")
		if err == nil && c == nil {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(codes) {
		if c.Fields[name].Status != FieldVerificationRequired {
			return nil, inputErr("%s_verification: %s does not need verification", name, name)
		}
	}
	return Describe(c, t), nil
}

// UploadFile stores a file for later *_file_id use (POST /customer/files).
func (s *Service) UploadFile(ctx context.Context, p Principal, data []byte) (*File, error) {
	return s.upload(ctx, p, data, true)
}

// UploadPending stores a file of a PUT /customer being read as a pending upload of the caller,
// which the PUT then attaches (through FileIDs) or discards (DiscardPending).
func (s *Service) UploadPending(ctx context.Context, p Principal, data []byte) (*File, error) {
	return s.upload(ctx, p, data, false)
}

// DiscardPending deletes the caller's pending uploads among ids (a failed PUT's files).
func (s *Service) DiscardPending(ctx context.Context, p Principal, ids []string) error {
	account, _, err := key(p, "", "", "")
	if err != nil {
		return err
	}
	return s.Store.KYCUpdate(ctx, func(tx Tx) error {
		for _, id := range ids {
			f, err := tx.File(id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if f.CustomerID == "" && f.Account == account {
				if err := tx.DeleteFile(id); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// upload stores a file of the caller: attached to its customer when attach is set and there is
// one, else pending.
func (s *Service) upload(ctx context.Context, p Principal, data []byte, attach bool) (*File, error) {
	if int64(len(data)) > s.Config.MaxFileSize {
		return nil, &TooLargeError{Msg: "file is larger than " + strconv.FormatInt(s.Config.MaxFileSize, 10) + " bytes"}
	}
	liveness, _ := sep9.Lookup("proof_of_liveness")
	ct, err := liveness.CheckBinary(data)
	if err != nil {
		return nil, inputErr("file: %v", err)
	}
	account, memo, err := key(p, "", "", "")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	f := &File{V: 1, ID: "file_" + NewID(), Account: account, Memo: memo, ContentType: ct, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), CreatedAt: s.now()}
	err = s.Store.KYCUpdate(ctx, func(tx Tx) error {
		f.CustomerID = ""
		if err := s.checkStorage(tx, account, f.Size); err != nil {
			return err
		}
		cid, err := tx.CustomerID(account, memo)
		if !attach && err == nil {
			err = ErrNotFound // staged for a PUT: pending until the PUT attaches it
		}
		if errors.Is(err, ErrNotFound) {
			// No customer yet: pending uploads of the account share the customer quota.
			pending, err := tx.PendingFiles(account, memo)
			if err != nil {
				return err
			}
			total := f.Size
			for _, p := range pending {
				total += p.Size
			}
			if total > s.Config.CustomerQuota {
				return &TooLargeError{Msg: "uploaded files would exceed the quota of " + strconv.FormatInt(s.Config.CustomerQuota, 10) + " bytes"}
			}
		} else if err == nil {
			c, err := tx.Customer(cid)
			if err != nil {
				return err
			}
			if c.FileBytes+f.Size > s.Config.CustomerQuota {
				return &TooLargeError{Msg: "the customer's files would exceed the quota"}
			}
			c.FileBytes += f.Size
			f.CustomerID = cid
			if err := tx.PutCustomer(c); err != nil {
				return err
			}
		} else {
			return err
		}
		return tx.PutFile(f, data)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Files answers GET /customer/files: the caller's files by file id or customer id.
func (s *Service) Files(ctx context.Context, p Principal, fileID, customerID string) ([]*File, error) {
	if fileID == "" && customerID == "" {
		return nil, inputErr("file_id or customer_id is required")
	}
	var out []*File
	err := s.Store.KYCView(ctx, func(tx Tx) error {
		if fileID != "" {
			f, err := tx.File(fileID)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if f.Account == p.Account && (p.Memo == "" || f.Memo == p.Memo) && (customerID == "" || f.CustomerID == customerID) {
				out = append(out, f)
			}
			return nil
		}
		c, err := tx.Customer(customerID)
		if errors.Is(err, ErrNotFound) || (err == nil && !owns(p, c)) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = tx.FilesOf(customerID)
		return err
	})
	return out, err
}

// CallbackKind is the callback queue kind of customer callbacks.
const CallbackKind = "kyc"

// RenderCallback is the callback.Renderer of customers: their callback URL and their GET
// /customer response for their latest type.
func (s *Service) RenderCallback(ctx context.Context, id string) (string, []byte, error) {
	var c *Customer
	err := s.Store.KYCView(ctx, func(tx Tx) error {
		var err error
		c, err = tx.Customer(id)
		return err
	})
	if errors.Is(err, ErrNotFound) || (err == nil && c.CallbackURL == "") {
		return "", nil, callback.ErrGone
	}
	if err != nil {
		return "", nil, err
	}
	body, err := json.Marshal(Describe(c, s.Config.Types[c.Type]))
	return c.CallbackURL, body, err
}

// CustomerStatus reports the status of the customer (account, memo) for a type, the required
// fields still missing (or rejected), and its id ("" when there is no customer). SEP-6 uses it.
func (s *Service) CustomerStatus(ctx context.Context, account, memo, typeName string) (Status, []string, string, error) {
	_, t, err := s.customerType(typeName)
	if err != nil {
		return "", nil, "", err
	}
	var c *Customer
	err = s.Store.KYCView(ctx, func(tx Tx) error {
		id, err := tx.CustomerID(account, memo)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		c, err = tx.Customer(id)
		return err
	})
	if err != nil {
		return "", nil, "", err
	}
	var missing []string
	for _, f := range t.Fields {
		if c == nil {
			missing = append(missing, f)
			continue
		}
		if st, ok := c.Fields[f]; !ok || st.Status == FieldRejected {
			missing = append(missing, f)
		}
	}
	id := ""
	if c != nil {
		id = c.ID
	}
	return c.StatusFor(t), missing, id, nil
}

func (s *Service) changed(account, memo string) {
	if s.OnChange != nil {
		s.OnChange(account, memo)
	}
}
