package meta

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fmProcessors stands for the embedded processors: a fedmsg-era file and a
// fedora-messaging file serving the same app.
var fmProcessors = fstest.MapFS{
	"p/bodhi.yaml": {Data: []byte(`service: bodhi
icon: old-icon
topics:
  - match: update.comment
    subtitle: 'topic rule {{ .msg.comment.user.name }}'
`)},
	"p/fm-bodhi.yaml": {Data: []byte(`service: bodhi
app_name: bodhi
topics:
  - schema: bodhi.update.comment.v1
    when: '{{ .msg.comment.karma }}'
    summary: 'karma rule {{ .msg.comment.karma }}'
  - schema: bodhi.update.edit.v1
    match: update.edit
    summary: edited
  - schema: bodhi.update.comment.v2
    summary: '{{ .msg.comment.user.name }} commented'
    body: '{{ .msg.comment.text }}'
    agent: [msg.agent]
  - schema: [other.v1, 'bodhi.update.*']
    summary: 'schema rule {{ .headers.fedora_messaging_schema }}'
    body: |-
      {{ .msg.comment.user.name }} said
      {{ .msg.comment.text }}
    groups: [msg.groups]
    containers: [msg.containers]
    modules: [msg.modules]
    flatpaks: [msg.flatpaks]
    usernames: [msg.comment.user.name]
`)},
}

func TestSchemaRulesComeFirstAndFallBackToTheTopic(t *testing.T) {
	d, err := newDescriber(fmProcessors, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	const msg = `{"comment": {"user": {"name": "bob"}, "text": "LGTM", "karma": 0}}`
	for _, tc := range []struct {
		name, topic, headers          string
		subtitle, body, appName, icon string
	}{
		{"no header: the topic decides", "update.comment", ``,
			"topic rule bob", "", "", "old-icon"},
		{"the schema decides; a failing when tries the next rule", "update.comment", `{"fedora_messaging_schema": "bodhi.update.comment.v1"}`,
			"schema rule bodhi.update.comment.v1", "bob said\nLGTM", "bodhi", ""},
		{"an unknown schema falls back to the topic", "update.comment", `{"fedora_messaging_schema": "nobody.v1"}`,
			"topic rule bob", "", "", "old-icon"},
		{"a rule with schema and match: the schema, with the header", "update.edit", `{"fedora_messaging_schema": "bodhi.update.edit.v1"}`,
			"edited", "", "bodhi", ""},
		{"a rule with schema and match: the match, without", "update.edit", ``,
			"edited", "", "bodhi", ""},
		{"a schema-only rule is never used without the header", "update.request.stable", ``,
			"", "", "", "old-icon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := `{"topic": "org.fedoraproject.prod.bodhi.` + tc.topic + `", "msg": ` + msg
			if tc.headers != "" {
				js += `, "headers": ` + tc.headers
			}
			got := d.Describe(envelope(t, js+"}"))
			if tc.headers != "" && tc.subtitle == "" {
				t.Fatal("bad case: a fedora-messaging summary is never empty")
			}
			if got.Subtitle != tc.subtitle || got.Body != tc.body || got.AppName != tc.appName || got.Icon != tc.icon {
				t.Errorf("subtitle %q body %q app_name %q icon %q; want %q %q %q %q",
					got.Subtitle, got.Body, got.AppName, got.Icon, tc.subtitle, tc.body, tc.appName, tc.icon)
			}
		})
	}
}

