package meta

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// genericService is the service name of the fallback processor, used for
// apps no processor file names.
const genericService = "*"

// A rule is one compiled entry of a processor's topics (or a service's
// defaults): what to say about the messages it matches.
type rule struct {
	patterns []string
	globs    []glob
	schemas  []glob // over the fedora_messaging_schema header; nil: none
	when     *tmpl

	texts [numTexts]*tmpl       // title, subtitle, link, icon, body, app_name
	lists [numLists][]extractor // usernames, packages, agent, objects, groups...
	has   fieldSet              // which of them the file set, even empty

	// sealed rules were resolved against their own file's defaults (a
	// second file of an embedded service, such as fm-bodhi.yaml beside
	// bodhi.yaml), so the service's defaults do not fill them again.
	sealed bool
	// file and line say where the rule is written, for hark meta --explain.
	file string
	line int
}

// The template fields and extractor fields of a rule, by index, with their
// keys in processor files.
const (
	textTitle = iota
	textSubtitle
	textLink
	textIcon
	textBody
	textAppName
	numTexts
)

const (
	listUsernames = iota
	listPackages
	listAgent
	listObjects
	listGroups
	listContainers
	listModules
	listFlatpaks
	numLists
)

var (
	textKeys = [numTexts]string{"title", "subtitle", "link", "icon", "body", "app_name"}
	listKeys = [numLists]string{"usernames", "packages", "agent", "objects",
		"groups", "containers", "modules", "flatpaks"}
)

// subtitleAlias is the fedora-messaging name of subtitle: a schema's
// summary is the one line hark calls the subtitle.
const subtitleAlias = "summary"

// ruleKeys are the field keys of a rule and of a file's defaults.
var ruleKeys = []string{"title", "subtitle", subtitleAlias, "link", "icon", "body", "app_name",
	"usernames", "packages", "agent", "objects", "groups", "containers", "modules", "flatpaks"}

// fieldSet records which optional fields a rule sets, so that an explicit
// empty list is kept rather than replaced by the service's default: bit
// i for texts[i], bit numTexts+j for lists[j].
type fieldSet uint16

func hasText(i int) fieldSet { return 1 << i }

func hasList(j int) fieldSet { return 1 << (numTexts + j) }

// allLists is every extractor field.
const allLists = fieldSet((1<<numLists - 1) << numTexts)

// A service is every rule for one app, plus the defaults its rules inherit.
type service struct {
	names    []string // the apps it serves; usually one
	replace  bool     // an extra file's "replace: true"
	defaults rule
	rules    []*rule
	// fmDefaults are what a fedora-messaging message no rule matches
	// gets: the first fm file's defaults, else the service's, without
	// the generic fallback's extractors but the agent.
	fmDefaults rule

	fm      bool  // loaded from an embedded fm-<app>.yaml
	primary bool  // a fedmsg-era (or extra) file gives the defaults
	fmOwn   *rule // the first fm file's own defaults
}

// An extractor yields strings from an envelope: paths, a template or a
// constant, then transforms.
type extractor struct {
	paths      []fieldPath
	template   *tmpl
	value      string
	transforms []transform
}

// loader parses processor files, keeping file and line for errors.
type loader struct {
	file    string
	service string            // for errors: the file's service name(s)
	aliases map[string]string // for the alias function and transform
	set     *templateSet      // the file's named templates and functions
}

// A namedTemplate is an entry of a file's top-level templates, callable
// from every template of the file with {{ template "name" . }}.
type namedTemplate struct {
	name, src string
}

func (l *loader) errorf(n *yaml.Node, topic, format string, args ...any) error {
	where := fmt.Sprintf("%s:%d", l.file, n.Line)
	who := ""
	if l.service != "" {
		who = fmt.Sprintf(" processor %q", l.service)
	}
	if topic != "" {
		who += fmt.Sprintf(" topic %q", topic)
	}
	if who != "" {
		who += ":"
	}
	return fmt.Errorf("load processors %s:%s %s", where, who, fmt.Sprintf(format, args...))
}

