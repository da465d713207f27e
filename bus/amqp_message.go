package bus

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Severities of fedora-messaging, the levels of Python's logging module.
const (
	SeverityDebug   = 10
	SeverityInfo    = 20
	SeverityWarning = 30
	SeverityError   = 40
)

// SeverityName is the name rules use for a level: "debug", "info",
// "warning" or "error"; a level fedora-messaging does not define is
// "level N".
func SeverityName(level int) string {
	switch level {
	case SeverityDebug:
		return "debug"
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "level " + strconv.Itoa(level)
}

// ParseSeverity is the inverse of SeverityName for the four named levels.
func ParseSeverity(name string) (int, error) {
	for _, level := range []int{SeverityDebug, SeverityInfo, SeverityWarning, SeverityError} {
		if SeverityName(level) == name {
			return level, nil
		}
	}
	return 0, fmt.Errorf("parse severity: %q is not one of debug, info, warning, error", name)
}

// Objects are the users, groups and packages a fedora-messaging publisher
// declares a message concerns, one header each. Each list is in header
// order as the broker delivered the table (not sorted).
type Objects struct {
	Users, Groups                       []string
	RPMs, Containers, Modules, Flatpaks []string
}

// The fedora-messaging headers hark reads.
const (
	headerSchema   = "fedora_messaging_schema"
	headerSeverity = "fedora_messaging_severity"
	headerSentAt   = "sent-at"
	headerPriority = "priority"
	objectPrefix   = "fedora_messaging_"
)

// objectKinds maps the kind in a header fedora_messaging_<kind>_<name>
// to the list of Objects it fills.
var objectKinds = []struct {
	kind string
	list func(*Objects) *[]string
}{
	{"user", func(o *Objects) *[]string { return &o.Users }},
	{"group", func(o *Objects) *[]string { return &o.Groups }},
	{"rpm", func(o *Objects) *[]string { return &o.RPMs }},
	{"container", func(o *Objects) *[]string { return &o.Containers }},
	{"module", func(o *Objects) *[]string { return &o.Modules }},
	{"flatpak", func(o *Objects) *[]string { return &o.Flatpaks }},
}

// ErrNotJSONObject is returned for an AMQP body that is not a UTF-8 JSON
// object; test with errors.Is.
var ErrNotJSONObject = errors.New("body is not a UTF-8 JSON object")

// amqpBridge is the username fedmsg-migration-tools' AMQP → ZeroMQ
// bridge signs with; it publishes the AMQP message_id as
// "<year>-<message_id>".
const amqpBridge = "amqp-bridge"

// FromAMQP maps one fedora-messaging message to an Envelope: the topic is
// the routing key, msg the body, msg_id the message_id, the timestamp the
// sent-at header, and severity and objects their headers. A body that is
// a whole fedmsg envelope (as fedmsg-migration-tools' ZeroMQ → AMQP
// bridge publishes it) is that envelope, so a message read from both
// buses is one message.
func FromAMQP(d *amqp.Delivery) (*Envelope, error) {
	if d.RoutingKey == "" {
		return nil, fmt.Errorf("map amqp message %q: %w: routing key", d.MessageId, ErrMissingField)
	}
	if enc := d.ContentEncoding; enc != "" && !strings.EqualFold(enc, "utf-8") && !strings.EqualFold(enc, "utf8") {
		return nil, fmt.Errorf("map amqp message %q: content_encoding %q: %w", d.MessageId, enc, ErrNotJSONObject)
	}
	if !utf8.Valid(d.Body) {
		return nil, fmt.Errorf("map amqp message %q: %w: %w", d.MessageId, ErrNotJSONObject, ErrInvalidUTF8)
	}
	body, err := decodeObject(d.Body)
	if err != nil {
		return nil, fmt.Errorf("map amqp message %q: %w: %v", d.MessageId, ErrNotJSONObject, err)
	}
	headers := jsonTable(d.Headers)
	fields := body
	if !isBridgedEnvelope(body, d) {
		fields = map[string]any{"topic": d.RoutingKey, "msg": body}
		if d.MessageId != "" {
			fields["msg_id"] = d.MessageId
		}
		if t, ok := sentAt(d.Headers); ok {
			fields["timestamp"] = json.Number(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64))
		}
		if len(headers) > 0 {
			fields["headers"] = headers
		}
	}
	env, err := FromFields(fields)
	if err != nil {
		return nil, fmt.Errorf("map amqp message %q: %w", d.MessageId, err)
	}
	env.Headers = headers
	env.Severity = severity(d.Headers)
	env.Objects = objects(d.Headers)
	return env, nil
}