func TestSchemaRuleWhenHolds(t *testing.T) {
	d, err := newDescriber(fmProcessors, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Describe(envelope(t, `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"karma": 1}},
		"headers": {"fedora_messaging_schema": "bodhi.update.comment.v1"}}`))
	if got.Subtitle != "karma rule 1" {
		t.Errorf("subtitle %q, want the first schema rule's", got.Subtitle)
	}
}

func TestGroupsAndArtifactKinds(t *testing.T) {
	d, err := newDescriber(fmProcessors, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Describe(envelope(t, `{"topic": "org.fedoraproject.prod.bodhi.update.edit",
		"msg": {"groups": ["qa"], "containers": ["fedora-toolbox"], "modules": ["nodejs"], "flatpaks": ["org.gnome.Maps"]},
		"headers": {"fedora_messaging_schema": "bodhi.update.x.v1", "fedora_messaging_group_infra": true, "fedora_messaging_container_httpd": true}}`))
	for _, c := range []struct {
		field     string
		got, want []string
	}{
		{"groups", got.Groups, []string{"infra", "qa"}},
		{"containers", got.Containers, []string{"fedora-toolbox", "httpd"}},
		{"modules", got.Modules, []string{"nodejs"}},
		{"flatpaks", got.Flatpaks, []string{"org.gnome.Maps"}},
		{"objects", got.Objects, []string{"containers/fedora-toolbox", "containers/httpd", "flatpaks/org.gnome.Maps", "modules/nodejs"}},
		{"packages", got.Packages, []string{"fedora-toolbox", "httpd", "nodejs", "org.gnome.Maps"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
}

func TestFMFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"summary and subtitle", "service: acme\ntopics:\n  - match: x\n    summary: a\n    subtitle: b\n",
			"acme.yaml:4: processor \"acme\" topic \"x\": summary and subtitle are the same field"},
		{"neither match nor schema", "service: acme\ntopics:\n  - summary: a\n",
			"acme.yaml:3: processor \"acme\": rule without \"match\" or \"schema\""},
		{"bad schema glob", "service: acme\ntopics:\n  - schema: 'a.[v1'\n",
			"acme.yaml:3: processor \"acme\" topic \"a.[v1\": schema: bad glob"},
		{"groups not a list", "service: acme\ngroups: msg.g\n",
			"acme.yaml:2: processor \"acme\": groups: want a list of extractors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Files: []string{writeProcessor(t, "acme.yaml", tc.body)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFMBaseClassDefaults(t *testing.T) {
	d, err := newDescriber(fmProcessors, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, js, summary, body string
		usernames               []string
	}{
		{
			name: "no processor: the topic, the base __str__, the declared users only",
			js: `{"topic": "org.fedoraproject.prod.acme.thing.done", "msg_id": "id-1", "msg": {"user": "carol", "t\u00e9": ["\ud83d\ude00", {}], "n": 1.5},
				"headers": {"fedora_messaging_schema": "base.message", "fedora_messaging_user_dave": true, "fedora_messaging_user_None": true, "priority": 0}}`,
			summary: "org.fedoraproject.prod.acme.thing.done",
			body: `Id: id-1
Topic: org.fedoraproject.prod.acme.thing.done
Headers: {
    "fedora_messaging_schema": "base.message",
    "fedora_messaging_user_None": true,
    "fedora_messaging_user_dave": true,
    "priority": 0
}
Body: {
    "n": 1.5,
    "t\u00e9": [
        "\ud83d\ude00",
        {}
    ],
    "user": "carol"
}`,
			usernames: []string{"dave"},
		},
		{
			name:    "a summary that renders empty: what happened and who did it",
			js:      `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"agent": "erin"}, "headers": {"fedora_messaging_schema": "bodhi.update.comment.v2"}}`,
			summary: "bodhi.update.comment by erin", body: "bodhi.update.comment by erin",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envelope(t, tc.js)
			got := d.Describe(env)
			got.Body = LongText(env, &got)
			if got.Subtitle != tc.summary || got.Body != tc.body || !slices.Equal(got.Usernames, tc.usernames) {
				t.Errorf("summary %q usernames %q body\n%s\nwant %q %q\n%s", got.Subtitle, got.Usernames, got.Body, tc.summary, tc.usernames, tc.body)
			}
		})
	}
}

func TestKnownDefects(t *testing.T) {
	for _, tc := range []struct {
		name, js, subtitle string
		usernames          []string
	}{
		{
			name: "the README's bodhi comment, without karma, keeps its summary",
			js: `{"topic": "org.fedoraproject.dev.bodhi.update.comment", "msg": {"comment": {"user": {"name": "bob"}, "text": "looks good",
				"update": {"title": "nethack-3.6.6-1.fc40", "alias": "FEDORA-2024-1"}}}}`,
			subtitle:  "bob commented on bodhi update nethack-3.6.6-1.fc40 (karma: 0)",
			usernames: []string{"bob"},
		},
		{
			name: "meetbot attendees as a list of names are names, not indexes",
			js: `{"topic": "org.fedoraproject.prod.meetbot.meeting.complete", "msg": {"owner": "ralph", "channel": "#fedora-meeting",
				"attendees": [{"name": "dummy-user", "lines_said": 23}, {"name": "zodbot", "lines_said": 1}, {"name": "stevebrown", "lines_said": 3}]}}`,
			subtitle:  "ralph's meeting ended in #fedora-meeting",
			usernames: []string{"dummy-user", "ralph", "stevebrown"},
		},
		{
			name:      "meetbot attendees as a map of nick to lines",
			js:        `{"topic": "org.fedoraproject.prod.meetbot.meeting.complete", "msg": {"owner": "ralph", "channel": "#x", "attendees": {"zodbot": 1, "bob": 3}}}`,
			subtitle:  "ralph's meeting ended in #x",
			usernames: []string{"bob", "ralph"},
		},
		{
			name:      "a fedmsg summary that renders empty says what happened and who did it",
			js:        `{"topic": "org.fedoraproject.prod.bodhi.update.request.stable", "msg": {"agent": "bowlofeggs"}}`,
			subtitle:  "bodhi.update.request.stable by bowlofeggs",
			usernames: []string{"bowlofeggs"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Default().Describe(envelope(t, tc.js))
			if got.Subtitle != tc.subtitle || !slices.Equal(got.Usernames, tc.usernames) {
				t.Errorf("subtitle %q usernames %q; want %q %q", got.Subtitle, got.Usernames, tc.subtitle, tc.usernames)
			}
		})
	}
}

func TestExplainNamesTheRule(t *testing.T) {
	d, err := newDescriber(fmProcessors, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, js string
		want     Origin
	}{
		{"by schema", `{"topic": "org.fedoraproject.prod.bodhi.update.edit", "msg": {}, "headers": {"fedora_messaging_schema": "bodhi.update.edit.v1"}}`,
			Origin{File: "p/fm-bodhi.yaml", Line: 7, By: "schema", Match: []string{"update.edit"}, Schema: []string{"bodhi.update.edit.v1"}}},
		{"by topic", `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {}}`,
			Origin{File: "p/bodhi.yaml", Line: 4, By: "topic", Match: []string{"update.comment"}}},
		{"no rule", `{"topic": "org.fedoraproject.prod.bodhi.what", "msg": {}}`,
			Origin{File: "p/bodhi.yaml", Line: 1, By: "defaults"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := d.Explain(envelope(t, tc.js))
			if got.File != tc.want.File || got.Line != tc.want.Line || got.By != tc.want.By ||
				!slices.Equal(got.Match, tc.want.Match) || !slices.Equal(got.Schema, tc.want.Schema) {
				t.Errorf("origin %+v, want %+v", got, tc.want)
			}
		})
	}
}

// An fm file that sorts before its app's fedmsg-era file (fm-pagure.yaml,
// pagure.yaml) keeps its defaults to its own rules; the fedmsg-era
// file's are the service's.
func TestFMFileDefaultsServeTheirOwnRules(t *testing.T) {
	d, err := newDescriber(fstest.MapFS{
		"p/fm-pagure.yaml": {Data: []byte("service: pagure\napp_name: Pagure\nicon: fm-icon\ntopics:\n  - schema: pagure.project.new\n    summary: new project\n")},
		"p/pagure.yaml":    {Data: []byte("service: pagure\nicon: old-icon\nlink: old-link\ntopics:\n  - match: project.new\n    subtitle: fedmsg new project\n")},
		"p/fm-only.yaml":   {Data: []byte("service: only\napp_name: Only\ntopics:\n  - schema: only.v1\n    summary: one\n")},
	}, "p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, topic, schema                  string
		subtitle, appName, icon, link, where string
	}{
		{"fm rule: its file's defaults", "pagure.project.new", "pagure.project.new", "new project", "Pagure", "fm-icon", "", "p/fm-pagure.yaml"},
		{"fedmsg rule: the fedmsg-era file's", "pagure.project.new", "", "fedmsg new project", "", "old-icon", "old-link", "p/pagure.yaml"},
		{"fedmsg, no rule: the fedmsg-era file's", "pagure.other", "", "", "", "old-icon", "old-link", "p/pagure.yaml"},
		{"fm, no rule: the fm file's", "pagure.other", "pagure.other.v1", "org.fedoraproject.prod.pagure.other", "Pagure", "fm-icon", "", "p/fm-pagure.yaml"},
		{"fm only, no rule", "only.x", "x.v1", "org.fedoraproject.prod.only.x", "Only", "", "", "p/fm-only.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := `{"topic": "org.fedoraproject.prod.` + tc.topic + `", "msg": {}`
			if tc.schema != "" {
				js += `, "headers": {"fedora_messaging_schema": "` + tc.schema + `"}`
			}
			got, o := d.Explain(envelope(t, js+"}"))
			if got.Subtitle != tc.subtitle || got.AppName != tc.appName || got.Icon != tc.icon || got.Link != tc.link || o.File != tc.where {
				t.Errorf("subtitle %q app_name %q icon %q link %q from %s; want %q %q %q %q from %s",
					got.Subtitle, got.AppName, got.Icon, got.Link, o.File, tc.subtitle, tc.appName, tc.icon, tc.link, tc.where)
			}
		})
	}
}

// An extra file's schema rules are tried before the embedded ones, and
// "replace: true" drops the embedded schema rules of its service.
func TestExtraFileSchemaRules(t *testing.T) {
	const js = `{"topic": "org.fedoraproject.prod.bodhi.update.comment", "msg": {"comment": {"karma": 1}},
		"headers": {"fedora_messaging_schema": "bodhi.update.comment.v1"}}`
	for _, tc := range []struct {
		name, file, subtitle string
	}{
		{"extends: the extra rule wins", "service: bodhi\ntopics:\n  - schema: bodhi.update.comment.v1\n    summary: mine\n", "mine"},
		{"a rule for another schema leaves it", "service: bodhi\ntopics:\n  - schema: bodhi.other.v1\n    summary: mine\n", "karma rule 1"},
		{"replace drops the embedded schema rules", "service: bodhi\nreplace: true\ntopics:\n  - schema: bodhi.other.v1\n    summary: mine\n",
			"org.fedoraproject.prod.bodhi.update.comment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := newDescriber(fmProcessors, "p", Options{Files: []string{writeProcessor(t, "bodhi.yaml", tc.file)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Describe(envelope(t, js)); got.Subtitle != tc.subtitle {
				t.Errorf("subtitle %q, want %q", got.Subtitle, tc.subtitle)
			}
		})
	}
}
