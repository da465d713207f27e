package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFormErrorsKeepWhatWasTyped: every form that fails on its input
// shows it again, beside the error, so nothing needs typing twice
// (passwords excepted: they are never sent back).
func TestFormErrorsKeepWhatWasTyped(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		field      string // where the error and the value are
		kept       string
	}{
		{"time zone", "/account/timezone", url.Values{"timezone": {"Mars/Olympus"}}, `name="timezone"`, `value="Mars/Olympus"`},
		{"token name", "/account/tokens", url.Values{"name": {strings.Repeat("t", 101)}}, `name="name"`, `value="` + strings.Repeat("t", 101) + `"`},
		{"account deletion", "/account/delete", url.Values{"confirm": {"bob"}}, `name="confirm"`, `value="bob"`},
		{"import", "/filters/import", url.Values{"data": {`{"version": 9}`}}, `name="data"`, `{&#34;version&#34;: 9}</textarea>`},
		{"destination", "/destinations", url.Values{"kind": {"irc"}, "address": {"not a nick!"}}, `id="address"`, `value="not a nick!"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.post(tc.path, tc.form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400:\n%s", resp.StatusCode, resp.Body)
			}
			at := strings.Index(resp.Body, tc.field)
			if at < 0 || !strings.Contains(resp.Body[at:], tc.kept) {
				t.Errorf("%s not kept at %s:\n%s", tc.kept, tc.field, resp.Body)
			}
			if e := strings.Index(resp.Body[max(at, 0):], `class="field-error"`); e < 0 || strings.Contains(resp.Body[at:at+e], "</form>") {
				t.Errorf("the error is not in the form of %s", tc.field)
			}
		})
	}
	anonymous := ts.client(t)
	if resp := anonymous.post("/login", url.Values{"username": {"alice"}, "password": {"wrong"}}); !strings.Contains(resp.Body, `value="alice"`) {
		t.Errorf("login: user name not kept: status %d:\n%s", resp.StatusCode, resp.Body)
	}
}
