package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestNotificationByIDAndDeadLetters(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	if _, err := s.Enqueue(ctx, []Accepted{f.accepted("m1"), f.accepted("m2"), f.accepted("m3")}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListNotifications(ctx, NotificationQuery{User: "alice"})
	if err != nil || len(all) != 3 {
		t.Fatalf("%d notifications, %v", len(all), err)
	}
	if err := s.MarkDead(ctx, []int64{all[0].ID, all[2].ID}, "mailbox full", time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Run("by id, with names", func(t *testing.T) {
		n, err := s.NotificationByID(ctx, all[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if n.MsgKey != all[1].MsgKey || n.UserName != "alice" || n.FilterName != f.filter.Name || n.Destination == "" || len(n.Why) == 0 {
			t.Errorf("got %+v", n)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		if _, err := s.NotificationByID(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
	})
	t.Run("dead letters newest first", func(t *testing.T) {
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, n := range dead {
			ids = append(ids, n.ID)
			if n.State != StateDead || n.LastError != "mailbox full" || n.UserName != "alice" {
				t.Errorf("dead letter %+v", n)
			}
		}
		if want := []int64{all[0].ID, all[2].ID}; !slices.Equal(ids, want) {
			t.Errorf("ids %v, want %v", ids, want)
		}
	})
}
