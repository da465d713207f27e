package meta

import "strings"

// Template functions for the fedora-messaging processors of the webhook
// forges (fm-forgejo.yaml, fm-github.yaml, fm-gitlab.yaml). Their names say
// which Python idiom they copy, so they do not collide with the engine's.
func init() {
	// pyFirstLine S: Python's S.splitlines()[0], the first line of a commit
	// message in the forges' push summaries.
	templateFuncs["pyFirstLine"] = fn1(func(s string) string {
		if i := strings.IndexFunc(s, fmcIsPyLineBreak); i >= 0 {
			return s[:i]
		}
		return s
	})
	// pyTitle S: Python's str.title(), every run of letters capitalised
	// ("action_run" -> "Action_Run").
	templateFuncs["pyTitle"] = fn1(func(s string) string {
		var b strings.Builder
		prevLetter := false
		for _, r := range s {
			letter := strings.ToUpper(string(r)) != strings.ToLower(string(r))
			switch {
			case letter && !prevLetter:
				b.WriteString(strings.ToUpper(string(r)))
			case letter:
				b.WriteString(strings.ToLower(string(r)))
			default:
				b.WriteRune(r)
			}
			prevLetter = letter
		}
		return b.String()
	})
}

// fmcIsPyLineBreak reports the characters Python's str.splitlines splits on.
func fmcIsPyLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}
