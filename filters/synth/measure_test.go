package synth

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMeasureIssue4 is not a timing test: it prints the benchmark line
// when run with -v -run Issue4 and HARK_BENCH=1.
func TestMeasureIssue4(t *testing.T) {
	if os.Getenv("HARK_BENCH") == "" {
		t.Skip("set HARK_BENCH=1 to run the issue 4 benchmark")
	}
	f, err := os.Open("../../testdata/fedmsg-samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := ReadSamples(f, Expected)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(1)
	res, err := Measure(samples, 1, Issue4, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
}
