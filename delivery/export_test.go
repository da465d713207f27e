package delivery

import (
	"context"
	"time"
)

// WriteSentJournal appends to the sent journal file at path the record of
// ids sent at, as a send does right before a crash.
func WriteSentJournal(path string, ids []int64, at time.Time) error {
	j, err := openJournal(path)
	if err != nil {
		return err
	}
	defer j.close()
	return j.sent(context.Background(), ids, at)
}

// ReplayDetail is the delivery-log detail of a send the journal recorded.
const ReplayDetail = replayDetail

// KeepRound runs one round of the lease keeper and waits for the
// releases it started.
func (d *Deliverer) KeepRound(ctx context.Context) error {
	err := d.keeper.round(ctx)
	d.keeper.releasing.Wait()
	return err
}
