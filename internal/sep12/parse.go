// Package sep12 serves the SEP-12 KYC API (KYC_SERVER): customers, callbacks and files.
package sep12

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"

	"github.com/anchorkit/anchor/internal/kyc"
	"github.com/anchorkit/anchor/internal/sep9"
)

// Limits bound what a request may carry.
type Limits struct {
	MaxFileSize int64 // one binary value
	MaxParts    int   // multipart parts
	// Stage, when set, stores each binary part as soon as it is read and returns its file id,
	// which ParsePut puts in FileIDs: a request then holds one file in memory at a time.
	Stage func(field string, data []byte) (fileID string, err error)
}

// maxTextValue bounds a text value in multipart bodies.
const maxTextValue = 64 << 10

// requestParams are the non-SEP-9 names a customer request may carry.
var requestParams = map[string]bool{
	"id": true, "account": true, "memo": true, "memo_type": true, "type": true,
	"transaction_id": true, "lang": true, "url": true,
}

// ParsePut parses a PUT /customer (or /customer/verification, /customer/callback) body in any of
// SEP-12's three encodings into a kyc.PutRequest, with request parameters in params. A field that
// is neither a parameter nor a SEP-9 field (or its _file_id / _verification form) is an error
// naming it. It checks sizes, not values: kyc.Service checks values.
func ParsePut(contentType string, body io.Reader, lim Limits) (*kyc.PutRequest, map[string]string, error) {
	mt, mparams, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "", nil
	}
	if err != nil {
		return nil, nil, &kyc.InputError{Msg: "Content-Type is not valid"}
	}
	pr := &kyc.PutRequest{Values: map[string]string{}, Binary: map[string]kyc.BinaryValue{},
		FileIDs: map[string]string{}, Verifications: map[string]string{}}
	params := map[string]string{}
	add := func(name, value string) error {
		if _, dup := params[name]; dup {
			return &kyc.InputError{Msg: name + " is given twice"}
		}
		params[name] = value
		return nil
	}
	switch mt {
	case "application/json":
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			break
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, nil, &kyc.InputError{Msg: "request body is not a JSON object"}
		}
		if dec.More() {
			return nil, nil, &kyc.InputError{Msg: "request body has data after the JSON object"}
		}
		for _, k := range sortedKeys(m) {
			switch v := m[k].(type) {
			case string:
				params[k] = v
			case json.Number:
				params[k] = v.String()
			case nil:
			default:
				return nil, nil, &kyc.InputError{Msg: fmt.Sprintf("%s must be a string", k)}
			}
		}
	case "application/x-www-form-urlencoded", "":
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, nil, err
		}
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, nil, &kyc.InputError{Msg: "request body is not a valid form"}
		}
		for k, vs := range vals {
			if len(vs) > 1 {
				return nil, nil, &kyc.InputError{Msg: k + " is given twice"}
			}
			params[k] = vs[0]
		}
	case "multipart/form-data":
		boundary := mparams["boundary"]
		if boundary == "" {
			return nil, nil, &kyc.InputError{Msg: "multipart body has no boundary"}
		}
		mr := multipart.NewReader(body, boundary)
		for n := 0; ; n++ {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var mbe interface{ Error() string }
				if errors.As(err, &mbe) && strings.Contains(err.Error(), "too large") {
					return nil, nil, &kyc.TooLargeError{Msg: "request body is too large"}
				}
				return nil, nil, &kyc.InputError{Msg: "multipart body is not valid"}
			}
			if n >= lim.MaxParts {
				return nil, nil, &kyc.InputError{Msg: fmt.Sprintf("more than %d parts", lim.MaxParts)}
			}
			name := part.FormName()
			if name == "" {
				return nil, nil, &kyc.InputError{Msg: "a multipart part has no name"}
			}
			f, known := sep9.Lookup(name)
			if part.FileName() != "" || (known && f.Type == sep9.Binary) {
				if !known || f.Type != sep9.Binary {
					return nil, nil, &kyc.InputError{Msg: name + " is not a binary SEP-9 field"}
				}
				data, err := io.ReadAll(io.LimitReader(part, lim.MaxFileSize+1))
				if err != nil {
					return nil, nil, tooLargeOr(err)
				}
				if int64(len(data)) > lim.MaxFileSize {
					return nil, nil, &kyc.TooLargeError{Msg: fmt.Sprintf("%s is larger than %d bytes", name, lim.MaxFileSize)}
				}
				_, dupB := pr.Binary[name]
				_, dupF := pr.FileIDs[name]
				if dupB || dupF {
					return nil, nil, &kyc.InputError{Msg: name + " is given twice"}
				}
				if lim.Stage != nil {
					id, err := lim.Stage(name, data)
					if err != nil {
						return nil, nil, err
					}
					pr.FileIDs[name] = id
					continue
				}
				pr.Binary[name] = kyc.BinaryValue{Data: data}
				continue
			}
			data, err := io.ReadAll(io.LimitReader(part, maxTextValue+1))
			if err != nil {
				return nil, nil, tooLargeOr(err)
			}
			if len(data) > maxTextValue {
				return nil, nil, &kyc.InputError{Msg: name + " is too long"}
			}
			if err := add(name, string(data)); err != nil {
				return nil, nil, err
			}
		}
	default:
		return nil, nil, &kyc.InputError{Msg: "Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data"}
	}
	for _, k := range sortedKeys(params) {
		v := params[k]
		switch {
		case requestParams[k]:
		case strings.HasSuffix(k, "_file_id") && isField(strings.TrimSuffix(k, "_file_id")):
			if _, dup := pr.FileIDs[strings.TrimSuffix(k, "_file_id")]; dup {
				return nil, nil, &kyc.InputError{Msg: strings.TrimSuffix(k, "_file_id") + " is given twice"}
			}
			pr.FileIDs[strings.TrimSuffix(k, "_file_id")] = v
			delete(params, k)
		case strings.HasSuffix(k, "_verification") && isField(strings.TrimSuffix(k, "_verification")):
			pr.Verifications[strings.TrimSuffix(k, "_verification")] = v
			delete(params, k)
		case isField(k):
			pr.Values[k] = v
			delete(params, k)
		default:
			return nil, nil, &kyc.InputError{Msg: fmt.Sprintf("%s is not a SEP-9 field or a parameter of this endpoint", k)}
		}
	}
	pr.ID, pr.Account, pr.Memo, pr.MemoType = params["id"], params["account"], params["memo"], params["memo_type"]
	pr.Type, pr.TransactionID = params["type"], params["transaction_id"]
	return pr, params, nil
}

func isField(name string) bool { _, ok := sep9.Lookup(name); return ok }

func tooLargeOr(err error) error {
	if strings.Contains(err.Error(), "too large") {
		return &kyc.TooLargeError{Msg: "request body is too large"}
	}
	return &kyc.InputError{Msg: "request body could not be read"}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
