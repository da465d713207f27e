package bus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fedmsgSample is one line of testdata/fedmsg-samples.jsonl.
type fedmsgSample struct {
	line int
	raw  []byte
	// signed is true for the lines annotated x509_signature_check "ok".
	signed bool
	// envelope is the line without the file's own annotations, as it was
	// on the bus (or in datagrepper).
	envelope []byte
}

// sampleAnnotations are the keys the samples file adds to real envelopes.
var sampleAnnotations = []string{"expected", "_fixture", "x509_signature_check"}

// fedmsgSamples returns the real Fedora messages the tests run against.
func fedmsgSamples(t testing.TB) []fedmsgSample {
	t.Helper()
	samples, err := readSamples()
	if err != nil {
		t.Fatalf("read samples: %v", err)
	}
	return samples
}

// readSamples reads the samples file once per test binary; callers must
// not modify what it returns.
var readSamples = sync.OnceValues(func() ([]fedmsgSample, error) {
	f, err := os.Open("../testdata/fedmsg-samples.jsonl")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var samples []fedmsgSample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		raw := bytes.Clone(sc.Bytes())
		fields, err := decodeObject(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		fixture, _ := fields["_fixture"].(map[string]any)
		s := fedmsgSample{line: n, raw: raw,
			signed: fixture["x509_signature_check"] == "ok" || fields["x509_signature_check"] == "ok"}
		// Strip the annotations, keeping every other byte's meaning
		// (numbers' text included) of the envelope.
		for _, k := range sampleAnnotations {
			delete(fields, k)
		}
		s.envelope = Canonical(fields)
		samples = append(samples, s)
	}
	return samples, sc.Err()
})

func mustDecode(t testing.TB, data string) *Envelope {
	t.Helper()
	env, err := Decode([]byte(data))
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return env
}

func TestDecodeFillsEveryEnvelopeField(t *testing.T) {
	env := mustDecode(t, `{"topic":"org.fedoraproject.prod.bodhi.update.comment",
		"msg":{"comment":{"text":"hi"}},"timestamp":1559777808,
		"msg_id":"2019-49a30bc8-5825-42e0-8e43-9d9bdd15cd01","i":5389,
		"username":"apache","crypto":"x509","signature":"c2ln\n","certificate":"Y2VydA==\n",
		"headers":{"fedora_messaging_severity":20},"seq_id":42,
		"source_name":"datanommer","source_version":"0.9.0"}`)
	want := Envelope{
		Topic:       "org.fedoraproject.prod.bodhi.update.comment",
		Msg:         map[string]any{"comment": map[string]any{"text": "hi"}},
		Timestamp:   1559777808,
		MsgID:       "2019-49a30bc8-5825-42e0-8e43-9d9bdd15cd01",
		I:           5389,
		Username:    "apache",
		SeqID:       42,
		Crypto:      "x509",
		Signature:   "c2ln\n",
		Certificate: "Y2VydA==\n",
		Severity:    SeverityInfo,
		Headers:     map[string]any{"fedora_messaging_severity": json.Number("20")},
	}
	got := *env
	got.Fields = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, want)
	}
	for _, k := range []string{"headers", "source_name", "source_version"} {
		if _, ok := env.Fields[k]; !ok {
			t.Errorf("Fields lacks %q", k)
		}
	}
}

func TestDecodeOptionalFieldsAbsent(t *testing.T) {
	env := mustDecode(t, `{"topic":"t","msg":{}}`)
	if env.Timestamp != 0 || env.MsgID != "" || env.I != 0 || env.SeqID != 0 || env.Username != "" || env.Crypto != "" {
		t.Errorf("absent fields not zero: %+v", env)
	}
}

