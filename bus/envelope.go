// Package bus owns the fedmsg wire: the two-frame message, its JSON
// envelope, canonical JSON, X.509 and GnuPG signatures, the ZeroMQ
// subscriber and publisher that move envelopes, and the DNS SRV records
// that name publishers. It knows nothing about
// users, filters or delivery.
package bus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Envelope is one fedmsg message. Fields holds the whole envelope as
// decoded (numbers as json.Number, so their original text survives and
// canonical JSON can be recomputed byte for byte); the typed fields are
// views of it filled once at decode time for the hot path.
type Envelope struct {
	Topic     string
	Msg       any     // the payload, usually map[string]any
	Timestamp float64 // seconds since the epoch; 0 when absent
	MsgID     string
	I         int64
	Username  string
	SeqID     int64 // 0 when absent
	Crypto    string
	Signature string
	// Certificate is base64 of the PEM text, as carried on the wire.
	Certificate string

	// Fields is every key of the envelope, known or not.
	Fields map[string]any

	// Severity is the publisher's level (SeverityDebug … SeverityError).
	// fedmsg has none, so ZeroMQ messages are SeverityInfo.
	Severity int
	// Headers are the AMQP headers as JSON values; nil from ZeroMQ.
	Headers map[string]any
	// Objects are what the publisher declares the message is about
	// (fedora-messaging's object headers); nil when it declares nothing.
	// meta merges them into what its processors extract.
	Objects *Objects
	// Ack, when not nil, must be called once by whoever takes the
	// message: with nil once its effects are durable, or with an error
	// when they never will be, so the source can have it redelivered.
	// ZeroMQ has no acknowledgement and leaves it nil.
	Ack func(error)
}

// Decode errors. Each is wrapped with detail; test with errors.Is.
var (
	ErrFrameCount    = errors.New("not exactly 2 frames")
	ErrInvalidUTF8   = errors.New("invalid UTF-8")
	ErrInvalidJSON   = errors.New("invalid JSON")
	ErrTopicMismatch = errors.New("topic frame differs from envelope topic")
	ErrMissingField  = errors.New("missing field")
)

// DecodeFrames decodes a message as it arrives from a SUB socket: exactly
// two frames, the topic and the JSON envelope, which must agree on the topic.
func DecodeFrames(frames [][]byte) (*Envelope, error) {
	if len(frames) != 2 {
		return nil, fmt.Errorf("decode frames: %w: got %d", ErrFrameCount, len(frames))
	}
	if !utf8.Valid(frames[0]) {
		return nil, fmt.Errorf("decode topic frame: %w", ErrInvalidUTF8)
	}
	env, err := Decode(frames[1])
	if err != nil {
		return nil, err
	}
	if string(frames[0]) != env.Topic {
		return nil, fmt.Errorf("decode frames: %w: frame %q, envelope %q", ErrTopicMismatch, frames[0], env.Topic)
	}
	return env, nil
}

// Decode decodes one JSON envelope.
func Decode(data []byte) (*Envelope, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("decode envelope: %w", ErrInvalidUTF8)
	}
	fields, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("decode envelope: %w: %v", ErrInvalidJSON, err)
	}
	return FromFields(fields)
}

// FromFields builds an Envelope from an already decoded JSON object whose
// numbers are json.Number (as Decode produces them).
func FromFields(fields map[string]any) (*Envelope, error) {
	env := &Envelope{Fields: fields, Severity: SeverityInfo}
	topic, ok := fields["topic"].(string)
	if !ok {
		return nil, fmt.Errorf("decode envelope: %w: topic", ErrMissingField)
	}
	env.Topic = topic
	msg, ok := fields["msg"]
	if !ok {
		return nil, fmt.Errorf("decode envelope: %w: msg", ErrMissingField)
	}
	env.Msg = msg
	env.Timestamp = numberField(fields, "timestamp")
	env.I = intField(fields, "i")
	env.SeqID = intField(fields, "seq_id")
	env.MsgID, _ = fields["msg_id"].(string)
	env.Username, _ = fields["username"].(string)
	env.Crypto, _ = fields["crypto"].(string)
	env.Signature, _ = fields["signature"].(string)
	env.Certificate, _ = fields["certificate"].(string)
	if h, ok := fields["headers"].(map[string]any); ok && len(h) > 0 {
		// fedora-messaging headers travel in the envelope (a message
		// read from AMQP and stored, or bridged to fedmsg): severity and
		// the objects they declare are read back from them.
		env.Headers = h
		if n, ok := h[headerSeverity].(json.Number); ok {
			if level, err := n.Int64(); err == nil {
				env.Severity = int(level)
			}
		}
		env.Objects = objects(h)
	}
	return env, nil
}

func numberField(fields map[string]any, key string) float64 {
	n, ok := fields[key].(json.Number)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0
	}
	return f
}

// intField reads a counter exactly: through a float64 a counter above
// 2^53 would lose its low digits.
func intField(fields map[string]any, key string) int64 {
	if n, ok := fields[key].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return int64(numberField(fields, key))
}

// decodeObject decodes a JSON object keeping numbers as json.Number and
// refusing trailing data. It is parseObject, not encoding/json, because
// decoding is most of the cost of receiving a message (see jsonparse.go).
func decodeObject(data []byte) (map[string]any, error) {
	return parseObject(data)
}

// Key is the message's identity for dedup, replay and notifications: its
// msg_id (for a message bridged from AMQP, the AMQP message_id it was
// published with, so both routes give one key), or where it has none (old messages often lack it) a hash of its
// canonical JSON.
func (e *Envelope) Key() string {
	if id, ok := amqpBridgedID(e); ok {
		return id
	}
	if e.MsgID != "" {
		return e.MsgID
	}
	sum := sha256.Sum256(Canonical(e.Fields))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// decodeValue decodes any JSON value keeping numbers as json.Number.
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
