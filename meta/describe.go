package meta

import (
	"embed"
	"errors"
	"fmt"
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
}

// New compiles the embedded processors, then opts.Files, and returns a
// Describer. Every broken file is reported, each error naming file, line
// and processor.
func New(opts Options) (*Describer, error) {
	d := &Describer{services: map[string]*service{}}
	aliases, err := defaultAliases()
	if err != nil {
		return nil, err
	}
	for k, v := range opts.Aliases {
		aliases[k] = v
	}
	d.aliases = aliases
	svcs, err := loadFS(embedded, "processors", aliases)
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
	for _, s := range d.services {
		s.inherit(d.generic)
	}
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
// sets.
func (d *Describer) add(s *service, embeddedFile bool) error {
	for _, name := range s.names {
		own := s.copyFor(name)
		old, ok := d.services[name]
		switch {
		case ok && embeddedFile:
			return fmt.Errorf("load processors: service %q defined twice in the embedded processors", name)
		case !ok || s.replace:
			d.services[name] = own
			continue
		}
		old.rules = append(own.rules, old.rules...)
		old.defaults.fill(&own.defaults, own.defaults.has)
	}
	return nil
}

// copyFor returns a copy of s for one app, so that merging and inheriting
// for one app never changes another app served by the same file.
func (s *service) copyFor(name string) *service {
	c := &service{names: []string{name}, defaults: s.defaults}
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
	for _, r := range s.rules {
		r.fill(&s.defaults, s.defaults.has&^r.has)
	}
	s.defaults.fill(&generic.defaults, generic.defaults.has&allLists&^s.defaults.has)
}

// Describe works out what env is about. It does no I/O, and the same
// envelope always gives the same Description.
func (d *Describer) Describe(env *bus.Envelope) Description {
	app, suffix, title := splitTopic(env.Topic)
	svc := d.generic
	if s, ok := d.services[app]; ok {
		svc = s
	}
	s := getState()
	defer putState(s)
	r := svc.match(suffix, env.Fields, s)
	desc := Description{App: app, Title: title}
	if r.has&hasText(textTitle) != 0 {
		desc.Title = r.texts[textTitle].execute(s, env.Fields)
	}
	desc.Subtitle = r.texts[textSubtitle].execute(s, env.Fields)
	desc.Link = r.texts[textLink].execute(s, env.Fields)
	desc.Icon = r.texts[textIcon].execute(s, env.Fields)
	desc.Usernames = d.aliasSet(extract(nil, r.lists[listUsernames], env.Fields, s))
	if agent := extract(nil, r.lists[listAgent], env.Fields, s); len(agent) > 0 {
		desc.Agent = d.aliasOne(agent[0])
	}
	desc.Packages = set(extract(nil, r.lists[listPackages], env.Fields, s))
	desc.Objects = set(extract(nil, r.lists[listObjects], env.Fields, s))
	d.mergeObjects(&desc, env.Objects)
	return desc
}

// match returns the first rule matching the topic suffix, or the service's
// defaults.
func (s *service) match(suffix string, data map[string]any, st *state) *rule {
	for _, r := range s.rules {
		if !r.matches(suffix) {
			continue
		}
		if r.when != nil {
			switch r.when.execute(st, data) {
			case "", "false", "0":
				continue
			}
		}
		return r
	}
	return &s.defaults
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
		return glob{pattern: p, exact: true}, nil
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], meta):
		return glob{pattern: p[:len(p)-1], prefix: true}, nil
	}
	return glob{pattern: p}, nil
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

// aliasSet maps names through the aliases and returns them as a set.
func (d *Describer) aliasSet(names []string) []string {
	for i, n := range names {
		names[i] = d.aliasOne(n)
	}
	return set(names)
}

// aliasOne maps a name through the aliases, and drops what is still an
// email address: a username never contains "@", so an address no alias
// maps names nobody rules can match.
func (d *Describer) aliasOne(name string) string {
	if name = aliasOf(d.aliases, name); strings.Contains(name, "@") {
		return ""
	}
	return name
}
