package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"hark/store"
	"slices"
	"time"
)

// FilterMessagesSince returns up to limit messages that filter filterID
// of user userID notified since since, newest first, each once however
// many destinations it went to: what "not like this" counts an
// exclusion against. Notifications still in the inbox count too.
func (s *SQLite) FilterMessagesSince(ctx context.Context, userID, filterID int64, since time.Time, limit int) ([]store.Message, error) {
	rows, err := s.r.QueryContext(ctx, selectFilterMessagesSince, userID, filterID, ms(since), limit)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("read messages of filter %d: %w", filterID, err)
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("read messages of filter %d: %w", filterID, err)
	}
	waiting, err := s.listInbox(ctx, store.NotificationQuery{User: u.Name, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("read messages of filter %d: %w", filterID, err)
	}
	var keys []string
	for _, n := range waiting {
		if n.FilterID == filterID && n.Created.After(since) &&
			!slices.ContainsFunc(msgs, func(m store.Message) bool { return m.Key == n.MsgKey }) && !slices.Contains(keys, n.MsgKey) {
			keys = append(keys, n.MsgKey)
		}
	}
	if len(keys) == 0 {
		return msgs, nil
	}
	more, err := s.MessagesByKey(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read messages of filter %d: %w", filterID, err)
	}
	for _, m := range more {
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b store.Message) int {
		if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return msgs[:min(len(msgs), limit)], nil
}
