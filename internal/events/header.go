package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ReadHeader reads what routes an event from its JSON (a FeedEvent without its cursor and JSON): the fields before its data, without
// reading the data (a whole decode of each event was most of a feed's CPU). The fields are
// where Marshal writes them; anything else takes the slower, general way.
func ReadHeader(raw []byte) (h FeedEvent, err error) {
	if h, ok := marshalledHeader(raw); ok {
		return h, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return h, fmt.Errorf("not a JSON object (%v)", err)
	}
	for found := 0; found < 4 && dec.More(); {
		t, err := dec.Token()
		if err != nil {
			return h, err
		}
		var v any
		switch t {
		case "type":
			v = &h.Type
		case "subject":
			v = &h.Subject
		case "seq":
			v = &h.Seq
		case "at":
			v = &h.At
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return h, err
			}
			continue
		}
		if err := dec.Decode(v); err != nil {
			return h, fmt.Errorf("%s: %v", t, err)
		}
		found++
	}
	if h.Type == "" || h.Subject == "" || h.Seq == 0 || h.At.IsZero() {
		return h, errors.New("an event without its type, subject, seq or time")
	}
	return h, nil
}

// marshalledHeader reads the header of an event as Marshal writes it:
// {"v":1,"id":1,"type":"...","subject":"...","seq":1,"at":"...",... with no escapes in them.
func marshalledHeader(raw []byte) (h FeedEvent, ok bool) {
	rest := raw
	str := func(key string) (string, bool) {
		i := bytes.Index(rest, []byte(`,"`+key+`":"`))
		if i < 0 {
			return "", false
		}
		rest = rest[i+len(key)+5:]
		j := bytes.IndexByte(rest, '"')
		if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
			return "", false
		}
		v := string(rest[:j])
		rest = rest[j+1:]
		return v, true
	}
	if h.Type, ok = str("type"); !ok {
		return h, false
	}
	if h.Subject, ok = str("subject"); !ok || !bytes.HasPrefix(rest, []byte(`,"seq":`)) {
		return h, false
	}
	rest = rest[len(`,"seq":`):]
	j := bytes.IndexByte(rest, ',')
	if j < 0 {
		return h, false
	}
	seq, err := strconv.Atoi(string(rest[:j]))
	if err != nil || seq <= 0 {
		return h, false
	}
	h.Seq, rest = seq, rest[j:]
	at, ok := str("at")
	if !ok || rest[0] != ',' && rest[0] != '}' {
		return h, false
	}
	if h.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return h, false
	}
	return h, h.Type != "" && h.Subject != ""
}