func TestDecodeKeepsText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown fields kept", `{"topic":"t","msg":{},"zzz":{"b":1,"a":[true,null]}}`, `{"msg":{},"topic":"t","zzz":{"a":[true,null],"b":1}}`},
		{"0.0 stays 0.0", `{"topic":"t","msg":{"x":0.0}}`, `{"msg":{"x":0.0},"topic":"t"}`},
		{"float timestamp text kept", `{"topic":"t","msg":{},"timestamp":1559777808.0}`, `{"msg":{},"timestamp":1559777808.0,"topic":"t"}`},
		{"exponent text kept", `{"topic":"t","msg":{"x":1E+2,"y":-0}}`, `{"msg":{"x":1E+2,"y":-0},"topic":"t"}`},
		{"integer beyond float64 kept", `{"topic":"t","msg":{"x":123456789012345678901234567890}}`, `{"msg":{"x":123456789012345678901234567890},"topic":"t"}`},
		{"whitespace around the object", " \n{\"topic\":\"t\",\"msg\":null}\n ", `{"msg":null,"topic":"t"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Canonical(mustDecode(t, tc.in).Fields)); got != tc.want {
				t.Errorf("canonical %s\nwant      %s", got, tc.want)
			}
		})
	}
}

func TestDecodeNumberViews(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		timestamp float64
		i, seqID  int64
	}{
		{"float timestamp", `{"topic":"t","msg":{},"timestamp":1559777808.25}`, 1559777808.25, 0, 0},
		{"counter above 2^53 exact", `{"topic":"t","msg":{},"i":9007199254740993,"seq_id":9007199254740995}`, 0, 9007199254740993, 9007199254740995},
		{"counter written as float", `{"topic":"t","msg":{},"i":3.0}`, 0, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := mustDecode(t, tc.in)
			if env.Timestamp != tc.timestamp || env.I != tc.i || env.SeqID != tc.seqID {
				t.Errorf("timestamp %v i %d seq_id %d, want %v %d %d", env.Timestamp, env.I, env.SeqID, tc.timestamp, tc.i, tc.seqID)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := []byte(`{"topic":"a.b","msg":{}}`)
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   error
	}{
		{"no frames", nil, ErrFrameCount},
		{"one frame", [][]byte{valid}, ErrFrameCount},
		{"three frames", [][]byte{[]byte("a.b"), valid, valid}, ErrFrameCount},
		{"topic frame not UTF-8", [][]byte{[]byte("a.\xff"), valid}, ErrInvalidUTF8},
		{"envelope not UTF-8", [][]byte{[]byte("a.b"), []byte("{\"topic\":\"a.b\",\"msg\":\"\xc3\"}")}, ErrInvalidUTF8},
		{"not JSON", [][]byte{[]byte("a.b"), []byte("hello")}, ErrInvalidJSON},
		{"truncated JSON", [][]byte{[]byte("a.b"), valid[:len(valid)-1]}, ErrInvalidJSON},
		{"array, not object", [][]byte{[]byte("a.b"), []byte(`[1]`)}, ErrInvalidJSON},
		{"null, not object", [][]byte{[]byte("a.b"), []byte(`null`)}, ErrInvalidJSON},
		{"trailing object", [][]byte{[]byte("a.b"), append(valid, "{}"...)}, ErrInvalidJSON},
		{"stray closing brace", [][]byte{[]byte("a.b"), append(valid, '}')}, ErrInvalidJSON},
		{"stray closing bracket", [][]byte{[]byte("a.b"), append(valid, ']')}, ErrInvalidJSON},
		{"topic frame differs", [][]byte{[]byte("a.c"), valid}, ErrTopicMismatch},
		{"topic frame is a prefix", [][]byte{[]byte("a."), valid}, ErrTopicMismatch},
		{"missing topic", [][]byte{[]byte(""), []byte(`{"msg":{}}`)}, ErrMissingField},
		{"topic not a string", [][]byte{[]byte("1"), []byte(`{"topic":1,"msg":{}}`)}, ErrMissingField},
		{"missing msg", [][]byte{[]byte("a.b"), []byte(`{"topic":"a.b"}`)}, ErrMissingField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := DecodeFrames(tc.frames)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeFrames = %v, %v; want error %v", env, err, tc.want)
			}
		})
	}
}

func TestDecodeErrorsSayWhat(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"missing msg names it", `{"topic":"t"}`, "missing field: msg"},
		{"trailing data gives the offset", `{"topic":"t","msg":1} }`, "at byte 21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode(%s) = %v, want it to say %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestDecodeFramesAcceptsEverySample(t *testing.T) {
	for _, s := range fedmsgSamples(t) {
		env, err := Decode(s.envelope)
		if err != nil {
			t.Errorf("samples line %d: %v", s.line, err)
			continue
		}
		if _, err := DecodeFrames([][]byte{[]byte(env.Topic), s.raw}); err != nil {
			t.Errorf("samples line %d as frames: %v", s.line, err)
		}
		want := env.MsgID
		if env.Username == "amqp-bridge" { // "<year>-<AMQP message_id>": the key is the message_id
			want = env.MsgID[len("2019-"):]
		}
		if env.MsgID != "" && env.Key() != want {
			t.Errorf("samples line %d: key %q, want %q", s.line, env.Key(), want)
		}
	}
}

func TestKeyWithoutMsgIDHashesCanonicalJSON(t *testing.T) {
	a := mustDecode(t, `{"topic":"t","msg":{"a":1,"b":"é"}}`)
	b := mustDecode(t, `{ "msg" : { "b" : "\u00e9", "a" : 1 }, "topic" : "t" }`)
	c := mustDecode(t, `{"topic":"t","msg":{"a":1,"b":"e"}}`)
	if a.Key() != b.Key() {
		t.Errorf("same message, different keys: %s %s", a.Key(), b.Key())
	}
	if a.Key() == c.Key() {
		t.Errorf("different messages, same key %s", a.Key())
	}
	if !strings.HasPrefix(a.Key(), "sha256:") {
		t.Errorf("key %s lacks its sha256: prefix", a.Key())
	}
}

// A message stored from AMQP keeps its fedora-messaging headers in the
// envelope; decoding it again (previews, hark match) restores its
// severity and declared objects.
func TestDecodeRestoresFedoraMessagingHeaders(t *testing.T) {
	env := mustDecode(t, `{"topic":"org.fedoraproject.prod.koji.build.state.change","msg":{},
		"headers":{"fedora_messaging_severity":40,"fedora_messaging_rpm_kernel":true,"fedora_messaging_user_alice":true}}`)
	if env.Severity != SeverityError {
		t.Errorf("severity %d, want %d", env.Severity, SeverityError)
	}
	if env.Objects == nil || !reflect.DeepEqual(env.Objects.RPMs, []string{"kernel"}) || !reflect.DeepEqual(env.Objects.Users, []string{"alice"}) {
		t.Errorf("objects %+v, want rpm kernel and user alice", env.Objects)
	}
}
