package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"hark/store"
)

// BenchmarkAddMessagesTerms measures filing messages under their terms
// from Go (schemaV4) against the json_tree trigger it replaced (schemaV3,
// put back for the baseline), in the same run: batches of 256 messages
// described like busy bus traffic. Compare the two msgs/s.
func BenchmarkAddMessagesTerms(b *testing.B) {
	desc := json.RawMessage(`{"app":"bodhi","title":"bodhi.update.comment","subtitle":"ralph commented on an update",` +
		`"usernames":["bowlofeggs","ralph"],"packages":["kernel","kernel-headers"],"agent":"ralph","objects":["packages/kernel"]}`)
	env := json.RawMessage(`{"msg":{"comment":{"text":"works for me","user":{"name":"ralph"}},"update":{"title":"kernel-6.1"}},` +
		`"msg_id":"x","timestamp":1700000000,"topic":"org.fedoraproject.prod.bodhi.update.comment"}`)
	for _, mode := range []string{"json_tree-trigger", "go"} {
		b.Run(mode, func(b *testing.B) {
			s := openTest(b)
			add := s.AddMessages
			if mode == "json_tree-trigger" {
				if _, err := s.w.Exec(`CREATE TRIGGER messages_insert_terms AFTER INSERT ON messages BEGIN
					INSERT OR IGNORE INTO message_terms (field, value, ts, msg_id) ` + messageTerms("NEW", "") + `; END`); err != nil {
					b.Fatal(err)
				}
				add = addMessagesByTrigger(s)
			}
			n := 0
			batch := make([]store.Message, 256)
			for b.Loop() {
				for i := range batch {
					batch[i] = store.Message{Key: fmt.Sprintf("m%d", n), Topic: "org.fedoraproject.prod.bodhi.update.comment",
						Timestamp: time.Unix(1700000000+int64(n), 0), Envelope: env, Description: desc}
					n++
				}
				if _, err := add(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// addMessagesByTrigger is AddMessages as it was before schemaV4: one
// insert per message, the trigger filing its terms.
func addMessagesByTrigger(s *SQLite) func(context.Context, []store.Message) (int, error) {
	return func(ctx context.Context, msgs []store.Message) (int, error) {
		return len(msgs), s.write(ctx, func(tx *sql.Tx) error {
			for _, m := range msgs {
				if _, err := tx.ExecContext(ctx, insertMessage, m.Key, m.Topic, ms(m.Timestamp), ms(time.Now()),
					string(m.Envelope), string(m.Description)); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
