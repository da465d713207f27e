package catchup

import "strings"

// Binds reports whether an AMQP topic exchange routes key to a queue
// bound with any of patterns: words are separated by dots, "*" stands
// for one word and "#" for zero or more. A catch-up keeps only what the
// live bus would have delivered.
func Binds(patterns []string, key string) bool {
	words := strings.Split(key, ".")
	for _, p := range patterns {
		if bindingMatches(strings.Split(p, "."), words) {
			return true
		}
	}
	return false
}

func bindingMatches(pattern, words []string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case "#":
			rest := pattern[1:]
			for i := 0; i <= len(words); i++ {
				if bindingMatches(rest, words[i:]) {
					return true
				}
			}
			return false
		case "*":
		default:
			if len(words) == 0 || words[0] != pattern[0] {
				return false
			}
		}
		if len(words) == 0 {
			return false
		}
		pattern, words = pattern[1:], words[1:]
	}
	return len(words) == 0
}
