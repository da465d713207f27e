package meta

import (
	"hark/bus"
)

// schemaHeader is the AMQP header in which fedora-messaging names the
// schema class of a message ("bodhi.update.comment.v1"): what the message
// is, more precisely than its topic.
const schemaHeader = "fedora_messaging_schema"

// schemaOf returns the schema a message declares, "" for none (every
// fedmsg message, and fedora-messaging's base class).
func schemaOf(env *bus.Envelope) string {
	s, _ := env.Headers[schemaHeader].(string)
	return s
}

// A schemaIndex finds the rules whose schema key matches a schema. Most
// schema patterns are exact names, looked up in a map; the others are
// tried in turn. Both lists keep the rules' order, so the first rule of
// the merged order wins as the format says.
type schemaIndex struct {
	exact map[string][]indexedRule
	globs []indexedRule
}

// An indexedRule is a rule with its place in the order rules are tried.
type indexedRule struct {
	pos  int
	rule *rule
}

// indexSchemas builds the index from d.schemaRules, leaving out the rules
// an extra file's "replace: true" dropped from their service.
func (d *Describer) indexSchemas() schemaIndex {
	live := map[*rule]bool{}
	for _, s := range d.services {
		for _, r := range s.rules {
			live[r] = true
		}
	}
	ix := schemaIndex{exact: map[string][]indexedRule{}}
	for pos, r := range d.schemaRules {
		if !live[r] {
			continue
		}
		e := indexedRule{pos: pos, rule: r}
		glob := false
		for _, g := range r.schemas {
			if !g.exact {
				glob = true
				continue
			}
			if l := ix.exact[g.pattern]; len(l) == 0 || l[len(l)-1].rule != r {
				ix.exact[g.pattern] = append(l, e)
			}
		}
		if glob {
			ix.globs = append(ix.globs, e)
		}
	}
	return ix
}

// match returns the first rule, in order, whose schema matches and whose
// when holds; nil when none does (or schema is "").
func (ix *schemaIndex) match(schema string, data map[string]any, st *state) *rule {
	if schema == "" {
		return nil
	}
	exact, globs := ix.exact[schema], ix.globs
	for len(exact) > 0 || len(globs) > 0 {
		var e indexedRule
		if len(globs) == 0 || len(exact) > 0 && exact[0].pos < globs[0].pos {
			e, exact = exact[0], exact[1:]
		} else {
			e, globs = globs[0], globs[1:]
			if !e.rule.matchesSchema(schema) {
				continue
			}
		}
		if e.rule.applies(data, st) {
			return e.rule
		}
	}
	return nil
}

func (r *rule) matchesSchema(schema string) bool {
	for _, g := range r.schemas {
		if g.match(schema) {
			return true
		}
	}
	return false
}