// parseFile compiles one processor file.
func parseFile(name string, data []byte, aliases map[string]string) (*service, error) {
	l := &loader{file: name, aliases: aliases, set: newTemplateSet(aliases)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("load processors %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("load processors %s: empty file", name)
	}
	top := doc.Content[0]
	fields, err := l.mapping(top, "", append([]string{"service", "replace", "topics", "templates"}, ruleKeys...)...)
	if err != nil {
		return nil, err
	}
	svcNode, ok := fields["service"]
	if !ok {
		return nil, l.errorf(top, "", "missing key \"service\"")
	}
	names, err := l.stringList(svcNode, "", "service")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 || contains(names, "") {
		return nil, l.errorf(svcNode, "", "service: empty name")
	}
	l.service = strings.Join(names, ",")
	svc := &service{names: names, fm: strings.HasPrefix(path.Base(name), "fm-")}
	svc.defaults.file, svc.defaults.line = name, top.Line
	if n, ok := fields["templates"]; ok {
		if err := l.namedTemplates(n); err != nil {
			return nil, err
		}
	}
	if n, ok := fields["replace"]; ok {
		if err := n.Decode(&svc.replace); err != nil {
			return nil, l.errorf(n, "", "replace: want true or false")
		}
	}
	if err := l.ruleFields(fields, "", &svc.defaults); err != nil {
		return nil, err
	}
	if n, ok := fields["topics"]; ok {
		if n.Kind != yaml.SequenceNode {
			return nil, l.errorf(n, "", "topics: want a list of rules")
		}
		for _, tn := range n.Content {
			r, err := l.rule(tn)
			if err != nil {
				return nil, err
			}
			svc.rules = append(svc.rules, r)
		}
	}
	return svc, nil
}

// rule compiles one entry of topics.
func (l *loader) rule(n *yaml.Node) (*rule, error) {
	fields, err := l.mapping(n, "", append([]string{"match", "schema", "when"}, ruleKeys...)...)
	if err != nil {
		return nil, err
	}
	m, hasMatch := fields["match"]
	sc, hasSchema := fields["schema"]
	if !hasMatch && !hasSchema {
		return nil, l.errorf(n, "", "rule without \"match\" or \"schema\"")
	}
	r := &rule{file: l.file, line: n.Line}
	var names []string
	if hasMatch {
		if r.patterns, r.globs, err = l.globs(m, "match"); err != nil {
			return nil, err
		}
		names = append(names, r.patterns...)
	}
	if hasSchema {
		var patterns []string
		if patterns, r.schemas, err = l.globs(sc, "schema"); err != nil {
			return nil, err
		}
		names = append(names, patterns...)
	}
	topic := strings.Join(names, ",")
	if w, ok := fields["when"]; ok {
		if r.when, err = l.template(w, topic, "when"); err != nil {
			return nil, err
		}
	}
	return r, l.ruleFields(fields, topic, r)
}

// globs compiles a match or schema key: one glob or a list of them.
func (l *loader) globs(n *yaml.Node, key string) ([]string, []glob, error) {
	patterns, err := l.stringList(n, "", key)
	if err != nil {
		return nil, nil, err
	}
	if len(patterns) == 0 {
		return nil, nil, l.errorf(n, "", "%s: no pattern", key)
	}
	globs := make([]glob, 0, len(patterns))
	for _, p := range patterns {
		g, err := compileGlob(p)
		if err != nil {
			return nil, nil, l.errorf(n, strings.Join(patterns, ","), "%s: bad glob %q: %v", key, p, err)
		}
		globs = append(globs, g)
	}
	return patterns, globs, nil
}

// ruleFields compiles the templates and extractors shared by rules and
// service defaults.
func (l *loader) ruleFields(fields map[string]*yaml.Node, topic string, r *rule) error {
	if n, ok := fields[subtitleAlias]; ok {
		if _, both := fields["subtitle"]; both {
			return l.errorf(n, topic, "summary and subtitle are the same field: keep one")
		}
		fields["subtitle"] = n
	}
	for i, key := range textKeys {
		if n, ok := fields[key]; ok {
			var err error
			if r.texts[i], err = l.template(n, topic, key); err != nil {
				return err
			}
			r.has |= hasText(i)
		}
	}
	for j, key := range listKeys {
		if n, ok := fields[key]; ok {
			var err error
			if r.lists[j], err = l.extractors(n, topic, key); err != nil {
				return err
			}
			r.has |= hasList(j)
		}
	}
	return nil
}

func (l *loader) template(n *yaml.Node, topic, key string) (*tmpl, error) {
	var src string
	if err := l.scalar(n, topic, key, &src); err != nil {
		return nil, err
	}
	t, err := compileTemplate(key, src, l.set)
	if err != nil {
		return nil, l.errorf(n, topic, "%s: %v", key, err)
	}
	return t, nil
}

// namedTemplates reads the top-level templates map and compiles it into
// the file's template set.
func (l *loader) namedTemplates(n *yaml.Node) error {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return l.errorf(n, "", "templates: want a mapping of name to template")
	}
	var named []namedTemplate
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var src string
		if err := l.scalar(v, "", "templates."+k.Value, &src); err != nil {
			return err
		}
		// Compiled alone first, so an error names the entry's own line.
		one := newTemplateSet(l.aliases)
		for j := 0; j < len(n.Content); j += 2 {
			one.named[n.Content[j].Value] = nil // known to {{template}}
		}
		if err := one.addNamed([]namedTemplate{{k.Value, src}}); err != nil {
			return l.errorf(v, "", "templates.%s: %v", k.Value, err)
		}
		named = append(named, namedTemplate{name: k.Value, src: src})
	}
	if err := l.set.addNamed(named); err != nil {
		return l.errorf(n, "", "templates: %v", err)
	}
	return nil
}

