package metrics

import (
	"context"

	"hark/delivery"
)

// Delivery exports what delivery sent, retried and gave up on, by
// destination kind, and the lag from a message's own timestamp to its
// send (as a sum and a count, so rate(sum)/rate(count) is the mean lag).
func Delivery(stats func() delivery.Stats) Source {
	return func(context.Context) ([]Sample, error) {
		s := stats()
		out := []Sample{
			{Name: "delivery_lag_seconds_sum", Help: "Seconds from message timestamp to send, summed over sent notifications.", Value: s.LagSeconds},
			{Name: "delivery_lag_seconds_count", Help: "Sent notifications whose lag is in delivery_lag_seconds_sum.", Value: float64(s.LagCount)},
		}
		for kind, outcomes := range s.Notifications {
			for outcome, n := range outcomes {
				out = append(out, Sample{Name: "deliveries_total", Help: "Notifications by destination kind and outcome (sent, failed and to be retried, dead).",
					Value: float64(n), Labels: map[string]string{"kind": kind, "outcome": outcome}})
			}
		}
		for kind, shapes := range s.Batches {
			for shape, n := range shapes {
				out = append(out, Sample{Name: "delivery_messages_total", Help: "Emails or IRC messages sent, single or digest.",
					Value: float64(n), Labels: map[string]string{"kind": kind, "shape": shape}})
			}
		}
		return out, nil
	}
}
