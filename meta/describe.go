package meta

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"hark/bus"
)

//go:embed processors/*.yaml aliases.yaml
var embedded embed.FS

// Options configures a Describer.
type Options struct {
	// Files are extra processor files (config meta.processors), loaded
	// after the embedded ones; they extend or override them.
	Files []string
	// Aliases map usernames as services send them to the names users are
	// known by (threebean → ralph). They are added to the embedded
	// defaults (aliases.yaml) and win over them.
	Aliases map[string]string
}

// A Describer works out what messages are about. It is immutable after New
// and safe for concurrent use.
type Describer struct {
	services map[string]*service
	generic  *service
	aliases  map[string]string
	schemas  schemaIndex
	// schemaRules are the rules with a schema key, across services, in the
	// order they are tried: extra files' first, then the embedded ones in
	// file then rule order.
	schemaRules []*rule
}

// New compiles the embedded processors, then opts.Files, and returns a
// Describer. Every broken file is reported, each error naming file, line
// and processor.
func New(opts Options) (*Describer, error) {
	return newDescriber(embedded, "processors", opts)
}

// newDescriber is New with the built-in processors read from dir of fsys.
func newDescriber(fsys fs.FS, dir string, opts Options) (*Describer, error) {
	d := &Describer{services: map[string]*service{}}
	aliases, err := defaultAliases()
	if err != nil {
		return nil, err
	}
	for k, v := range opts.Aliases {
		aliases[k] = v
	}
	d.aliases = aliases
	svcs, err := loadFS(fsys, dir, aliases)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		if err := d.add(s, true); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, f := range opts.Files {
		s, err := loadFile(f, aliases)
		if err == nil {
			err = d.add(s, false)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.generic = d.services[genericService]
	delete(d.services, genericService)
	if d.generic == nil {
		d.generic = &service{names: []string{genericService}}
	}
	// The generic extractors read fedmsg-era keys; a fedora-messaging
	// message no processor knows gets the base class's nothing.
	// Only the agent is kept: who acted is read from the same few keys
	// (agent, user, username) by most schemas.
	d.generic.fmDefaults = rule{file: d.generic.defaults.file, line: d.generic.defaults.line}
	d.generic.fmDefaults.fill(&d.generic.defaults, d.generic.defaults.has&hasList(listAgent))
	for _, s := range d.services {
		s.inherit(d.generic)
	}
	d.schemas = d.indexSchemas()
	return d, nil
}

var (
	defaultOnce sync.Once
	defaultDesc *Describer
)

// Default returns the Describer of the embedded processors and aliases
// alone. The embedded files are tested, so failing to load them is a
// bug in the build, not a runtime condition: it panics.
func Default() *Describer {
	defaultOnce.Do(func() {
		d, err := New(Options{})
		if err != nil {
			panic(err)
		}
		defaultDesc = d
	})
	return defaultDesc
}

func defaultAliases() (map[string]string, error) {
	data, err := embedded.ReadFile("aliases.yaml")
	if err != nil {
		return nil, fmt.Errorf("read aliases: %w", err)
	}
	aliases := map[string]string{}
	if err := yaml.Unmarshal(data, &aliases); err != nil {
		return nil, fmt.Errorf("load aliases aliases.yaml: %w", err)
	}
	return aliases, nil
}

// add merges a loaded service into the set, once per app it names. An
// extra file's rules come first so they win; its defaults replace those it
// sets. Several embedded files may serve one app (bodhi.yaml for fedmsg's
// messages, fm-bodhi.yaml for fedora-messaging's), in file name order:
// the rules of an fm-<app>.yaml (and of any file after the first
// fedmsg-era one) take what they leave out from their own file's defaults
// alone. The fedmsg-era file's defaults are the service's, whichever file
// sorts first; a service with only fm files takes the first one's.
func (d *Describer) add(s *service, embeddedFile bool) error {
	var schemaRules []*rule
	for i, name := range s.names {
		own := s.copyFor(name)
		if i == 0 {
			// A file serving several apps tries its schema rules once,
			// as the first app's.
			for _, r := range own.rules {
				if r.schemas != nil {
					schemaRules = append(schemaRules, r)
				}
			}
		}
		old, ok := d.services[name]
		switch {
		case !embeddedFile && (!ok || s.replace):
			own.primary = true
			d.services[name] = own
		case !embeddedFile:
			old.rules = append(own.rules, old.rules...)
			old.defaults.fill(&own.defaults, own.defaults.has)
			old.primary = true
		case s.fm || ok && old.primary:
			own.seal()
			if !ok {
				fmOwn := own.defaults
				own.fmOwn = &fmOwn
				own.defaults = rule{file: fmOwn.file, line: fmOwn.line}
				d.services[name] = own
				continue
			}
			old.rules = append(old.rules, own.rules...)
			if s.fm && old.fmOwn == nil {
				old.fmOwn = &own.defaults
			}
		case !ok:
			own.primary = true
			d.services[name] = own
		default:
			// The fedmsg-era file after the fm ones: its defaults are
			// the service's, for its own rules too.
			old.rules = append(old.rules, own.rules...)
			old.defaults, old.primary = own.defaults, true
		}
	}
	if embeddedFile {
		d.schemaRules = append(d.schemaRules, schemaRules...)
	} else {
		d.schemaRules = append(schemaRules, d.schemaRules...)
	}
	return nil
}

// seal resolves the rules of s against its own defaults alone.
func (s *service) seal() {
	for _, r := range s.rules {
		r.fill(&s.defaults, s.defaults.has&^r.has)
		r.sealed = true
	}
}

// copyFor returns a copy of s for one app, so that merging and inheriting
// for one app never changes another app served by the same file.
func (s *service) copyFor(name string) *service {
	c := &service{names: []string{name}, defaults: s.defaults, fm: s.fm}
	for _, r := range s.rules {
		rc := *r
		c.rules = append(c.rules, &rc)
	}
	return c
}

// fill copies from o the fields in mask.
func (r *rule) fill(o *rule, mask fieldSet) {
	for i := range r.texts {
		if mask&hasText(i) != 0 {
			r.texts[i] = o.texts[i]
		}
	}
	for j := range r.lists {
		if mask&hasList(j) != 0 {
			r.lists[j] = o.lists[j]
		}
	}
	r.has |= mask
}

// inherit resolves defaults once at load, so Describe never looks past the
// rule it matched: rules take what they leave out from the service
// defaults, and the defaults take the extractors they leave out from the
// generic fallback (used when no rule of the service matches).
func (s *service) inherit(generic *service) {
	if !s.primary && s.fmOwn != nil {
		s.defaults = *s.fmOwn // only fm files serve this app
	}
	for _, r := range s.rules {
		if !r.sealed {
			r.fill(&s.defaults, s.defaults.has&^r.has)
		}
	}
	// A fedora-messaging message no rule matches takes the defaults of
	// the service's first fm file, else the service's; of the generic
	// fallback's extractors, only the agent.
	s.fmDefaults = s.defaults
	if s.fmOwn != nil {
		s.fmDefaults = *s.fmOwn
	}
	s.fmDefaults.fill(&generic.defaults, generic.defaults.has&hasList(listAgent)&^s.fmDefaults.has)
	s.defaults.fill(&generic.defaults, generic.defaults.has&allLists&^s.defaults.has)
}

// Describe works out what env is about. It does no I/O, and the same
// envelope always gives the same Description.
func (d *Describer) Describe(env *bus.Envelope) Description {
	desc, _ := d.describe(env)
	return desc
}

// describe is Describe, also returning the rule that described env.
func (d *Describer) describe(env *bus.Envelope) (Description, *rule) {
	app, suffix, title := splitTopic(env.Topic)
	s := getState()
	defer putState(s)
	fm := env.Headers != nil
	r, _ := d.selectRule(env, app, suffix, s)
	desc := Description{App: app, Title: title}
	if r.has&hasText(textTitle) != 0 {
		desc.Title = r.texts[textTitle].execute(s, env.Fields)
	}
	desc.Subtitle = r.texts[textSubtitle].execute(s, env.Fields)
	desc.Link = r.texts[textLink].execute(s, env.Fields)
	desc.Icon = r.texts[textIcon].execute(s, env.Fields)
	desc.Body = r.texts[textBody].execute(s, env.Fields)
	desc.AppName = r.texts[textAppName].execute(s, env.Fields)
	desc.Usernames = d.aliasSet(extract(nil, r.lists[listUsernames], env.Fields, s))
	if agent := extract(nil, r.lists[listAgent], env.Fields, s); len(agent) > 0 {
		desc.Agent = d.aliasOne(agent[0])
	}
	desc.Packages = set(extract(nil, r.lists[listPackages], env.Fields, s))
	desc.Objects = extract(nil, r.lists[listObjects], env.Fields, s)
	desc.Groups = set(extract(nil, r.lists[listGroups], env.Fields, s))
	desc.Containers = set(extract(nil, r.lists[listContainers], env.Fields, s))
	desc.Modules = set(extract(nil, r.lists[listModules], env.Fields, s))
	desc.Flatpaks = set(extract(nil, r.lists[listFlatpaks], env.Fields, s))
	d.mergeObjects(&desc, env.Objects)
	if len(desc.Containers)+len(desc.Modules)+len(desc.Flatpaks) > 0 {
		// Every artifact kind is a package to rules, as the object
		// headers' are (mergeObjects).
		desc.Packages = set(slices.Concat(desc.Packages, desc.Containers, desc.Modules, desc.Flatpaks))
	}
	desc.Objects = set(appendKinds(desc.Objects, &desc))
	if fm {
		d.fmDefaults(&desc, r, env)
	} else if desc.Subtitle == "" && r.has&hasText(textSubtitle) != 0 {
		desc.Subtitle = fallbackSummary(&desc)
	}
	return desc, r
}

// How a rule was chosen, for Explain.
const (
	bySchema   = "schema"   // a rule's schema matched the schema header
	byTopic    = "topic"    // a rule's match matched the topic
	byDefaults = "defaults" // no rule matched: the service's defaults
)

// selectRule finds the rule that describes env: a schema rule, else a
// topic rule of the app's service (or the generic one), else the
// service's defaults.
func (d *Describer) selectRule(env *bus.Envelope, app, suffix string, s *state) (*rule, string) {
	schema := schemaOf(env)
	if r := d.schemas.match(schema, env.Fields, s); r != nil {
		return r, bySchema
	}
	svc := d.generic
	if sv, ok := d.services[app]; ok {
		svc = sv
	}
	r, matched := svc.match(suffix, schema != "", env.Fields, s)
	switch {
	case matched:
		return r, byTopic
	case env.Headers != nil:
		// fedora-messaging's base class extracts nothing; the
		// publisher's object headers say who and what.
		return &svc.fmDefaults, byDefaults
	}
	return r, byDefaults
}

// An Origin says which processor rule described a message.
type Origin struct {
	// File and Line are where the rule (or, for "defaults", the file's
	// top level) is written: "processors/fm-bodhi.yaml", 12.
	File string `json:"file"`
	Line int    `json:"line"`
	// By is how it was chosen: "schema" (its schema key matched the
	// fedora_messaging_schema header), "topic" (its match key matched the
	// topic) or "defaults" (no rule matched).
	By string `json:"by"`
	// Patterns are the rule's match and schema globs.
	Match  []string `json:"match,omitempty"`
	Schema []string `json:"schema,omitempty"`
}

// Explain describes env and says which rule did.
func (d *Describer) Explain(env *bus.Envelope) (Description, Origin) {
	desc, _ := d.describe(env)
	app, suffix, _ := splitTopic(env.Topic)
	s := getState()
	defer putState(s)
	r, by := d.selectRule(env, app, suffix, s)
	o := Origin{File: r.file, Line: r.line, By: by, Match: r.patterns}
	for _, g := range r.schemas {
		o.Schema = append(o.Schema, g.source)
	}
	return desc, o
}

// match returns the first rule matching the topic suffix, or the service's
// defaults. When the message names its schema, rules with a schema key
// had their chance (schemaIndex.match) and are passed over.
func (s *service) match(suffix string, hasSchema bool, data map[string]any, st *state) (r *rule, matched bool) {
	for _, r := range s.rules {
		if !r.matches(suffix) || hasSchema && r.schemas != nil {
			continue
		}
		if !r.applies(data, st) {
			continue
		}
		return r, true
	}
	return &s.defaults, false
}

// applies reports whether the rule's when (if any) holds for data.
func (r *rule) applies(data map[string]any, st *state) bool {
	if r.when == nil {
		return true
	}
	switch r.when.execute(st, data) {
	case "", "false", "0":
		return false
	}
	return true
}

func (r *rule) matches(suffix string) bool {
	for _, g := range r.globs {
		if g.match(suffix) {
			return true
		}
	}
	return false
}

// A glob is a compiled match pattern. Most patterns are a plain topic
// suffix or a prefix followed by "*"; those compare strings, the rest go
// through path.Match. Every message tries many rules, so this matters.
type glob struct {
	source  string // as written
	pattern string
	exact   bool // pattern has no metacharacters
	prefix  bool // pattern is literal text then a final "*"
}

func compileGlob(p string) (glob, error) {
	if _, err := path.Match(p, ""); err != nil {
		return glob{}, err
	}
	const meta = `*?[\`
	switch {
	case !strings.ContainsAny(p, meta):
		return glob{source: p, pattern: p, exact: true}, nil
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], meta):
		return glob{source: p, pattern: p[:len(p)-1], prefix: true}, nil
	}
	return glob{source: p, pattern: p}, nil
}

func (g glob) match(s string) bool {
	switch {
	case g.exact:
		return s == g.pattern
	case g.prefix:
		return strings.HasPrefix(s, g.pattern)
	}
	ok, _ := path.Match(g.pattern, s)
	return ok
}

// splitTopic returns the app (the 4th dot-separated token), the topic after
// it, and the default title: the topic without its prefix and env.
func splitTopic(topic string) (app, suffix, title string) {
	rest := topic
	for range 3 {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return "", "", topic
		}
		rest = rest[i+1:]
	}
	app, suffix, _ = strings.Cut(rest, ".")
	return app, suffix, rest
}

// extract appends what every extractor yields.
func extract(dst []string, es []extractor, data map[string]any, s *state) []string {
	for i := range es {
		e := &es[i]
		start := len(dst)
		switch {
		case e.template != nil:
			for rest := e.template.execute(s, data); rest != ""; {
				var line string
				line, rest, _ = strings.Cut(rest, "\n")
				if line = strings.TrimSpace(line); line != "" {
					dst = append(dst, line)
				}
			}
		case e.value != "":
			dst = append(dst, e.value)
		default:
			for _, p := range e.paths {
				dst = p.appendValues(dst, data)
			}
		}
		if len(e.transforms) > 0 {
			vals := dst[start:]
			for _, t := range e.transforms {
				vals = t(vals)
			}
			dst = append(dst[:start], vals...)
		}
	}
	return dst
}

// set sorts and de-duplicates in place, dropping empty strings.
func set(vals []string) []string {
	vals = slices.DeleteFunc(vals, func(s string) bool { return s == "" })
	if len(vals) == 0 {
		return nil
	}
	slices.Sort(vals)
	return slices.Compact(vals)
}

// pythonNone is how Python writes null with str().
const pythonNone = "None"

// aliasSet maps names through the aliases and returns them as a set.
func (d *Describer) aliasSet(names []string) []string {
	for i, n := range names {
		names[i] = d.aliasOne(n)
	}
	return set(names)
}

// aliasOne maps a name through the aliases, and drops what is still an
// email address: a username never contains "@", so an address no alias
// maps names nobody rules can match. "None" is Python's null turned into
// text by a publisher (a fedora_messaging_user_None header), not a user.
func (d *Describer) aliasOne(name string) string {
	if name = aliasOf(d.aliases, name); strings.Contains(name, "@") || name == pythonNone {
		return ""
	}
	return name
}
