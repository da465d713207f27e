package rules

import (
	"encoding/json"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"hark/bus"
	"hark/meta"
)

// amqpMessage maps a fedora-messaging delivery with headers h as the AMQP
// consumer does, so severity and headers come the way they do live.
func amqpMessage(t *testing.T, h amqp.Table) *Message {
	t.Helper()
	env, err := bus.FromAMQP(&amqp.Delivery{RoutingKey: "org.fedoraproject.prod.bodhi.update.comment", MessageId: "5a0b8c2e-1d2f-4e5a-9b6c-7d8e9f0a1b2c",
		ContentType: "application/json", ContentEncoding: "utf-8", Headers: h, Body: []byte(`{"comment": {"karma": 1}}`)})
	if err != nil {
		t.Fatal(err)
	}
	return NewMessage(env, &meta.Description{App: "bodhi"}, nil)
}

// zeromqMessage decodes a fedmsg envelope as the ZeroMQ subscriber does.
func zeromqMessage(t *testing.T, envelope string) *Message {
	t.Helper()
	env, err := bus.Decode([]byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	return NewMessage(env, &meta.Description{}, nil)
}

// severityMessages are the sources of a message's level the rules must
// agree on.
func severityMessages(t *testing.T) map[string]*Message {
	t.Helper()
	return map[string]*Message{
		"amqp int32 error":    amqpMessage(t, amqp.Table{"fedora_messaging_severity": int32(40), "fedora_messaging_schema": "base.message"}),
		"amqp int64 warning":  amqpMessage(t, amqp.Table{"fedora_messaging_severity": int64(30)}),
		"amqp int8 debug":     amqpMessage(t, amqp.Table{"fedora_messaging_severity": int8(10)}),
		"amqp no severity":    amqpMessage(t, amqp.Table{"fedora_messaging_schema": "base.message"}),
		"amqp no headers":     amqpMessage(t, nil),
		"amqp unnamed level":  amqpMessage(t, amqp.Table{"fedora_messaging_severity": int32(25)}),
		"zeromq":              testMessage(t),
		"zeromq with headers": zeromqMessage(t, `{"topic": "t", "msg": {}, "headers": {"esbSourceSystem": "bugzilla", "priority": "4"}}`),
		"envelope level 0":    NewMessage(&bus.Envelope{Topic: "t", Msg: map[string]any{}}, &meta.Description{}, nil),
	}
}

func TestMessageSeverity(t *testing.T) {
	msgs := severityMessages(t)
	for _, tc := range []struct{ message, want string }{
		{"amqp int32 error", "error"},
		{"zeromq with headers", "info"},
		{"amqp int64 warning", "warning"},
		{"amqp int8 debug", "debug"},
		{"amqp no severity", "info"},
		{"amqp no headers", "info"},
		{"amqp unnamed level", "level 25"},
		{"zeromq", "info"},
		{"envelope level 0", "info"},
	} {
		t.Run(tc.message, func(t *testing.T) {
			if got := msgs[tc.message].Severity(); got != tc.want {
				t.Errorf("Severity() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSeverityRule(t *testing.T) {
	msgs := severityMessages(t)
	for _, tc := range []struct {
		name, levels, message string
		want                  bool
	}{
		{"error listed", `["warning", "error"]`, "amqp int32 error", true},
		{"warning from int64 listed", `["warning", "error"]`, "amqp int64 warning", true},
		{"debug not listed", `["warning", "error"]`, "amqp int8 debug", false},
		{"missing header is info", `["info"]`, "amqp no severity", true},
		{"missing header is not error", `["error"]`, "amqp no severity", false},
		{"zeromq is info", `["info"]`, "zeromq", true},
		{"zeromq is not warning", `["warning", "error"]`, "zeromq", false},
		{"unnamed level matches no level", `["debug", "info", "warning", "error"]`, "amqp unnamed level", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustEval(t, "severity", `{"levels": `+tc.levels+`}`, "alice", msgs[tc.message]); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSeverityRuleErrorsNameArgumentAndLevels(t *testing.T) {
	allowed := "one of debug, info, warning, error"
	for _, tc := range []struct{ name, args, want string }{
		{"unknown level", `{"levels": ["warning", "fatal"]}`, `args.levels[1]: "fatal" is not ` + allowed},
		{"levels are lower case", `{"levels": ["Error"]}`, `args.levels[0]: "Error" is not ` + allowed},
		{"@me is no level", `{"levels": ["@me"]}`, `args.levels[0]: "@me" is not ` + allowed},
		{"empty level", `{"levels": [""]}`, `args.levels[0]: "" is not ` + allowed},
		{"no levels", `{"levels": []}`, "args.levels: at least one name is needed"},
		{"numbers are not names", `{"levels": [40]}`, "args: json: cannot unmarshal number"},
		{"wrong argument", `{"names": ["error"]}`, `unknown argument "names"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("severity", json.RawMessage(tc.args), "alice")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSeverityRuleIndexing(t *testing.T) {
	app, err := Compile("app", json.RawMessage(`{"names": ["bodhi"]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		levels          string
		hints           []Hint
		beforeAnAppRule bool
	}{
		{"one rare level", `["error"]`, []Hint{{FieldSeverity, "error"}}, true},
		{"levels sorted and once", `["warning", "error", "error"]`, []Hint{{FieldSeverity, "error"}, {FieldSeverity, "warning"}}, false},
		{"info is nearly every message", `["info"]`, []Hint{{FieldSeverity, "info"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compile("severity", json.RawMessage(`{"levels": `+tc.levels+`}`), "")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Exact || len(r.Hints) != len(tc.hints) {
				t.Fatalf("Exact %v, Hints %v; want exact hints %v", r.Exact, r.Hints, tc.hints)
			}
			for i := range r.Hints {
				if r.Hints[i] != tc.hints[i] {
					t.Errorf("Hints = %v, want %v", r.Hints, tc.hints)
				}
			}
			if got := r.Selectivity <= app.Selectivity; got != tc.beforeAnAppRule {
				t.Errorf("selectivity %d vs an app rule's %d: preferred = %v, want %v", r.Selectivity, app.Selectivity, got, tc.beforeAnAppRule)
			}
		})
	}
}

func TestExprSeverityAndHeaders(t *testing.T) {
	msgs := severityMessages(t)
	for _, tc := range []struct {
		name, expression, message string
		want                      bool
	}{
		{"severity from int32 header", `severity == "error"`, "amqp int32 error", true},
		{"severity from int64 header", `severity in ["warning", "error"]`, "amqp int64 warning", true},
		{"missing severity header is info", `severity == "info"`, "amqp no severity", true},
		{"zeromq severity is info", `severity == "info"`, "zeromq", true},
		{"zeromq severity is not error", `severity == "error"`, "zeromq", false},
		{"header value", `headers["fedora_messaging_schema"] == "base.message"`, "amqp int32 error", true},
		{"a fedmsg envelope's own headers are its headers", `headers["esbSourceSystem"] == "bugzilla"`, "zeromq with headers", true},
		{"header numbers are numbers", `headers["fedora_messaging_severity"] >= 40`, "amqp int32 error", true},
		{"missing header is nil", `headers["fedora_messaging_schema"] == nil`, "amqp int64 warning", true},
		{"zeromq headers are empty", `len(headers) == 0`, "zeromq", true},
		{"zeromq header lookup is nil", `headers["fedora_messaging_schema"] == nil`, "zeromq", true},
		{"zeromq header with a default", `(headers?.fedora_messaging_schema ?? "none") == "none"`, "zeromq", true},
		{"amqp without headers has empty headers", `len(headers) == 0`, "amqp no headers", true},
		{"$env sees headers", `$env.headers["fedora_messaging_schema"] == "base.message"`, "amqp int32 error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, _ := json.Marshal(map[string]string{"expression": tc.expression})
			if got := mustEval(t, "expr", string(args), "", msgs[tc.message]); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}
