package bus_test

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"hark/bus"
	"hark/internal/testpeer"
)

func newPublisher(t *testing.T, opts bus.PublisherOptions) *bus.Publisher {
	t.Helper()
	opts.Linger = time.Millisecond // tests read every message before closing
	pub, err := bus.NewPublisher(context.Background(), opts)
	if err != nil {
		t.Fatalf("new publisher: %v", err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub
}

// received decodes what a libzmq SUB got and checks it is what Publish
// said it sent.
func received(t *testing.T, frames [][]byte, sent *bus.Envelope) *bus.Envelope {
	t.Helper()
	got, err := bus.DecodeFrames(frames)
	if err != nil {
		t.Fatalf("decode what libzmq received: %v", err)
	}
	if !reflect.DeepEqual(got.Fields, sent.Fields) {
		t.Fatalf("received %v\nsent %v", got.Fields, sent.Fields)
	}
	return got
}

var msgIDPattern = regexp.MustCompile(`^(\d{4})-(.{36})$`)

func TestPublisherConnectsToBoundLibzmqSub(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	sub := testpeer.StartSub(t, endpoint, true, "")
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	pub := newPublisher(t, bus.PublisherOptions{
		Endpoint: endpoint, Modname: "hark", Username: "alice", Now: func() time.Time { return now },
	})

	for i := 1; i <= 3; i++ {
		sent, err := pub.Publish(context.Background(), "test.connect", map[string]any{"log": "hello"})
		if err != nil {
			t.Fatal(err)
		}
		env := received(t, sub.Next(), sent)
		if env.Topic != "org.fedoraproject.dev.hark.test.connect" || env.I != int64(i) ||
			env.Timestamp != float64(now.Unix()) || env.Username != "alice" {
			t.Errorf("message %d: envelope %+v", i, env)
		}
		m := msgIDPattern.FindStringSubmatch(env.MsgID)
		if m == nil || m[1] != "2025" {
			t.Fatalf("msg_id %q, want 2025-<uuid4>", env.MsgID)
		}
		if u, err := uuid.Parse(m[2]); err != nil || u.Version() != 4 {
			t.Errorf("msg_id %q: not a uuid4 (%v)", env.MsgID, err)
		}
	}
}

func TestPublisherBindsForLibzmqSub(t *testing.T) {
	pub := newPublisher(t, bus.PublisherOptions{Endpoint: "tcp://127.0.0.1:0", Bind: true, Env: "prod", Modname: "hark"})
	sub := testpeer.StartSub(t, "tcp://"+pub.Addr(), false, "org.fedoraproject.prod.hark.")
	sent, err := pub.Publish(context.Background(), "test.bind", map[string]any{"log": "first"})
	if err != nil {
		t.Fatal(err)
	}
	received(t, sub.Next(), sent)
}

func TestPublisherKeepsNumberText(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	sub := testpeer.StartSub(t, endpoint, true, "")
	pub := newPublisher(t, bus.PublisherOptions{Endpoint: endpoint, Modname: "hark"})
	payload := map[string]any{"float": json.Number("1.50"), "big": json.Number("12345678901234567890"), "exp": json.Number("1e3")}
	sent, err := pub.Publish(context.Background(), "test.numbers", payload)
	if err != nil {
		t.Fatal(err)
	}
	env := received(t, sub.Next(), sent)
	if got := string(bus.Canonical(env.Msg)); got != `{"big":12345678901234567890,"exp":1e3,"float":1.50}` {
		t.Errorf("payload on the wire %s", got)
	}
}

// fieldSigner stands in for X.509 signing, which has its own tests: it
// sets the fields a signer sets.
type fieldSigner struct{}

func (fieldSigner) Sign(env *bus.Envelope) error {
	env.Fields["crypto"] = "x509"
	env.Fields["signature"] = "c2ln\n"
	env.Fields["certificate"] = "Y2VydA==\n"
	return nil
}

func TestPublisherSendsSignedEnvelope(t *testing.T) {
	endpoint := testpeer.Endpoint(testpeer.FreePort(t))
	sub := testpeer.StartSub(t, endpoint, true, "")
	pub := newPublisher(t, bus.PublisherOptions{Endpoint: endpoint, Modname: "hark", Signer: fieldSigner{}})
	sent, err := pub.Publish(context.Background(), "test.signed", map[string]any{"log": "x"})
	if err != nil {
		t.Fatal(err)
	}
	env := received(t, sub.Next(), sent)
	if env.Crypto != "x509" || env.Signature != "c2ln\n" || env.Certificate != "Y2VydA==\n" {
		t.Errorf("envelope %+v lacks the signer's fields", env)
	}
}

func TestNewPublisherRequiresModname(t *testing.T) {
	_, err := bus.NewPublisher(context.Background(), bus.PublisherOptions{Endpoint: "tcp://127.0.0.1:0", Bind: true})
	if err == nil {
		t.Fatal("publisher without modname accepted")
	}
}