// isBridgedEnvelope reports whether body is a fedmsg envelope republished
// whole on AMQP: its topic is the routing key and its msg_id the
// message_id.
func isBridgedEnvelope(body map[string]any, d *amqp.Delivery) bool {
	topic, _ := body["topic"].(string)
	id, _ := body["msg_id"].(string)
	_, hasMsg := body["msg"]
	return hasMsg && topic == d.RoutingKey && id != "" && id == d.MessageId
}

// amqpBridgedID is the AMQP message_id of a message the AMQP → ZeroMQ
// bridge republished, whose msg_id it wrote as "<year>-<message_id>".
func amqpBridgedID(e *Envelope) (string, bool) {
	if e.Username != amqpBridge || len(e.MsgID) < 6 || e.MsgID[4] != '-' {
		return "", false
	}
	for _, c := range e.MsgID[:4] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return e.MsgID[5:], true
}

// sentAt is the sent-at header, ISO 8601 with an offset as Python's
// isoformat writes it; a missing or unreadable one is absent, and the
// message then counts as sent when received.
func sentAt(h amqp.Table) (time.Time, bool) {
	switch v := h[headerSentAt].(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	case time.Time:
		return v, true
	}
	return time.Time{}, false
}

// severity is the fedora_messaging_severity header, which Python
// publishers send as whichever integer type fits; absent or not an
// integer, it is info.
func severity(h amqp.Table) int {
	if n, ok := tableInt(h[headerSeverity]); ok {
		return int(n)
	}
	return SeverityInfo
}

func tableInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

// objects reads the fedora_messaging_<kind>_<name> headers whose value is
// true. Names keep every character after the kind's underscore: package
// names hold '-', '.' and '+'.
func objects(h map[string]any) *Objects {
	var o *Objects
	for key, v := range h {
		rest, ok := strings.CutPrefix(key, objectPrefix)
		if !ok || v != true {
			continue
		}
		for _, k := range objectKinds {
			name, ok := strings.CutPrefix(rest, k.kind+"_")
			if !ok || name == "" {
				continue
			}
			if o == nil {
				o = &Objects{}
			}
			list := k.list(o)
			*list = append(*list, name)
			break
		}
	}
	return o
}

// jsonTable converts AMQP header values to JSON values (numbers as
// json.Number, as Decode keeps them), so headers can be stored, printed
// and matched like the rest of the envelope. nil for no headers.
func jsonTable(t amqp.Table) map[string]any {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(v any) any {
	if n, ok := tableInt(v); ok {
		return json.Number(strconv.FormatInt(n, 10))
	}
	switch v := v.(type) {
	case nil, bool, string:
		return v
	case float32:
		return jsonFloat(float64(v))
	case float64:
		return jsonFloat(v)
	case amqp.Decimal:
		return json.Number(decimalText(v))
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case amqp.Table:
		return jsonTable(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

// jsonFloat is f as a JSON number; JSON has no NaN or infinities, so those
// become strings.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

func decimalText(d amqp.Decimal) string {
	s := strconv.FormatInt(int64(d.Value), 10)
	if d.Scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= int(d.Scale) {
		s = "0" + s
	}
	s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// Publishing builds the AMQP message fedora-messaging would publish for
// payload on topic: JSON body, a UUID message_id, utf-8 JSON content,
// persistent delivery, and the severity, sent-at and priority headers.
// id and now are the message's identity and time; objects, when not nil,
// become object headers.
func Publishing(id string, payload any, level int, now time.Time, objs *Objects) (amqp.Publishing, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return amqp.Publishing{}, fmt.Errorf("encode message %s: %w", id, err)
	}
	if len(body) == 0 || body[0] != '{' {
		return amqp.Publishing{}, fmt.Errorf("encode message %s: %w", id, ErrNotJSONObject)
	}
	headers := amqp.Table{
		headerSchema:   "base.message", // fedora-messaging's schema for a plain message
		headerSeverity: int32(level),
		headerSentAt:   now.Format("2006-01-02T15:04:05.000000-07:00"),
		headerPriority: int32(0),
	}
	if objs != nil {
		for _, k := range objectKinds {
			for _, name := range *k.list(objs) {
				headers[objectPrefix+k.kind+"_"+name] = true
			}
		}
	}
	return amqp.Publishing{
		MessageId:       id,
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Headers:         headers,
		Body:            body,
	}, nil
}
