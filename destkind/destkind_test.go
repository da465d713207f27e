package destkind

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, kind, address, err string
	}{
		{"email:alice@example.org", "email", "alice@example.org", ""},
		{"irc:alice", "irc", "alice", ""},
		{"irc:[bot]-1", "irc", "[bot]-1", ""},
		{"alice@example.org", "", "", `is not KIND:ADDRESS (e.g. email:alice@example.org, irc:alice, irc-channel:#fedora-hark, matrix:@alice:fedora.im, matrix-room:#hark:fedora.im, webhook:https://ci.example.org/hooks/hark or ntfy:https://ntfy.sh/my-hark-alerts)`},
		{"sms:123", "sms", "123", `unknown destination kind "sms" (want email, irc, irc-channel, matrix, matrix-room, webhook or ntfy)`},
		{"matrix:@alice:fedora.im", "matrix", "@alice:fedora.im", ""},
		{"matrix:@Alice:fedora.im", "matrix", "@Alice:fedora.im", "is not a Matrix user ID"},
		{"matrix:alice", "matrix", "alice", "is not a Matrix user ID"},
		{"matrix-room:!abc:localhost", "matrix-room", "!abc:localhost", ""},
		{"matrix-room:#hark:fedora.im", "matrix-room", "#hark:fedora.im", ""},
		{"matrix-room:@alice:fedora.im", "matrix-room", "@alice:fedora.im", "is not a Matrix room"},
		{"matrix-room:#hark", "matrix-room", "#hark", "is not a Matrix room"},
		{"matrix:@alice", "matrix", "@alice", "is not a Matrix user ID"},
		{"email:Alice <alice@example.org>", "email", "Alice <alice@example.org>", "is not a plain email address"},
		{"irc-channel:#fedora-hark", "irc-channel", "#fedora-hark", ""},
		{"irc-channel:&local", "irc-channel", "&local", ""},
		{"irc-channel:fedora-hark", "irc-channel", "fedora-hark", "is not an IRC channel"},
		{"irc-channel:#a,#b", "irc-channel", "#a,#b", "is not an IRC channel"},
		{"irc-channel:#a b", "irc-channel", "#a b", "is not an IRC channel"},
		{"irc:1alice", "irc", "1alice", "is not an IRC nick"},
		{"webhook:https://ci.example.org/hooks/hark", "webhook", "https://ci.example.org/hooks/hark", ""},
		{"webhook:ftp://ci.example.org/x", "webhook", "ftp://ci.example.org/x", "is not an http or https URL"},
		{"ntfy:https://ntfy.sh/alerts", "ntfy", "https://ntfy.sh/alerts", ""},
		{"ntfy:https://ntfy.sh/a/b", "ntfy", "https://ntfy.sh/a/b", "is not an ntfy topic URL"},
		{"irc:" + strings.Repeat("a", maxNick+1), "irc", strings.Repeat("a", maxNick+1), "is not an IRC nick"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			kind, address, err := Parse(tc.in)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Parse(%q) error %v, want %q", tc.in, err, tc.err)
			}
			if kind != tc.kind || address != tc.address {
				t.Errorf("Parse(%q) = %q, %q; want %q, %q", tc.in, kind, address, tc.kind, tc.address)
			}
			if err == nil && Spell(kind, address) != tc.in {
				t.Errorf("Spell = %q, want %q", Spell(kind, address), tc.in)
			}
		})
	}
}

func TestEveryKindChecksItsExample(t *testing.T) {
	for _, name := range Names() {
		k, ok := Lookup(name)
		if !ok || k.Title == "" || k.Check(k.Example) != nil {
			t.Errorf("kind %q: found %v, title %q, its example %q: %v", name, ok, k.Title, k.Example, k.Check(k.Example))
		}
	}
}

func TestSettings(t *testing.T) {
	secret := "whsec_" + strings.Repeat("QUJD", 8)
	for _, tc := range []struct {
		kind, key, value, want, err string
	}{
		{Webhook, "secret", secret, secret, ""},
		{Webhook, "secret", "whsec_c2hvcnQ=", "", "secret: is not whsec_ followed by the base64 of 24 to 64 bytes"},
		{Webhook, "secret", "hunter2", "", "secret: is not whsec_"},
		{Webhook, "token", "tk_x", "", "token: not a setting of webhook destinations"},
		{Ntfy, "token", "tk_abcdefghijklmnopqrstuvwxyz012", "tk_abcdefghijklmnopqrstuvwxyz012", ""},
		{Ntfy, "token", "tk_with space", "", "token: is not an ntfy access token"},
		{Email, "secret", secret, "", "secret: not a setting of email destinations"},
		{Ntfy, "token", "", "", ""}, // empty removes
		{Webhook, "secret", "", "", "secret: cannot be emptied"},
	} {
		t.Run(tc.kind+" "+tc.key+"="+tc.value, func(t *testing.T) {
			k, _ := Lookup(tc.kind)
			got, err := k.Set(nil, tc.key, tc.value)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Set error %v, want %q", err, tc.err)
			}
			if err != nil && tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error %q quotes the secret", err)
			}
			if err == nil && got[tc.key] != tc.want {
				t.Errorf("Set = %v, want %s=%s", got, tc.key, tc.want)
			}
		})
	}
}

func TestSecretsAreNotPublicAndGenerated(t *testing.T) {
	k, _ := Lookup(Webhook)
	settings, made := k.Generate(nil)
	if made["secret"] == "" || settings["secret"] != made["secret"] || k.Validate(settings) != nil {
		t.Fatalf("Generate = %v, %v; want a valid secret", settings, made)
	}
	if again, made := k.Generate(settings); made != nil || again["secret"] != settings["secret"] {
		t.Errorf("Generate over a secret made %v", made)
	}
	if pub := k.Public(settings); pub != nil {
		t.Errorf("Public = %v, want no secret", pub)
	}
	if got := k.SecretsSet(settings); len(got) != 1 || got[0] != "secret" {
		t.Errorf("SecretsSet = %v", got)
	}
}
