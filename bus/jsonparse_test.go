package bus

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// stdDecodeObject is the encoding/json decoding parseObject replaces: the
// reference it must agree with.
func stdDecodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, io.ErrUnexpectedEOF
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return fields, nil
}

// agree fails t unless parseObject and encoding/json accept the same data
// and produce the same tree.
func agree(t *testing.T, data []byte) {
	t.Helper()
	got, err := parseObject(data)
	want, wantErr := stdDecodeObject(data)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("parseObject(%q): error %v; encoding/json: error %v", data, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseObject(%q) = %#v\nencoding/json gives %#v", data, got, want)
	}
}

func TestParseObjectAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty object", `{}`},
		{"whitespace everywhere", " \t\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\r\n"},
		{"numbers keep their text", `{"a":0,"b":-0.0,"c":1.50,"d":1E+2,"e":-12e-3,"f":12345678901234567890}`},
		{"literals", `{"t":true,"f":false,"n":null}`},
		{"empty array", `{"a":[]}`},
		{"escapes", `{"s":"\"\\\/\b\f\n\r\t\u00e9\u0000"}`},
		{"surrogate pair", `{"s":"\ud83d\ude00"}`},
		{"lone high surrogate", `{"s":"\ud83dx"}`},
		{"lone low surrogate", `{"s":"\ude00"}`},
		{"high surrogate then escape", `{"s":"\ud83d\n"}`},
		{"two high surrogates", `{"s":"\ud83d\ud83d\ude00"}`},
		{"repeated key, last wins", `{"a":1,"a":2}`},
		{"UTF-8 text", `{"s":"héllo 😀"}`},
		{"deep nesting", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
		{"too deep", `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{"empty input", ``},
		{"only space", ` `},
		{"null", `null`},
		{"array", `[1]`},
		{"string", `"s"`},
		{"leading zero", `{"a":01}`},
		{"bare minus", `{"a":-}`},
		{"dot without digits", `{"a":1.}`},
		{"exponent without digits", `{"a":1e}`},
		{"plus sign", `{"a":+1}`},
		{"control character", "{\"a\":\"\x01\"}"},
		{"bad escape", `{"a":"\x"}`},
		{"short unicode escape", `{"a":"\u12"}`},
		{"trailing comma", `{"a":1,}`},
		{"trailing comma in array", `{"a":[1,]}`},
		{"missing colon", `{"a" 1}`},
		{"unquoted key", `{a:1}`},
		{"truncated", `{"a":[1,2`},
		{"truncated string", `{"a":"abc`},
		{"bad literal", `{"a":nul}`},
		{"trailing garbage", `{"a":1} x`},
		{"trailing object", `{"a":1}{}`},
		{"stray bracket", `{"a":1}]`},
	} {
		t.Run(tc.name, func(t *testing.T) { agree(t, []byte(tc.in)) })
	}
}

// FuzzParseObjectMatchesEncodingJSON holds parseObject to encoding/json on
// any valid UTF-8 (Decode refuses the rest before parsing).
func FuzzParseObjectMatchesEncodingJSON(f *testing.F) {
	for _, s := range fedmsgSamples(f) {
		f.Add(s.raw)
	}
	f.Add([]byte(`{"s":"\ud83d\ude00\ud800","n":[1.0e5,-0,{"":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		agree(t, data)
	})
}
