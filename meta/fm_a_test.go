package meta

import (
	"slices"
	"strings"
	"testing"

	"hark/bus"
)

// The fedora-messaging processors of anitya, the-new-hotness, koschei,
// copr and mirrormanager are scored on real messages by TestFMScore; the
// cases here are the branches of their schema classes no sample takes
// (copr's STOMP-era and bridged payloads, hotness's other triggers and
// reasons, ...), each built from what the class does with it.

// fmCase is one message and what its schema class says of it; a field
// left empty is not checked.
type fmCase struct {
	name, topic, schema, msg string
	summary, body, link      string
	agent                    string
	usernames, packages      []string
	noAgent                  bool // the class names no agent
}

func runFMCases(t *testing.T, cases []fmCase) {
	t.Helper()
	d := Default()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "`+tc.topic+`", "msg_id": "id-1", "msg": `+tc.msg+
				`, "headers": {"fedora_messaging_schema": "`+tc.schema+`", "priority": 0}}`))
			if got.Subtitle != tc.summary {
				t.Errorf("summary %q, want %q", got.Subtitle, tc.summary)
			}
			if tc.body != "" && got.Body != tc.body {
				t.Errorf("body %q, want %q", got.Body, tc.body)
			}
			if got.Link != tc.link {
				t.Errorf("link %q, want %q", got.Link, tc.link)
			}
			if (tc.agent != "" || tc.noAgent) && got.Agent != tc.agent {
				t.Errorf("agent %q, want %q", got.Agent, tc.agent)
			}
			if tc.usernames != nil && !slices.Equal(got.Usernames, tc.usernames) {
				t.Errorf("usernames %q, want %q", got.Usernames, tc.usernames)
			}
			if tc.packages != nil && !slices.Equal(got.Packages, tc.packages) {
				t.Errorf("packages %q, want %q", got.Packages, tc.packages)
			}
		})
	}
}

func TestFMCoprPayloadShapes(t *testing.T) {
	const v1 = `{"status": 1, "chroot": "fedora-rawhide-x86_64", "user": "churchyard", "copr": "python3.8",
		"version": "4.23.8-1.fc31", "build": 945012, "owner": "@python", "pkg": "python-hypothesis"}`
	runFMCases(t, []fmCase{
		{
			name:  "a bridged fedmsg envelope: the classes read its msg",
			topic: "org.fedoraproject.prod.copr.build.start", schema: "copr.build.start",
			msg:     `{"i": 1, "topic": "org.fedoraproject.prod.copr.build.start", "username": "copr", "msg": ` + v1 + `}`,
			summary: `Copr Message in project "@python/python3.8": build 945012: chroot "fedora-rawhide-x86_64" started.`,
			body: "Id: id-1\nTopic: org.fedoraproject.prod.copr.build.start\nHeaders: {\n" +
				"    \"fedora_messaging_schema\": \"copr.build.start\",\n    \"priority\": 0\n}\nBody: {\n" +
				"    \"build\": 945012,\n    \"chroot\": \"fedora-rawhide-x86_64\",\n    \"copr\": \"python3.8\",\n" +
				"    \"owner\": \"@python\",\n    \"pkg\": \"python-hypothesis\",\n    \"status\": 1,\n" +
				"    \"user\": \"churchyard\",\n    \"version\": \"4.23.8-1.fc31\"\n}",
			agent: "churchyard", usernames: []string{"churchyard"}, packages: []string{},
		},
		{
			name:  "a bridged build end names the state of its status number",
			topic: "org.fedoraproject.prod.copr.build.end", schema: "copr.build.end",
			msg:     `{"msg": ` + v1 + `}`,
			summary: `Copr Message in project "@python/python3.8": build 945012: chroot "fedora-rawhide-x86_64" ended as "succeeded".`,
			noAgent: true, usernames: []string{"churchyard"},
		},
		{
			name:  "STOMP start: the submitter acted, the owner is a user too",
			topic: "org.fedoraproject.prod.copr.build.start", schema: "copr.unused.build.start",
			msg: `{"build": "38492", "owner": "praiskup", "copr": "ping", "submitter": "frantisek",
				"package": "dummy-pkg-1:20190701_2127-0", "chroot": "srpm-builds", "builder": "10.8.29.188",
				"status": "RUNNING", "status_int": "3"}`,
			summary: `Copr Message in project "praiskup/ping": build 38492: chroot "srpm-builds" started.`,
			agent:   "frantisek", usernames: []string{"frantisek", "praiskup"},
		},
		{
			name:  "STOMP end: the state is status_int, a number as text; a namespaced submitter is nobody",
			topic: "org.fedoraproject.prod.copr.build.end", schema: "copr.unused.build.end",
			msg: `{"build": "38492", "owner": "praiskup", "copr": "ping", "submitter": "github.com:someone",
				"package": "dummy-pkg-1:20190701_2127-0", "chroot": "fedora-rawhide-x86_64", "builder": "10.0.150.161",
				"status": "CANCELED", "status_int": "2"}`,
			summary: `Copr Message in project "praiskup/ping": build 38492: chroot "fedora-rawhide-x86_64" ended as "canceled".`,
			noAgent: true, usernames: []string{"praiskup"},
		},
		{
			name:  "STOMP chroot start: the base class's words",
			topic: "org.fedoraproject.prod.copr.chroot.start", schema: "copr.unused.chroot.start",
			msg:     `{"chroot": "fedora-29-x86_64"}`,
			summary: "Unspecified Copr message", noAgent: true, usernames: []string{},
		},
	})
}

func TestFMHotnessTriggersAndReasons(t *testing.T) {
	const topic = "org.fedoraproject.prod.hotness.update.drop"
	runFMCases(t, []fmCase{
		{
			name: "a pkgdb listing trigger names its package", topic: topic, schema: "hotness.update.drop",
			msg:     `{"reason": "rawhide", "agent_name": "hotness", "trigger": {"topic": "org.fedoraproject.prod.pkgdb.package.new", "msg": {"package_listing": {"package": {"name": "nethack"}}}}}`,
			summary: "the-new-hotness saw an update for 'nethack', but no rawhide version of the package could be found yet",
			agent:   "hotness", usernames: []string{"hotness"}, packages: []string{"nethack"},
		},
		{
			name: "a koji build trigger names its build's package", topic: topic, schema: "hotness.update.drop",
			msg:      `{"reason": "bugzilla", "trigger": {"topic": "org.fedoraproject.prod.buildsys.build.state.change", "msg": {"name": "kernel"}}}`,
			summary:  "the-new-hotness saw an update for 'kernel', but the bugzilla issue couldn't be updated",
			packages: []string{"kernel"},
		},
		{
			name: "another trigger's package, and a reason the class does not know", topic: topic, schema: "hotness.update.drop",
			msg:      `{"reason": "frozen", "trigger": {"topic": "org.fedoraproject.prod.other", "msg": {"package": {"name": "gimp"}}}}`,
			summary:  "the-new-hotness saw an update for 'gimp', but it got dropped for reason: 'frozen'",
			packages: []string{"gimp"},
		},
		{
			name: "anitya has no Fedora name: no package at all", topic: topic, schema: "hotness.update.drop",
			msg:      `{"reason": "anitya", "trigger": {"topic": "org.fedoraproject.prod.buildsys.build.state.change", "msg": {"name": "kernel"}}}`,
			summary:  "the-new-hotness saw an update for '', but release-monitoring.org doesn't know what that project is called in Fedora land",
			packages: []string{},
		},
		{
			name: "a bug filed for a new mapping names the mapped package", topic: "org.fedoraproject.prod.hotness.update.bug.file", schema: "hotness.update.bug.file",
			msg:     `{"bug": {"bug_id": 42}, "trigger": {"topic": "org.release-monitoring.prod.anitya.project.map.new", "msg": {"message": {"new": "python-foo"}}}}`,
			summary: "the-new-hotness filed a bug on 'python-foo'",
			body:    "The New Hotness filed a bug on 'python-foo'\nhttps://bugzilla.redhat.com/42\n",
			link:    "https://bugzilla.redhat.com/42", noAgent: true, packages: []string{"python-foo"},
		},
	})
}

func TestFMKoscheiMirrormanagerAnityaBranches(t *testing.T) {
	runFMCases(t, []fmCase{
		{
			name: "koschei: a broken buildroot on another koji", topic: "org.fedoraproject.prod.koschei.collection.state.change", schema: "koschei.collection.state.change",
			msg:     `{"repo_id": "1", "collection": "epel9", "collection_name": "EPEL 9", "new": "unresolved", "old": "ok", "koji_instance": "s390"}`,
			summary: "EPEL 9 buildroot was broken (s390)", link: "https://koschei.fedoraproject.org/collection/epel9",
		},
		{
			name: "mirrormanager: a v2 host with unknown bandwidth, no admins", topic: "org.fedoraproject.prod.mirrormanager.host.updated.v2", schema: "mirrormanager.host.updated.v2",
			msg:     `{"agent": "alice", "host": {"id": 2, "name": "m.example.org", "country": "FR", "bandwidth": null, "asn": null, "url": "https://mm/host/2"}, "site": {"id": 1, "name": "ex", "org_url": null}}`,
			summary: "Host m.example.org in site ex has been updated by alice",
			body:    "Host name: m.example.org\nCountry: FR\nBandwitdh: None\nSite: ex\n",
			link:    "https://mm/host/2", agent: "alice", usernames: []string{"alice"},
		},
		{
			name: "anitya: a v2 version removal of five versions lists them", topic: "org.release-monitoring.prod.anitya.project.version.remove.v2", schema: "anitya.project.version.remove.v2",
			msg:     `{"project": {"name": "tint2"}, "message": {"agent": "bob", "versions": ["1", "2", "3", "4", "5"]}}`,
			summary: "A versions '1, 2, 3, 4, 5' were deleted in project tint2 in release-monitoring.",
			agent:   "bob", usernames: []string{}, packages: []string{},
		},
		{
			name: "anitya: a mapping outside Fedora names no package", topic: "org.release-monitoring.prod.anitya.project.map.update", schema: "anitya.project.map.update",
			msg:      `{"distro": {"name": "Debian"}, "project": {"name": "xbps"}, "message": {"agent": "bob", "prev": "a", "new": "b"}}`,
			summary:  "A mapping for project xbps was edited in release-monitoring.",
			packages: []string{},
		},
	})
}

// groupAMessages are the fedora-messaging samples of this group's apps,
// as the score test feeds them.
func groupAMessages(b *testing.B) []fmMessage {
	var out []fmMessage
	for _, m := range loadFMMessages(b) {
		switch m.env.Topic[strings.Index(m.env.Topic, "prod.")+len("prod."):][:4] {
		case "anit", "copr", "hotn", "kosc", "mirr":
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		b.Fatal("no anitya, copr, hotness, koschei or mirrormanager samples")
	}
	return out
}

// BenchmarkDescribeFMGroupA describes this group's samples in turn
// (bodies and all: copr's and hotness's dump headers and payload);
// BenchmarkDecodeFMGroupA decodes the same envelopes, the baseline to
// compare it with on a busy machine.
func BenchmarkDescribeFMGroupA(b *testing.B) {
	d := Default()
	msgs := groupAMessages(b)
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			d.Describe(msgs[i%len(msgs)].env)
		}
	})
}

func BenchmarkDecodeFMGroupA(b *testing.B) {
	msgs := groupAMessages(b)
	b.ReportAllocs()
	threadCPU(b, func() {
		for i := 0; b.Loop(); i++ {
			if _, err := bus.Decode(msgs[i%len(msgs)].raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The fedora-messaging rules are chosen by schema only: the same topics
// from fedmsg (no headers) keep their fedmsg-era description.
func TestFMGroupARulesLeaveFedmsgMessagesAlone(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		name, topic, msg, notSummary string
	}{
		{"koschei package", "org.fedoraproject.prod.koschei.package.state.change",
			`{"name": "rust-tokio", "new": "failing", "old": "ok", "collection": "f37", "collection_name": "Fedora 37", "groups": ["rust-sig"], "koji_instance": "primary"}`,
			"rust-tokio's builds started to fail in f37"},
		{"copr build end", "org.fedoraproject.prod.copr.build.end",
			`{"status": 1, "chroot": "fedora-29-x86_64", "user": "kbaig", "copr": "test", "version": "0.1.2-1.fc30", "build": 942697, "owner": "kbaig", "pkg": "tkn"}`,
			`Copr Message in project "kbaig/test": build 942697: chroot "fedora-29-x86_64" ended as "succeeded".`},
		{"anitya project add", "org.release-monitoring.prod.anitya.project.add",
			`{"project": {"name": "pg-semver", "id": 1}, "message": {"agent": "praiskup", "project": "pg-semver"}, "distro": null}`,
			"A new project, pg-semver, was added to release-monitoring."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Describe(envelope(t, `{"topic": "`+tc.topic+`", "msg": `+tc.msg+`}`))
			if got.Subtitle == tc.notSummary || got.AppName != "" || got.Body != "" {
				t.Errorf("a fedmsg message got the fedora-messaging description: %q, app_name %q, body %q", got.Subtitle, got.AppName, got.Body)
			}
			if got.Subtitle == "" {
				t.Error("no fedmsg-era subtitle")
			}
		})
	}
}