// extractors compiles a list of extractors: bare paths or mappings.
func (l *loader) extractors(n *yaml.Node, topic, key string) ([]extractor, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, l.errorf(n, topic, "%s: want a list of extractors", key)
	}
	var out []extractor
	for _, en := range n.Content {
		e, err := l.extractor(en, topic, key)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (l *loader) extractor(n *yaml.Node, topic, key string) (extractor, error) {
	n = deref(n)
	var e extractor
	if n.Kind == yaml.ScalarNode {
		p, err := compilePath(n.Value)
		if err != nil {
			return e, l.errorf(n, topic, "%s: %v", key, err)
		}
		e.paths = []fieldPath{p}
		return e, nil
	}
	fields, err := l.mapping(n, topic, "path", "paths", "template", "value", "transforms")
	if err != nil {
		return e, err
	}
	sources := 0
	var srcs []string
	if pn, ok := fields["path"]; ok {
		sources++
		var s string
		if err := l.scalar(pn, topic, key+".path", &s); err != nil {
			return e, err
		}
		srcs = append(srcs, s)
	}
	if pn, ok := fields["paths"]; ok {
		sources++
		list, err := l.stringList(pn, topic, key+".paths")
		if err != nil {
			return e, err
		}
		srcs = append(srcs, list...)
	}
	for _, s := range srcs {
		p, err := compilePath(s)
		if err != nil {
			return e, l.errorf(n, topic, "%s: %v", key, err)
		}
		e.paths = append(e.paths, p)
	}
	if tn, ok := fields["template"]; ok {
		sources++
		if e.template, err = l.template(tn, topic, key+".template"); err != nil {
			return e, err
		}
	}
	if vn, ok := fields["value"]; ok {
		sources++
		if err := l.scalar(vn, topic, key+".value", &e.value); err != nil {
			return e, err
		}
	}
	if sources != 1 {
		return e, l.errorf(n, topic, "%s: an extractor needs exactly one of path, paths, template, value", key)
	}
	if tn, ok := fields["transforms"]; ok {
		specs, err := l.stringList(tn, topic, key+".transforms")
		if err != nil {
			return e, err
		}
		for _, s := range specs {
			t, err := compileTransform(s, l.aliases)
			if err != nil {
				return e, l.errorf(tn, topic, "%s: %v", key, err)
			}
			e.transforms = append(e.transforms, t)
		}
	}
	return e, nil
}

// mapping checks that n is a mapping with only the allowed keys and
// returns its values by key.
func (l *loader) mapping(n *yaml.Node, topic string, allowed ...string) (map[string]*yaml.Node, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, l.errorf(n, topic, "want a mapping with keys %s", strings.Join(allowed, ", "))
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			return nil, l.errorf(k, topic, "unknown key %q (want one of %s)", k.Value, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, l.errorf(k, topic, "duplicate key %q", k.Value)
		}
		out[k.Value] = v
	}
	return out, nil
}

func (l *loader) scalar(n *yaml.Node, topic, key string, dst *string) error {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return l.errorf(n, topic, "%s: want a string", key)
	}
	*dst = n.Value
	return nil
}

// stringList accepts one string or a list of strings.
func (l *loader) stringList(n *yaml.Node, topic, key string) ([]string, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, l.errorf(n, topic, "%s: want a string or a list of strings", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		if e = deref(e); e.Kind != yaml.ScalarNode {
			return nil, l.errorf(e, topic, "%s: want a string", key)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// deref follows YAML aliases (*name), which files use to share extractor
// lists between rules.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// loadFS compiles every *.yaml of a directory of an fs.FS, in name order.
func loadFS(fsys fs.FS, dir string, aliases map[string]string) ([]*service, error) {
	names, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list processors: %w", err)
	}
	var svcs []*service
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read processors: %w", err))
			continue
		}
		svc, err := parseFile(name, data, aliases)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		svcs = append(svcs, svc)
	}
	return svcs, errors.Join(errs...)
}

// loadFile compiles one processor file from disk.
func loadFile(name string, aliases map[string]string) (*service, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read processors: %w", err)
	}
	return parseFile(name, data, aliases)
}
