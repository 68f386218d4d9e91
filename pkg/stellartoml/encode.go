package stellartoml

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Encode renders t as TOML with basic (double-quoted) strings, as SEP-1's examples do and as
// every wallet parser accepts, omitting empty fields. Top-level keys come first, then
// [DOCUMENTATION], [[PRINCIPALS]], [[CURRENCIES]] and [[VALIDATORS]].
func Encode(t *StellarTOML) ([]byte, error) {
	var b bytes.Buffer
	v := reflect.ValueOf(t).Elem()
	var tables []int
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		fv := v.Field(i)
		switch {
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct,
			f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			tables = append(tables, i)
		default:
			writeKV(&b, tagName(f), fv)
		}
	}
	for _, i := range tables {
		f := v.Type().Field(i)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fmt.Fprintf(&b, "\n[%s]\n", tagName(f))
			writeStruct(&b, fv.Elem())
			continue
		}
		for j := 0; j < fv.Len(); j++ {
			fmt.Fprintf(&b, "\n[[%s]]\n", tagName(f))
			writeStruct(&b, fv.Index(j))
		}
	}
	return b.Bytes(), nil
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

func writeStruct(b *bytes.Buffer, v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		writeKV(b, tagName(v.Type().Field(i)), v.Field(i))
	}
}

func writeKV(b *bytes.Buffer, key string, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return
		}
		fmt.Fprintf(b, "%s = %s\n", key, quote(v.String()))
	case reflect.Int, reflect.Int64:
		fmt.Fprintf(b, "%s = %d\n", key, v.Int())
	case reflect.Bool:
		fmt.Fprintf(b, "%s = %t\n", key, v.Bool())
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		fmt.Fprintf(b, "%s = [\n", key)
		for i := 0; i < v.Len(); i++ {
			fmt.Fprintf(b, "  %s,\n", quote(v.Index(i).String()))
		}
		b.WriteString("]\n")
	}
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\u` + strings.ToUpper(fmt.Sprintf("%04x", r)))
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
