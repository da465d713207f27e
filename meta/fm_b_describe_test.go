package meta

import (
	"slices"
	"testing"
)

// Branches of the bodhi, koji, bugzilla, fedocal, ipa, noggin, kerneltest,
// planet and wiki schema classes that no recorded message exercises
// (a planet post without title or author, kerneltest's release messages,
// a reminder minutes away, a bugzilla change with no field listed, a
// canceled koji build, a revoked bodhi update of the agent's own...).
// The wanted values are what each schema class returns for the message.
func TestFMBranchesWithoutSamples(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		name, env                   string
		summary, body, agent, link  string
		usernames, packages, groups []string
	}{
		{"planet post without title or author", `{"topic": "org.fedoraproject.prod.planet.post.new", "msg": {"post": {}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "planet.post.new", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"A new post was published on planet.",
			"A new post was published on planet.",
			"", "",
			nil, nil, nil},
		{"planet post title quoted with double quotes", `{"topic": "org.fedoraproject.prod.planet.post.new", "msg": {"username": "jdoe", "post": {"title": "It's here"}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "planet.post.new", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"A new post \"It's here\" was published on planet by 'jdoe'.",
			"A new post \"It's here\" was published on planet by 'jdoe'.",
			"jdoe", "",
			[]string{"jdoe"}, nil, nil},
		{"planet rebuilt without a title", `{"topic": "org.fedoraproject.prod.planet.build", "msg": {}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "planet.build", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"The planet has been rebuilt",
			"The planet has been rebuilt",
			"", "",
			nil, nil, nil},
		{"kerneltest release new", `{"topic": "org.fedoraproject.prod.kerneltest.release.new", "msg": {"agent": "jforbes", "release": {"releasenum": 40, "support": "Active"}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "kerneltest.release.new.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"jforbes created a new release 40 with status Active",
			"jforbes created a new release 40 with status Active",
			"jforbes", "",
			nil, nil, nil},
		{"kerneltest release edit", `{"topic": "org.fedoraproject.prod.kerneltest.release.edit", "msg": {"agent": "jforbes", "release": {"releasenum": "39", "support": "EOL"}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "kerneltest.release.edit.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"jforbes edited release 39 with status EOL",
			"jforbes edited release 39 with status EOL",
			"jforbes", "",
			nil, nil, nil},
		{"fedocal reminder minutes away", `{"topic": "org.fedoraproject.prod.fedocal.meeting.reminder", "msg": {"meeting": {"meeting_name": "council", "meeting_date": "2026-12-07", "meeting_time_start": "15:45:00"}, "calendar": {"calendar_name": "council"}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "fedocal.meeting.reminder", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"Remember about the meeting 'council' from the 'council' calendar",
			"Friendly reminder!  The 'council' meeting from the 'council' calendar starts in 45 minutes",
			"", "",
			nil, nil, nil},
		{"bugzilla attachment added to a package review", `{"topic": "org.fedoraproject.prod.bugzilla.attachment.create", "msg": {"bug": {"id": 7, "summary": "Review Request: foo", "component": {"name": "Package Review"}}, "event": {"action": "create", "target": "attachment", "user": {"login": "a@example.com"}}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "bugzilla2fedmsg.messageV1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"a@example.com added attachment on RHBZ#7 'Review Request: foo'",
			"a@example.com added attachment on RHBZ#7 'Review Request: foo'",
			"", "https://bugzilla.redhat.com/show_bug.cgi?id=7",
			nil, nil, nil},
		{"bugzilla change listing no field", `{"topic": "org.fedoraproject.prod.bugzilla.bug.update", "msg": {"agent_name": "ralph", "usernames": ["ralph"], "bug": {"id": 8, "summary": "crash", "component": "kernel"}, "event": {"action": "modify", "target": "bug", "user": {"login": "r@example.com"}}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "bugzilla2fedmsg.messageV1bz4", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"ralph updated something unknown on RHBZ#8 'crash'",
			"ralph updated something unknown on RHBZ#8 'crash'",
			"ralph", "https://bugzilla.redhat.com/show_bug.cgi?id=8",
			[]string{"ralph"}, []string{"kernel"}, nil},
		{"ipa groups added to a group", `{"topic": "org.fedoraproject.prod.ipa.group_add_member.v1", "msg": {"MESSAGE": "m", "IPA_API_ACTOR": "noggin@FEDORAPROJECT.ORG", "IPA_API_PARAMS": "{\"cn\": \"packager\", \"group\": [\"a\", \"b\"]}"}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "journal.ipa.group_add_member.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"User noggin has added groups a, b to group \"packager\"",
			"Group packager has new groups:\n- a\n- b\n\nAdded by: noggin\n",
			"noggin", "",
			[]string{"noggin"}, nil, []string{"a", "b", "packager"}},
		{"wiki user page edited by that user", `{"topic": "org.fedoraproject.prod.wiki.article.edit", "msg": {"title": "User:Ralph", "user": "ralph", "summary": "me", "diff_url": "https://w/d", "page_url": "https://w/p"}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "wiki.article.edit.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"Wiki page User:Ralph was edited by ralph",
			"Wiki page User:Ralph was edited by ralph\nSummary: me\nPage: https://w/p\nDiff: https://w/d\n",
			"ralph", "https://w/d",
			[]string{"ralph"}, nil, nil},
		{"koji build canceled by its owner", `{"topic": "org.fedoraproject.prod.buildsys.build.state.change", "msg": {"build_id": 1, "old": 0, "new": 4, "name": "foo", "version": "1", "release": "1.fc41", "owner": "bob", "creation_time": "2024-01-01T00:00:00+00:00", "completion_time": null, "task": null, "url": "https://koji/b/1"}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "koji_fedoramessaging.build.BuildStateChangeV1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"Build CANCELED: bob's foo-1-1.fc41",
			"Package:    foo-1-1.fc41\nStatus:     canceled\nBuilt by:   bob\nID:         1\nStarted:    Mon, 01 Jan 2024 00:00:00 UTC\nFinished:   (still running)\n\nBuild imported into koji\n",
			"bob", "https://koji/b/1",
			[]string{"bob"}, []string{"foo"}, nil},
		{"bodhi compose failed", `{"topic": "org.fedoraproject.prod.bodhi.compose.complete", "msg": {"agent": "bodhi", "success": false, "repo": "f41-updates", "ctype": "rpm"}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "bodhi.compose.complete.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"bodhi composer failed to compose f41-updates",
			"bodhi composer failed to compose f41-updates",
			"bodhi", "",
			[]string{"bodhi"}, nil, nil},
		{"bodhi update revoked by its owner", `{"topic": "org.fedoraproject.prod.bodhi.update.request.revoke", "msg": {"agent": "eclipseo", "update": {"alias": "FEDORA-2024-1", "builds": [{"nvr": "golang-github-SAP-go-hdb-0.14.1-1.fc29"}, {"nvr": "texworks-0.6.3-1.fc29"}], "user": {"name": "eclipseo"}, "status": "testing", "request": null, "release": {"name": "F29"}}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "bodhi.update.request.revoke.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"eclipseo revoked their update FEDORA-2024-1 (golang-github-SAP-go-hdb-0.14.1-1.fc29 t\u2026)",
			"eclipseo revoked their update FEDORA-2024-1.\nBuilds:\ngolang-github-SAP-go-hdb-0.14.1-1.fc29\ntexworks-0.6.3-1.fc29",
			"eclipseo", "https://bodhi.fedoraproject.org/updates/FEDORA-2024-1",
			[]string{"eclipseo"}, []string{"golang-github-SAP-go-hdb", "texworks"}, nil},
		{"noggin account created for another user", `{"topic": "org.fedoraproject.prod.fas.user.create", "msg": {"msg": {"agent": "admin", "user": "newbie"}}, "msg_id": "case", "timestamp": 1796655600, "headers": {"fedora_messaging_schema": "noggin.user.create.v1", "sent-at": "2026-12-07T15:00:00+00:00"}}`,
			"admin created a new Fedora Account for newbie",
			"admin created a new Fedora Account for newbie",
			"admin", "",
			[]string{"admin", "newbie"}, nil, nil},
	} {
		got := d.Describe(envelope(t, tc.env))
		if got.Subtitle != tc.summary {
			t.Errorf("%s: summary %q, want %q", tc.name, got.Subtitle, tc.summary)
		}
		if got.Body != tc.body {
			t.Errorf("%s: body %q, want %q", tc.name, got.Body, tc.body)
		}
		if got.Agent != tc.agent || got.Link != tc.link {
			t.Errorf("%s: agent %q link %q, want %q %q", tc.name, got.Agent, got.Link, tc.agent, tc.link)
		}
		for _, f := range []struct {
			field     string
			got, want []string
		}{{"usernames", got.Usernames, tc.usernames}, {"packages", got.Packages, tc.packages}, {"groups", got.Groups, tc.groups}} {
			if len(f.got) != 0 || len(f.want) != 0 {
				if !slices.Equal(f.got, f.want) {
					t.Errorf("%s: %s %q, want %q", tc.name, f.field, f.got, f.want)
				}
			}
		}
	}
}
