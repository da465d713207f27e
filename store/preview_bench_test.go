package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkAddMessagesTerms measures what filing messages under their
// terms (the schemaV3 trigger) costs the write path: batches of 256
// messages described like busy bus traffic, with the trigger and, as the
// baseline in the same run, with it dropped. Compare the two msgs/s.
func BenchmarkAddMessagesTerms(b *testing.B) {
	desc := json.RawMessage(`{"app":"bodhi","title":"bodhi.update.comment","subtitle":"ralph commented on an update",` +
		`"usernames":["bowlofeggs","ralph"],"packages":["kernel","kernel-headers"],"agent":"ralph","objects":["packages/kernel"]}`)
	env := json.RawMessage(`{"msg":{"comment":{"text":"works for me","user":{"name":"ralph"}},"update":{"title":"kernel-6.1"}},` +
		`"msg_id":"x","timestamp":1700000000,"topic":"org.fedoraproject.prod.bodhi.update.comment"}`)
	for _, mode := range []string{"without-terms", "with-terms"} {
		b.Run(mode, func(b *testing.B) {
			s := openTest(b)
			if mode == "without-terms" {
				if _, err := s.w.Exec(`DROP TRIGGER messages_insert_terms`); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			batch := make([]Message, 256)
			for b.Loop() {
				for i := range batch {
					batch[i] = Message{Key: fmt.Sprintf("m%d", n), Topic: "org.fedoraproject.prod.bodhi.update.comment",
						Timestamp: time.Unix(1700000000+int64(n), 0), Envelope: env, Description: desc}
					n++
				}
				if _, err := s.AddMessages(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
