package delivery

import "time"

// WriteSentJournal appends to the sent journal file at path the record of
// ids sent at, as a send does right before a crash.
func WriteSentJournal(path string, ids []int64, at time.Time) error {
	j, err := openJournal(path)
	if err != nil {
		return err
	}
	defer j.close()
	return j.sent(ids, at)
}

// ReplayDetail is the delivery-log detail of a send the journal recorded.
const ReplayDetail = replayDetail
