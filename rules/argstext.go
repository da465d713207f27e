package rules

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ArgsText is a rule's arguments as people read them when the rule has
// one argument: a string as it is, a list joined by commas; anything
// else as its JSON. The editor shows rules so, and mail headers say why
// a message came so.
func ArgsText(args json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(args, &m) != nil || len(m) != 1 {
		return string(args)
	}
	for _, v := range m {
		switch v := v.(type) {
		case string:
			return v
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			return strings.Join(parts, ", ")
		}
	}
	return string(args)
}
