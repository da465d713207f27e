package matrix

import (
	"errors"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"
)

// Explained is a homeserver's error with what it means for the person
// whose destination it is first: the destinations page and the API show
// the error's text, and "M_NOT_FOUND (HTTP 404)" tells them little. The
// technical answer follows in parentheses for the log and for admins;
// errors.As and errors.Is still reach it.
type Explained struct {
	Words string
	Err   error
}

func (e *Explained) Error() string { return e.Words + " (" + e.Err.Error() + ")" }
func (e *Explained) Unwrap() error { return e.Err }

// UserWords is what the error means for the destination's owner, without
// the technical answer: what the destinations page shows.
func (e *Explained) UserWords() string { return e.Words }

// explainAs is err explained with words, unless it already is.
func explainAs(err error, words string) error {
	var done *Explained
	if err == nil || errors.As(err, &done) {
		return err
	}
	return &Explained{Words: words, Err: err}
}

// explain puts words to an error the calls' own context did not explain
// already: the homeserver unreachable, failing, limiting hark, refusing
// the bot's token, or answering what cannot be read.
func explain(err error) error {
	var done *Explained
	if err == nil || errors.Is(err, ErrBadID) || errors.As(err, &done) {
		return err
	}
	var he mautrix.HTTPError
	if !errors.As(err, &he) || he.Response == nil {
		return explainAs(err, "the Matrix homeserver cannot be reached (it may be down)")
	}
	switch code := he.Response.StatusCode; {
	case code == http.StatusTooManyRequests:
		return explainAs(err, "the Matrix homeserver asks hark to send more slowly (rate limit)")
	case code == http.StatusUnauthorized:
		return explainAs(err, "the Matrix homeserver no longer accepts hark's bot account (its access token expired or was revoked): hark's admin must renew it")
	case code >= 500:
		return explainAs(err, fmt.Sprintf("the Matrix homeserver failed (HTTP %d)", code))
	case code < 300:
		return explainAs(err, "the Matrix homeserver's answer could not be read")
	case code == http.StatusForbidden:
		return explainAs(err, "the Matrix homeserver does not let hark's bot do this")
	}
	return explainAs(err, fmt.Sprintf("the Matrix homeserver refused hark's request (HTTP %d)", he.Response.StatusCode))
}

// notFound says whether err is the homeserver's "no such thing".
func notFound(err error) bool {
	var he mautrix.HTTPError
	return errors.Is(err, mautrix.MNotFound) || errors.As(err, &he) && he.IsStatus(http.StatusNotFound)
}

// refused says whether err is the homeserver's "not for you": no such
// room, or one that did not invite the bot.
func refused(err error) bool {
	var he mautrix.HTTPError
	return notFound(err) || errors.Is(err, mautrix.MForbidden) || errors.As(err, &he) && he.IsStatus(http.StatusForbidden)
}
