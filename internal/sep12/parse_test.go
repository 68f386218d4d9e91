package sep12

import (
	"bytes"
	"errors"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/anchorkit/anchor/internal/kyc"
)

var lim = Limits{MaxFileSize: 1 << 10, MaxParts: 20}

func TestParsePutEncodings(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("first_name", "Jane")
	mw.WriteField("memo", "7")
	fw, _ := mw.CreateFormFile("photo_id_front", "a.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\n"))
	mw.Close()
	for name, in := range map[string]struct{ ct, body string }{
		"json":      {"application/json", `{"first_name":"Jane","memo":"7","occupation":2511}`},
		"form":      {"application/x-www-form-urlencoded", "first_name=Jane&memo=7"},
		"multipart": {mw.FormDataContentType(), mp.String()},
	} {
		t.Run(name, func(t *testing.T) {
			pr, _, err := ParsePut(in.ct, strings.NewReader(in.body), lim)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Values["first_name"] != "Jane" || pr.Memo != "7" {
				t.Fatalf("%+v", pr)
			}
			if name == "json" && pr.Values["occupation"] != "2511" {
				t.Fatalf("number value: %+v", pr.Values)
			}
			if name == "multipart" && len(pr.Binary["photo_id_front"].Data) != 8 {
				t.Fatalf("binary: %+v", pr.Binary)
			}
		})
	}
}

func TestParsePutRefuses(t *testing.T) {
	for name, in := range map[string]struct {
		ct, body string
		tooLarge bool
	}{
		"unknown field":     {"application/json", `{"colour":"red"}`, false},
		"nested":            {"application/json", `{"first_name":{"a":1}}`, false},
		"two objects":       {"application/json", `{}{}`, false},
		"repeated form key": {"application/x-www-form-urlencoded", "first_name=a&first_name=b", false},
		"bad media type":    {"application/xml", "<x/>", false},
		"no boundary":       {"multipart/form-data", "x", false},
		"file too large": {"multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"photo_id_front\"; filename=\"a\"\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n--b--\r\n", true},
		"file under a text name": {"multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"first_name\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParsePut(in.ct, strings.NewReader(in.body), lim)
			var ie *kyc.InputError
			var te *kyc.TooLargeError
			if in.tooLarge && !errors.As(err, &te) || !in.tooLarge && !errors.As(err, &ie) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// FuzzParsePut: the PUT /customer parser never panics on any body in any of the three
// encodings, and every error it returns is one the handler maps to 400 or 413.
func FuzzParsePut(f *testing.F) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("first_name", "Jane")
	fw, _ := mw.CreateFormFile("photo_id_front", "a.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\n"))
	mw.Close()
	f.Add(mw.FormDataContentType(), mp.Bytes())
	f.Add("application/json", []byte(`{"first_name":"Jane","type":"sep6-deposit","photo_id_front_file_id":"file_1","mobile_number_verification":"1"}`))
	f.Add("application/x-www-form-urlencoded", []byte("first_name=Jane&memo=1&memo_type=id"))
	f.Add("", []byte("first_name=%zz"))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		pr, _, err := ParsePut(ct, bytes.NewReader(body), lim)
		if err != nil {
			var ie *kyc.InputError
			var te *kyc.TooLargeError
			if !errors.As(err, &ie) && !errors.As(err, &te) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		for _, b := range pr.Binary {
			if int64(len(b.Data)) > lim.MaxFileSize {
				t.Fatal("binary over the limit accepted")
			}
		}
	})
}
