package preview

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hark/bus"
	"hark/filters/synth"
	"hark/meta"
	"hark/owners"
	"hark/store"
	"hark/store/sqlite"
)

var (
	samplesOnce sync.Once
	samples     []synth.Sample
	samplesErr  error
)

// loadSamples is the repository's real bus messages, described by meta.
func loadSamples(t testing.TB) []synth.Sample {
	t.Helper()
	samplesOnce.Do(func() {
		d, err := meta.New(meta.Options{})
		if err != nil {
			samplesErr = err
			return
		}
		f, err := os.Open(filepath.Join("..", "testdata", "fedmsg-samples.jsonl"))
		if err != nil {
			samplesErr = err
			return
		}
		defer f.Close()
		samples, samplesErr = synth.ReadSamples(f, func(env *bus.Envelope) meta.Description { return d.Describe(env) })
	})
	if samplesErr != nil {
		t.Fatal(samplesErr)
	}
	return samples
}

// epoch is when the first generated message was sent.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fill stores n messages made from the samples in turn, each with its
// own msg_id and a timestamp one second after the previous one, as the
// router stores them: the envelope as bus.CompactUTF8 writes it.
func fill(t testing.TB, st *sqlite.SQLite, n int) {
	t.Helper()
	src := loadSamples(t)
	batch := make([]store.Message, 0, 2000)
	flush := func() {
		if _, err := st.AddMessages(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		s := src[i%len(src)]
		fields := make(map[string]any, len(s.Env.Fields))
		for k, v := range s.Env.Fields {
			fields[k] = v
		}
		id := fmt.Sprintf("2026-%08d-0000-4000-8000-000000000000", i)
		ts := epoch.Add(time.Duration(i) * time.Second)
		fields["msg_id"] = id
		fields["timestamp"] = ts.Unix()
		m, err := store.NewMessage(id, s.Env.Topic, float64(ts.Unix()), bus.CompactUTF8(fields), s.Desc)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// openStore is an empty store in a temporary directory.
func openStore(t testing.TB) *sqlite.SQLite {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testOwners says ralph owns guake and, through the zmq-sig group,
// also php-zmq; pingou owns fedmsg.
func testOwners(t testing.TB) *owners.Snapshot {
	t.Helper()
	snap, err := owners.Parse("aliases.json",
		[]byte(`{"rpms": {"guake": ["ralph"], "php-zmq": ["@zmq-sig"], "fedmsg": ["pingou"]}}`),
		"groups.json", []byte(`{"zmq-sig": ["ralph"]}`))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
