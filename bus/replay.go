package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-zeromq/zmq4"
)

// sequence follows one publisher's seq_id to notice the messages it
// missed. fedmsg's publishers number messages from their persistent store.
type sequence struct {
	last  int64
	known bool
}

// replayGap returns the messages missing between the last seq_id seen on
// ep and env's, fetched from ep's replay endpoint, in seq_id order and
// verified; env itself is not among them. Like fedmsg's check_for_replay,
// the first message only sets the starting point; unlike it, a seq_id that
// goes backwards is taken as a publisher whose store restarted (a true
// late duplicate is dropped by key when delivered).
func (s *Subscriber) replayGap(ctx context.Context, ep Endpoint, seq *sequence, env *Envelope) []*Envelope {
	if _, ok := env.Fields["seq_id"]; !ok {
		return nil
	}
	cur, last, known := env.SeqID, seq.last, seq.known
	seq.last, seq.known = cur, true
	if !known || cur <= last+1 {
		return nil
	}
	missed, err := fetchReplay(ctx, s.replayGuard.endpoint(ep.Replay), last, cur, s.opts.ReplayTimeout)
	if err != nil {
		s.stats.replayFailures.Add(1)
		s.log.Warn("replay failed, messages lost", "endpoint", ep.URL, "replay", ep.Replay,
			"from_seq_id", last+1, "to_seq_id", cur-1, "err", err)
		return nil
	}
	kept := missed[:0]
	recovered := int64(0)
	for _, m := range missed {
		if m.SeqID <= last || m.SeqID >= cur {
			continue // the range is inclusive: the ends were seen live
		}
		recovered++
		if s.subscribed(m.Topic) && s.verified(m, ep.Replay) {
			kept = append(kept, m)
		}
	}
	if want := cur - last - 1; recovered < want {
		s.stats.replayFailures.Add(1)
		s.log.Warn("replay incomplete, messages lost", "endpoint", ep.URL, "replay", ep.Replay,
			"from_seq_id", last+1, "to_seq_id", cur-1, "recovered", recovered, "missing", want-recovered)
	}
	return kept
}

// errReplay marks an answer in which the replay endpoint reports an error
// instead of messages, as fedmsg's ReplayContext does ("error: '...'").
var errReplay = errors.New("replay endpoint refused the query")

// fetchReplay asks a fedmsg replay endpoint (a REP socket) for the
// messages with from <= seq_id <= to, as fedmsg.replay.get_replay does,
// and returns them sorted by seq_id.
func fetchReplay(ctx context.Context, endpoint string, from, to int64, timeout time.Duration) ([]*Envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := zmq4.NewReq(ctx, zmq4.WithDialerTimeout(timeout))
	defer req.Close()
	if err := req.Dial(endpoint); err != nil {
		return nil, fmt.Errorf("dial replay %s: %w", endpoint, err)
	}
	query, err := json.Marshal(map[string][2]int64{"seq_id_range": {from, to}})
	if err != nil {
		return nil, fmt.Errorf("encode replay query: %w", err)
	}
	if err := req.Send(zmq4.NewMsg(query)); err != nil {
		return nil, fmt.Errorf("send replay query to %s: %w", endpoint, err)
	}
	reply, err := req.Recv()
	if err != nil {
		return nil, fmt.Errorf("receive replay from %s: %w", endpoint, err)
	}
	if len(reply.Frames) == 1 && bytes.HasPrefix(reply.Frames[0], []byte("error: ")) {
		return nil, fmt.Errorf("receive replay from %s: %w: %s", endpoint, errReplay, reply.Frames[0])
	}
	envs := make([]*Envelope, 0, len(reply.Frames))
	for i, frame := range reply.Frames {
		env, err := Decode(frame)
		if err != nil {
			return nil, fmt.Errorf("receive replay from %s: message %d: %w", endpoint, i+1, err)
		}
		envs = append(envs, env)
	}
	slices.SortStableFunc(envs, func(a, b *Envelope) int { return int(a.SeqID - b.SeqID) })
	return envs, nil
}
