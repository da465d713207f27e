package delivery_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hark/delivery"
	"hark/store/sqlite"
)

// TestFeedWakesDeliveryForWhatAnotherProcessQueued runs delivery with a
// poll far longer than the test: what another process (a second store
// on the file) queues is sent because the change feed says it was
// queued.
func TestFeedWakesDeliveryForWhatAnotherProcessQueued(t *testing.T) {
	w := newWorld(t, setup{opts: func(o *delivery.Options) {
		o.PollEvery = time.Hour
		o.Now = time.Now
	}})
	router, err := sqlite.Open(w.ctx, filepath.Join(w.dir, "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { router.Close() })
	w.st = router // queue() writes through the other process
	// The first message waits before delivery starts: its first pass
	// sends it, and the feed is followed from before that pass on.
	w.queue(1)
	ctx, cancel := context.WithCancel(w.ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.d.Run(ctx); err != nil {
			t.Errorf("run delivery: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	w.smtp.Wait(1, 30*time.Second)
	for n := 2; n <= 4; n++ {
		w.queue(1)
		w.smtp.Wait(n, 30*time.Second)
	}
}
