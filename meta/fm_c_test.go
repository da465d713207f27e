package meta

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"hark/bus"
)

// TestFMGroupCBranches covers branches of the pagure, forge, git-hook and
// discourse schema classes that no sample in testdata exercises. Each want
// is what the class itself returns for the message (its summary, __str__,
// url, agent_name, usernames, packages, groups); a "" body is the
// fedora-messaging default dump, which the score test covers.
func TestFMGroupCBranches(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, schema, topic, msg    string
		summary, body, link, agent  string
		usernames, packages, groups []string
	}{
		{"pretix exit on Fedora's instance", "webhook_to_fedora_messaging.pretix.message_v1", "org.fedoraproject.prod.pretix.event.checkin",
			`{"agent": "jdoe", "headers": {}, "body": {"action": "pretix.event.checkin", "type": "exit", "attendee_name": "Jane Doe", "event": "flock-2026", "instance_url": "https://rsvp.fedoraproject.org", "notification_id": 1, "organizer": "community", "code": "X"}}`,
			"Jane Doe (jdoe) exited flock-2026 on Fedora ticket system", "", "", "jdoe",
			[]string{"jdoe"}, nil, nil},
		{"pretix other action on staging, nobody known", "webhook_to_fedora_messaging.pretix.message_v1", "org.fedoraproject.stg.pretix.event.order.placed",
			`{"agent": null, "headers": {}, "body": {"action": "pretix.event.order.placed", "attendee_name": null, "event": "flock-2026", "instance_url": "https://rsvp.stg.fedoraproject.org", "notification_id": 2, "organizer": "community", "code": null}}`,
			"A user caused event.order.placed in flock-2026 on Fedora ticket system (staging)", "", "", "",
			nil, nil, nil},
		{"discourse event the class does not know, unknown instance", "discourse.event.v1", "org.fedoraproject.prod.discourse.user.user_created",
			`{"webhook_body": {"user": {"username": "newbie"}}, "webhook_headers": {"X-Discourse-Instance": "https://discourse.example.org", "X-Discourse-Event": "user_created", "X-Discourse-Event-Type": "user", "X-Discourse-Event-Id": "1", "X-Discourse-Event-Signature": "s"}}`,
			"None: user.user_created", "None: user.user_created", "", "",
			nil, nil, nil},
		{"discourse like event other than post_liked", "discourse.event.v1", "org.fedoraproject.prod.discourse.like.post_unliked",
			`{"webhook_body": {"like": {"post": {"username": "author", "topic_title": "T"}, "user": {"username": "liker"}}}, "webhook_headers": {"X-Discourse-Instance": "https://discussion.fedoraproject.org", "X-Discourse-Event": "post_unliked", "X-Discourse-Event-Type": "like", "X-Discourse-Event-Id": "1", "X-Discourse-Event-Signature": "s"}}`,
			"Fedora Discussion: like.post_unliked", "Fedora Discussion: like.post_unliked", "", "",
			[]string{"author"}, nil, nil},
		{"git hook push to a group's repository outside the artifact namespaces", "fedora_messaging_git_hook.commit.v1", "org.fedoraproject.prod.git.receive",
			`{"agent": "alice", "group": "infra-sig", "commit": {"name": "Alice", "email": "alice@example.com", "username": "alice", "summary": "fix", "message": "fix\n\nlonger\n", "stats": {"files": {}, "total": {}}, "rev": "abc123", "path": "/srv/git/tests/foo.git", "repo": "foo", "namespace": "tests", "branch": "main", "patch": "diff", "date": "2024-01-01T00:00:00+00:00", "url": null}}`,
			"alice pushed to tests/foo (main). \"fix\"", `From abc123 Mon Sep 17 00:00:00 2001
From: Alice <alice@example.com>
Date: 2024-01-01T00:00:00+00:00
Subject: fix

fix

longer

---

diff
`, "", "alice",
			[]string{"alice"}, nil, []string{"infra-sig"}},
		{"forgejo event without a long text", "webhook_to_fedora_messaging.forgejo.message_v1", "org.fedoraproject.prod.forgejo.release",
			`{"agent": "alice", "headers": {"x-forgejo-event": "release", "x-forgejo-delivery": "d", "x-hub-signature": "s", "x-hub-signature-256": "s"}, "body": {"repository": {"id": 1, "full_name": "org/repo"}}}`,
			"alice created release on org/repo", "Event type not supported", "", "alice",
			[]string{"alice"}, nil, nil},
		{"gitlab tag push: the header made a name", "webhook_to_fedora_messaging.gitlab.message_v1", "org.fedoraproject.prod.gitlab.tag_push",
			`{"agent": "alice", "headers": {"x-gitlab-event": "Tag Push Hook", "x-gitlab-webhook-uuid": "u", "x-gitlab-event-uuid": "e"}, "body": {"repository": {"name": "repo"}}}`,
			"alice created tag_push on repo", "Event type not supported", "", "alice",
			[]string{"alice"}, nil, nil},
		{"pagure test notification on staging", "pagure.Test.notification", "io.pagure.stg.pagure.Test.notification",
			`{"content": "Test message"}`,
			"Test notification", "Test notification", "https://stg.pagure.io", "",
			nil, nil, nil},
		{"pagure push of one commit to a package", "pagure.git.receive", "org.fedoraproject.prod.pagure.git.receive",
			`{"agent": "alice", "authors": [{"fullname": "Alice", "name": "alice", "url_path": "user/alice"}], "branch": "refs/heads/rawhide", "forced": false, "total_commits": 1, "start_commit": "c1", "end_commit": "c1", "old_commit": "c0", "repo": {"name": "foo", "fullname": "rpms/foo", "full_url": "https://src.fedoraproject.org/rpms/foo", "namespace": "rpms"}}`,
			"alice pushed 1 commits on rpms/foo (branch: rawhide)", `Alice (alice) pushed 1 commit on rpms/foo.
Branch: rawhide
`, "https://src.fedoraproject.org/rpms/foo/c/c1", "alice",
			[]string{"alice"}, []string{"foo"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]any{
				"topic": tc.topic, "msg": json.RawMessage(tc.msg), "msg_id": "id-1", "timestamp": 1704067200,
				"headers": map[string]any{"fedora_messaging_schema": tc.schema, "sent-at": "2024-01-01T00:00:00+00:00"},
			}
			raw, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			got := d.Describe(envelope(t, string(raw)))
			if got.Subtitle != tc.summary {
				t.Errorf("summary %q, want %q", got.Subtitle, tc.summary)
			}
			if tc.body != "" && got.Body != tc.body {
				t.Errorf("body %q, want %q", got.Body, tc.body)
			}
			if got.Link != tc.link || got.Agent != tc.agent {
				t.Errorf("link, agent %q, %q, want %q, %q", got.Link, got.Agent, tc.link, tc.agent)
			}
			for _, l := range []struct {
				field     string
				got, want []string
			}{{"usernames", got.Usernames, tc.usernames}, {"packages", got.Packages, tc.packages}, {"groups", got.Groups, tc.groups}} {
				if !slices.Equal(l.got, l.want) && len(l.got)+len(l.want) > 0 {
					t.Errorf("%s %q, want %q", l.field, l.got, l.want)
				}
			}
		})
	}
}

// groupCSchema reports the schemas fm-pagure, fm-git, fm-discourse and the
// webhook forges' files describe.
func groupCSchema(s string) bool {
	return strings.HasPrefix(s, "pagure.") || strings.HasPrefix(s, "webhook_to_fedora_messaging.") ||
		s == "discourse.event.v1" || s == "fedora_messaging_git_hook.commit.v1" || s == "git.receive"
}

// BenchmarkDescribeFMGroupC describes this group's fedora-messaging
// samples in turn (ns/op is the average per message);
// BenchmarkDecodeFMGroupCBaseline decodes the same envelopes, for a ratio.
func BenchmarkDescribeFMGroupC(b *testing.B) {
	d := Default()
	var envs []*bus.Envelope
	for _, m := range loadFMMessages(b) {
		if groupCSchema(m.schema) {
			envs = append(envs, m.env)
		}
	}
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			d.Describe(envs[i%len(envs)])
		}
	})
}

func BenchmarkDecodeFMGroupCBaseline(b *testing.B) {
	var raws [][]byte
	for _, m := range loadFMMessages(b) {
		if groupCSchema(m.schema) {
			raws = append(raws, m.raw)
		}
	}
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			if _, err := bus.Decode(raws[i%len(raws)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
