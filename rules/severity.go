package rules

import (
	"encoding/json"
	"fmt"

	"hark/bus"
)

// severityLevels are the levels a severity rule may name, lowest first:
// fedora-messaging's, named as bus names them.
var severityLevels = []string{
	bus.SeverityName(bus.SeverityDebug),
	bus.SeverityName(bus.SeverityInfo),
	bus.SeverityName(bus.SeverityWarning),
	bus.SeverityName(bus.SeverityError),
}

// selectInfo is the selectivity of the info level: nearly every message
// is info (every ZeroMQ one), so a filter is filed under info only when
// it has no better rule.
const selectInfo = 100

var severitySchema = func() json.RawMessage {
	levels, _ := json.Marshal(severityLevels) // strings: cannot fail
	return json.RawMessage(fmt.Sprintf(`{"type":"object","required":["levels"],"additionalProperties":false,"properties":{"levels":{"type":"array","minItems":1,"items":{"type":"string","enum":%s},"description":"Severity levels: debug, info, warning, error"}}}`, levels))
}()

// compileSeverity compiles the severity rule: a list of names like the
// other names kinds, from a closed set, indexed on the one level a
// message has.
func compileSeverity(raw json.RawMessage, owner string) (*Rule, error) {
	r, err := namesRule("levels", FieldSeverity, selectApp, severityLevels, func(m *Message) []string { return []string{m.Severity()} })(raw, owner)
	if err != nil {
		return nil, err
	}
	r.Selectivity = 0
	for _, h := range r.Hints {
		if h.Value == bus.SeverityName(bus.SeverityInfo) {
			r.Selectivity += selectInfo
		} else {
			r.Selectivity += selectApp
		}
	}
	return r, nil
}

// Severity is the name of the message's level: "debug", "info",
// "warning", "error", or "level N" for a level fedora-messaging does not
// name (which no severity rule lists). An envelope without a level
// (every ZeroMQ message) is info.
func (m *Message) Severity() string {
	level := m.Env.Severity
	if level == 0 {
		level = bus.SeverityInfo
	}
	return bus.SeverityName(level)
}
