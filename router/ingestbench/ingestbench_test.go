package ingestbench_test

import (
	"context"
	"os"
	"testing"

	"hark/bus"
	"hark/filters/synth"
	"hark/meta"
	"hark/router/ingestbench"
)

func TestRunIngestsAndQueuesNotifications(t *testing.T) {
	describer, err := meta.New(meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := synth.ReadSamples(f, func(env *bus.Envelope) meta.Description { return describer.Describe(env) })
	if err != nil {
		t.Fatal(err)
	}
	shape := synth.Issue4
	shape.Users = 200
	res, err := ingestbench.Run(context.Background(), samples, describer, ingestbench.Options{Shape: shape, Seed: 1, Messages: 600, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notifications == 0 || res.IngestMsgsPerS <= 0 || res.MatchMsgsPerS <= 0 {
		t.Errorf("result %+v: want notifications and both rates", res)
	}
}
