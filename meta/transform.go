package meta

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
)

// A transform rewrites the values an extractor found, in place; it may
// drop values (returning a shorter slice) or add some (split, mentions).
type transform func(vals []string) []string

// eachValue lifts a one-value function into a transform; a value that
// becomes "" is dropped.
func eachValue(f func(string) string) transform {
	return func(vals []string) []string {
		out := vals[:0]
		for _, v := range vals {
			if v = f(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
}

// expandValue lifts a one-to-many function into a transform.
func expandValue(f func(dst []string, v string) []string) transform {
	return func(vals []string) []string {
		var out []string
		for _, v := range vals {
			out = f(out, v)
		}
		return out
	}
}

// compileTransform parses one entry of an extractor's transforms list:
// a name, optionally followed by ":" and an argument.
func compileTransform(spec string, aliases map[string]string) (transform, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	needArg := func() error {
		if !hasArg || arg == "" {
			return fmt.Errorf("transform %q needs an argument (%s:ARG)", name, name)
		}
		return nil
	}
	noArg := func(t transform) (transform, error) {
		if hasArg {
			return nil, fmt.Errorf("transform %q takes no argument", name)
		}
		return t, nil
	}
	if f, ok := oneValue[name]; ok {
		return noArg(eachValue(f))
	}
	switch name {
	case "alias":
		return noArg(eachValue(func(v string) string { return aliasOf(aliases, v) }))
	case "mentions":
		return noArg(expandValue(appendMentions))
	case "first":
		return noArg(func(vals []string) []string { return vals[:min(len(vals), 1)] })
	case "split":
		if !hasArg {
			return expandValue(appendFields), nil
		}
		if err := needArg(); err != nil {
			return nil, err
		}
		return expandValue(func(dst []string, v string) []string {
			for _, f := range strings.Split(v, arg) {
				if f = strings.TrimSpace(f); f != "" {
					dst = append(dst, f)
				}
			}
			return dst
		}), nil
	case "drop":
		if err := needArg(); err != nil {
			return nil, err
		}
		return eachValue(func(v string) string {
			if v == arg {
				return ""
			}
			return v
		}), nil
	case "prefix", "suffix", "trimprefix", "trimsuffix":
		if err := needArg(); err != nil {
			return nil, err
		}
		f := withArg[name]
		return eachValue(func(v string) string { return f(v, arg) }), nil
	case "replace":
		old, repl, ok := strings.Cut(arg, ":")
		if !ok || old == "" {
			return nil, fmt.Errorf("transform %q needs OLD:NEW", name)
		}
		return eachValue(func(v string) string { return strings.ReplaceAll(v, old, repl) }), nil
	case "regex":
		if err := needArg(); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(arg)
		if err != nil {
			return nil, fmt.Errorf("transform regex: %w", err)
		}
		return eachValue(func(v string) string {
			m := re.FindStringSubmatch(v)
			switch {
			case m == nil:
				return ""
			case len(m) > 1:
				return m[1]
			}
			return v
		}), nil
	}
	return nil, fmt.Errorf("unknown transform %q", name)
}

// oneValue are the transforms that rewrite each value on its own.
var oneValue = map[string]func(string) string{
	"nvr":      nvrName,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"trim":     strings.TrimSpace,
	"email":    emailUser,
	"fasemail": fasEmailUser,
	"openid":   openidUser,
	"fas":      fasUser,
	"basename": path.Base,
	"dirname":  dirName,
}

// withArg are the transforms of a value and their argument.
var withArg = map[string]func(v, arg string) string{
	"prefix":     func(v, arg string) string { return arg + v },
	"suffix":     func(v, arg string) string { return v + arg },
	"trimprefix": strings.TrimPrefix,
	"trimsuffix": strings.TrimSuffix,
}

// nvrName turns a name-version-release into the name by dropping the last
// two "-" parts, as rpm does ("python-foo-1.0-1.fc38" → "python-foo").
func nvrName(nvr string) string {
	i := strings.LastIndexByte(nvr, '-')
	if i < 0 {
		return nvr
	}
	j := strings.LastIndexByte(nvr[:i], '-')
	if j < 0 {
		return nvr
	}
	return nvr[:j]
}

// emailUser is the local part of an address; a value without "@" is kept,
// since services often send a bare username where an address may be.
func emailUser(v string) string {
	if i := strings.IndexByte(v, '@'); i >= 0 {
		return v[:i]
	}
	return v
}

// fasEmailUser maps only Fedora addresses to usernames: anyone can own
// "ralph@example.com", only the FAS user ralph owns ralph@fedoraproject.org.
func fasEmailUser(v string) string {
	user, ok := strings.CutSuffix(v, "@fedoraproject.org")
	if !ok || strings.Contains(user, "@") {
		return ""
	}
	return user
}

// openidUser maps a Fedora OpenID URL ("http://ralph.id.fedoraproject.org/")
// to the username; other URLs name nobody we know.
func openidUser(v string) string {
	_, rest, ok := strings.Cut(v, "://")
	if !ok {
		rest = v
	}
	user, ok := strings.CutSuffix(strings.TrimSuffix(rest, "/"), ".id.fedoraproject.org")
	if !ok || strings.ContainsAny(user, "/.") {
		return ""
	}
	return user
}

// aliasOf maps a name through aliases, keeping names without one.
func aliasOf(aliases map[string]string, name string) string {
	if a, ok := aliases[name]; ok {
		return a
	}
	return name
}

// fasUser normalises how services name a Fedora user: an OpenID URL or a
// @fedoraproject.org address becomes the username; anything else is kept,
// so that aliases can map other addresses (rbean@redhat.com → ralph).
func fasUser(v string) string {
	if u := openidUser(v); u != "" {
		return u
	}
	if u := fasEmailUser(v); u != "" {
		return u
	}
	return v
}

func dirName(v string) string {
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		return v[:i]
	}
	return ""
}

// appendMentions appends the names of every "@name" in text, as the
// reference's re.findall(r"@\w+", text) finds them.
func appendMentions(dst []string, text string) []string {
	for {
		i := strings.IndexByte(text, '@')
		if i < 0 {
			return dst
		}
		text = text[i+1:]
		end := strings.IndexFunc(text, func(r rune) bool { return !isWordRune(r) })
		if end < 0 {
			end = len(text)
		}
		if end > 0 {
			dst = append(dst, text[:end])
		}
		text = text[end:]
	}
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// appendFields splits on commas and white space.
func appendFields(dst []string, v string) []string {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		dst = append(dst, f)
	}
	return dst
}
