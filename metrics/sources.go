package metrics

import (
	"context"

	"hark/bus"
	"hark/filters"
	"hark/owners"
	"hark/router"
	"hark/store"
)

// Bus exports a subscriber's counters.
func Bus(stats func() bus.Stats) Source {
	return func(context.Context) ([]Sample, error) {
		s := stats()
		return []Sample{
			{Name: "bus_received_total", Help: "Well-formed messages read from the bus.", Value: float64(s.Received)},
			{Name: "bus_invalid_total", Help: "Malformed messages dropped (frames, UTF-8, JSON, topic).", Value: float64(s.Invalid)},
			{Name: "bus_bad_signature_total", Help: "Messages dropped because their signature did not verify.", Value: float64(s.BadSignature)},
			{Name: "bus_duplicates_total", Help: "Messages dropped because their key was seen recently.", Value: float64(s.Duplicates)},
			{Name: "bus_overflowed_total", Help: "Messages that found the subscriber's queue full.", Value: float64(s.Overflowed)},
			{Name: "bus_replayed_total", Help: "Missed messages recovered from replay endpoints.", Value: float64(s.Replayed)},
			{Name: "bus_replay_failures_total", Help: "Replay queries that failed.", Value: float64(s.ReplayFailures)},
			{Name: "bus_reconnects_total", Help: "Bus connections lost and dialed again.", Value: float64(s.Reconnects)},
			{Name: "bus_too_large_total", Help: "Messages refused because they exceeded bus.max_message_bytes.", Value: float64(s.TooLarge)},
		}, nil
	}
}

// Router exports the per-message path's counters.
func Router(stats func() router.Stats) Source {
	return func(context.Context) ([]Sample, error) {
		s := stats()
		return []Sample{
			{Name: "messages_handled_total", Help: "Messages described and matched.", Value: float64(s.Handled)},
			{Name: "matches_total", Help: "(user, destination) matches found.", Value: float64(s.Matches)},
			{Name: "messages_committed_total", Help: "Messages committed to the store with their notifications.", Value: float64(s.Committed)},
			{Name: "notifications_queued_total", Help: "Notifications newly queued.", Value: float64(s.Notifications)},
			{Name: "commit_errors_total", Help: "Failed commits to the store (retried).", Value: float64(s.CommitErrors)},
			{Name: "messages_uncommitted_total", Help: "Messages given up at shutdown because the store kept failing (AMQP ones are delivered again).", Value: float64(s.Uncommitted)},
			{Name: "filter_reloads_total", Help: "Reloads of the filters into the index.", Value: float64(s.Reloads)},
			{Name: "filter_reload_errors_total", Help: "Reloads that failed; the old filters stayed.", Value: float64(s.ReloadErrors)},
		}, nil
	}
}

// Index exports the filter index's size and its rule errors by kind.
func Index(stats func() filters.Stats) Source {
	return func(context.Context) ([]Sample, error) {
		s := stats()
		out := []Sample{
			{Name: "index_users", Help: "Users with active filters.", Kind: Gauge, Value: float64(s.Users)},
			{Name: "index_filters", Help: "Active filters.", Kind: Gauge, Value: float64(s.Filters)},
			{Name: "index_rules", Help: "Distinct compiled rules.", Kind: Gauge, Value: float64(s.Rules)},
			{Name: "index_always_evaluated_filters", Help: "Filters evaluated for every message (no indexable rule).", Kind: Gauge, Value: float64(s.Always)},
			{Name: "rule_over_budget_total", Help: "Regex and expression rule evaluations stopped or skipped because their owner's time per message (rules.budget_per_message) or a step or size bound ran out, or shutdown cancelled them; each counts as not matched.", Value: float64(s.OverBudget)},
		}
		for kind, n := range s.RuleErrors {
			out = append(out, Sample{Name: "rule_errors_total", Help: "Rule evaluations that failed at run time, by kind.",
				Value: float64(n), Labels: map[string]string{"kind": kind}})
		}
		return out, nil
	}
}

// Owners exports the ownership refresher's counters.
func Owners(stats func() owners.Stats) Source {
	return func(context.Context) ([]Sample, error) {
		s := stats()
		return []Sample{
			{Name: "owners_refreshes_total", Help: "Successful refreshes of package ownership.", Value: float64(s.Refreshes)},
			{Name: "owners_refresh_failures_total", Help: "Failed refreshes of package ownership; the previous data stayed.", Value: float64(s.Failures)},
		}, nil
	}
}

// Queue exports the notification queue's depth by state.
func Queue(depth func(context.Context) (map[store.State]int64, error)) Source {
	return func(ctx context.Context) ([]Sample, error) {
		d, err := depth(ctx)
		if err != nil {
			return nil, err
		}
		var out []Sample
		for _, st := range []store.State{store.StateQueued, store.StateFailed, store.StateDead, store.StateSent} {
			out = append(out, Sample{Name: "queue_notifications", Help: "Notifications in the queue, by state.", Kind: Gauge,
				Value: float64(d[st]), Labels: map[string]string{"state": string(st)}})
		}
		return out, nil
	}
}
