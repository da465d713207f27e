package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"hark/bus"
	"hark/internal/testpeer"
)

// ring1KB returns n distinct fedmsg messages of about 1 KB: real samples
// of 900 to 1200 bytes, each with its own msg_id.
func ring1KB(b *testing.B, n int) [][][]byte {
	b.Helper()
	var sized [][][]byte
	for _, m := range samples(b) {
		if len(m[1]) >= 900 && len(m[1]) <= 1200 {
			sized = append(sized, m)
		}
	}
	if len(sized) == 0 {
		b.Fatal("no sample of about 1 KB in testdata")
	}
	ring := make([][][]byte, n)
	for i := range ring {
		env, err := bus.DecodeFrames(sized[i%len(sized)])
		if err != nil {
			b.Fatal(err)
		}
		env.Fields["msg_id"] = fmt.Sprintf("2024-bench-%08d", i)
		ring[i] = [][]byte{[]byte(env.Topic), bus.Canonical(env.Fields)}
	}
	return ring
}

// BenchmarkReceive measures what a subscriber can take from one libzmq
// publisher, 1 KB fedmsg messages, on one core (GOMAXPROCS=1): "raw" is
// zmq4's Recv alone, "decode" adds bus.DecodeFrames of every message. The
// publisher queues all b.N messages before the clock starts, so the
// receiver, not Python, sets the pace. The machine is shared and absolute
// numbers are noisy, so "interleaved" alternates raw and decoded blocks of
// messages in one stream and reports both rates and their ratio
// (decode-msgs/s ÷ raw-msgs/s), which drift affects alike. "guarded" is
// "raw" through the ZMTP guard that bounds message sizes (compare the
// two over several -count runs).
func BenchmarkReceive(b *testing.B) {
	for _, mode := range []struct {
		name    string
		every   int // decode every message of one block in every; 0 never
		guarded bool
	}{{"raw", 0, false}, {"guarded", 0, true}, {"decode", 1, false}, {"interleaved", 2, false}} {
		b.Run(mode.name, func(b *testing.B) { benchReceive(b, mode.every, mode.guarded) })
	}
}

var sink *bus.Envelope

// benchBlock is how many messages in a row are received the same way in
// the interleaved mode: enough to make timing them cheap.
const benchBlock = 256

func benchReceive(b *testing.B, every int, guarded bool) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ring := ring1KB(b, 1024)
	pub := testpeer.StartPubHWM(b, 0) // queue without bound: lose nothing
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := zmq4.NewSub(ctx)
	defer sock.Close()
	if err := sock.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		b.Fatal(err)
	}
	endpoint := pub.Endpoint
	if guarded {
		var err error
		if endpoint, err = bus.GuardedEndpoint(endpoint, bus.DefaultMaxMessageBytes); err != nil {
			b.Fatal(err)
		}
	}
	if err := sock.Dial(endpoint); err != nil {
		b.Fatal(err)
	}
	settleRaw(b, pub, sock)

	pub.Burst(ring, b.N)
	pub.Wait()
	b.SetBytes(int64(len(ring[0][1])))
	var spent [2]time.Duration // raw, decoded
	var count [2]int
	b.ResetTimer()
	for got := 0; got < b.N; {
		block := got / benchBlock
		decode := every == 1 || every > 1 && block%every == 0
		n := min(benchBlock, b.N-got)
		start := time.Now()
		for i := 0; i < n; {
			msg, err := sock.Recv()
			if err != nil {
				b.Fatal(err)
			}
			if string(msg.Frames[0]) == probeTopic {
				continue // a late probe from settling
			}
			if decode {
				if sink, err = bus.DecodeFrames(msg.Frames); err != nil {
					b.Fatal(err)
				}
			}
			i++
		}
		k := 0
		if decode {
			k = 1
		}
		spent[k] += time.Since(start)
		count[k] += n
		got += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if every > 1 && count[0] > 0 && count[1] > 0 {
		raw := float64(count[0]) / spent[0].Seconds()
		dec := float64(count[1]) / spent[1].Seconds()
		b.ReportMetric(raw, "raw-msgs/s")
		b.ReportMetric(dec, "decode-msgs/s")
		b.ReportMetric(dec/raw, "ratio")
	}
}

// settleRaw publishes probes until sock receives one.
func settleRaw(b *testing.B, pub *testpeer.Pub, sock zmq4.Socket) {
	b.Helper()
	probe, err := json.Marshal(map[string]any{"topic": probeTopic, "msg": map[string]any{}})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			pub.Send([]byte(probeTopic), probe)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	if _, err := sock.Recv(); err != nil {
		b.Fatal(err)
	}
	close(stop)
	wg.Wait()
}
