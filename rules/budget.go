package rules

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"time"
	"unicode/utf8"
)

// ErrBudget is the error of a rule stopped because the evaluation budget
// of its message ran out (its time, or the steps or bytes an expression
// may use) or because evaluation was cancelled. Like any rule error it
// means "not matched"; callers tell it apart to count it and, since it
// depends on what ran before and not only on the message, not to cache
// it.
var ErrBudget = errors.New("evaluation budget exceeded")

// Limit bounds the evaluation of rules on m from now on: past deadline
// (zero: no deadline) or once done is closed (nil: never), a costly rule
// (a regex over much text, an expression's loops) stops, failing with
// ErrBudget; what is left to run is small. Callers running many rules
// check Spent between them. Expressions are also bounded in steps and
// bytes whether or not a limit is set.
func (m *Message) Limit(deadline time.Time, done <-chan struct{}) {
	m.until, m.done = 0, done
	if !deadline.IsZero() {
		m.until = max(deadline.Sub(epoch), 1) // 0 means none
	}
}

// epoch is what deadlines are kept relative to: time.Since reads only
// the monotonic clock, at half the cost of time.Now, and costly rules
// read it often.
var epoch = time.Now()

// Spent returns an ErrBudget error if m's limit is reached, nil
// otherwise.
func (m *Message) Spent() error {
	if m.done != nil {
		select {
		case <-m.done:
			return fmt.Errorf("%w: evaluation cancelled", ErrBudget)
		default:
		}
	}
	if m.until != 0 && time.Since(epoch) >= m.until {
		return fmt.Errorf("%w: the time allowed per message ran out", ErrBudget)
	}
	return nil
}

func (m *Message) limited() bool { return m.done != nil || m.until != 0 }

// boundedRegexp is a compiled pattern whose matches watch the message's
// limit. Go's regexps run in time linear in the subject, but the factor
// is the size of the compiled program: a pattern like \w{1000}\W keeps
// a thousand threads alive for every byte and spends over a minute on a
// few megabytes, and a match cannot be interrupted. So a match whose
// worst case is small runs as is, and a bigger one reads its subject
// through a reader that checks the limit every few thousand steps and
// ends the subject early when it is reached.
type boundedRegexp struct {
	re    *regexp.Regexp
	insts int // the compiled program's size: the work per subject byte, at worst
}

// fastRegexWork is the worst-case work (subject bytes × program
// instructions) below which a match runs unchecked: a few milliseconds.
const fastRegexWork = 1 << 20

// regexCheckWork is about how much work a bounded match does between
// two checks of the limit.
const regexCheckWork = 1 << 18

func compileBounded(pattern string) (*boundedRegexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl) // as regexp.Compile parses
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, err
	}
	return &boundedRegexp{re: re, insts: len(prog.Inst)}, nil
}

// match reports whether subject contains a match, or ErrBudget when m's
// limit was reached before the answer was known.
func (b *boundedRegexp) match(m *Message, subject []byte) (bool, error) {
	if !m.limited() || len(subject)*b.insts <= fastRegexWork {
		return b.re.Match(subject), nil
	}
	if err := m.Spent(); err != nil {
		return false, err
	}
	r := limitedReader{m: m, b: subject, every: max(regexCheckWork/b.insts, 64)}
	r.next = r.every
	ok := b.re.MatchReader(&r)
	if r.err != nil {
		return false, r.err
	}
	return ok, nil
}

func (b *boundedRegexp) matchString(m *Message, s string) (bool, error) {
	if !m.limited() || len(s)*b.insts <= fastRegexWork {
		return b.re.MatchString(s), nil
	}
	return b.match(m, []byte(s))
}

// limitedReader hands a subject to a regexp rune by rune, as Match would
// decode it, and ends it early once the message's limit is reached.
type limitedReader struct {
	m     *Message
	b     []byte
	pos   int
	every int // bytes between checks
	next  int // position of the next check
	err   error
}

func (r *limitedReader) ReadRune() (rune, int, error) {
	if r.pos >= len(r.b) || r.err != nil {
		return 0, 0, io.EOF
	}
	if r.pos >= r.next {
		r.next = r.pos + r.every
		if r.err = r.m.Spent(); r.err != nil {
			return 0, 0, io.EOF
		}
	}
	c, n := utf8.DecodeRune(r.b[r.pos:])
	r.pos += n
	return c, n, nil
}
