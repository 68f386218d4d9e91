package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzEventJSON: for any event, Marshal writes what json.Marshal writes, and ReadHeader (its
// fast path or the general one) reads from it what a whole decode reads. Subjects and data carry
// text from wallets (memos, names), so no content of them may be taken for a header field.
func FuzzEventJSON(f *testing.F) {
	f.Add("transaction.created", "transaction:abc", 1, int64(1764621960123456789), []byte(`{"id":"abc","memo":"x"}`))
	f.Add("transaction.status_changed", `payment:"quoted"`, 12, int64(0), []byte(`null`))
	f.Add("a", `x","seq":5,"at":"2026-12-01T00:00:00Z`, 3, int64(-1), []byte(`{"type":"b","subject":"c","seq":9}`))
	f.Add("", "s", -4, int64(1), []byte(`[1, 2, {"a" : "b"}]`))
	f.Add("t\u2028", "s\xff", 7, int64(253402300799999999), []byte("not json \"at\":"))
	f.Fuzz(func(t *testing.T, typ, subject string, seq int, atNano int64, data []byte) {
		// Data as the stores hold it: json.Marshal's output, compact and HTML-escaped.
		var compact, escaped bytes.Buffer
		if json.Compact(&compact, data) != nil {
			s, _ := json.Marshal(string(data))
			compact.Reset()
			compact.Write(s)
		}
		json.HTMLEscape(&escaped, compact.Bytes())
		e := &Event{V: 1, ID: uint64(seq) * 3, Type: typ, Subject: subject, Seq: seq, At: time.Unix(0, atNano).UTC(),
			PreviousStatus: subject, Status: typ, Data: escaped.Bytes()}
		raw, err := Marshal(e)
		want, werr := json.Marshal(e)
		if (err != nil) != (werr != nil) || !bytes.Equal(raw, want) {
			t.Fatalf("Marshal = %s, %v; json.Marshal = %s, %v", raw, err, want, werr)
		}
		if err != nil {
			return
		}
		var d Event
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s does not decode: %v", raw, err)
		}
		h, err := ReadHeader(raw)
		if err != nil {
			if d.Type != "" && d.Subject != "" && d.Seq != 0 && !d.At.IsZero() {
				t.Fatalf("ReadHeader(%s): %v", raw, err)
			}
			return
		}
		if h.Type != d.Type || h.Subject != d.Subject || h.Seq != d.Seq || !h.At.Equal(d.At) {
			t.Fatalf("ReadHeader(%s) = %+v; decoded %q %q %d %v", raw, h, d.Type, d.Subject, d.Seq, d.At)
		}
	})
}
