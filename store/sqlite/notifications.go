package sqlite

import (
	"context"
	"errors"
	"fmt"

	"hark/store"
)

// NotificationByID implements Queue.
func (s *SQLite) NotificationByID(ctx context.Context, id int64) (store.Notification, error) {
	n, err := one(s.r.QueryRowContext(ctx, selectNotificationByID, id), scanListedNotification)
	if errors.Is(err, store.ErrNotFound) {
		n, err = s.inboxByID(ctx, id) // not tried yet
	}
	if err != nil {
		return n, fmt.Errorf("find notification %d: %w", id, err)
	}
	return n, nil
}

// DeadLetters implements Queue.
func (s *SQLite) DeadLetters(ctx context.Context, limit int) ([]store.Notification, error) {
	rows, err := s.r.QueryContext(ctx, listDeadNotifications, limit)
	ns, err := collect(rows, err, scanListedNotification)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return ns, nil
}
