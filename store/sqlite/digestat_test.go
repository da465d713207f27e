package sqlite

import (
	"context"
	"strings"
	"testing"

	"hark/store"
)

func TestDigestAtIsKeptAndCleared(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	d := f.dest
	if err := d.SetPreference("digest_at", "Monday 8:00"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDestinations(ctx, f.user.ID)
	if err != nil || len(ds) != 1 || ds[0].DigestAt != "mon 08:00" {
		t.Fatalf("destinations = %+v, %v; want digest_at mon 08:00", ds, err)
	}
	if err := ds[0].SetPreference("digest_at", "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveDestination(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	if ds, err = s.AllDestinations(ctx); err != nil || len(ds) != 1 || ds[0].DigestAt != "" {
		t.Fatalf("destinations = %+v, %v; want digest_at cleared", ds, err)
	}
}

func TestDigestAtRefusesBadTimes(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"25:00", `digest_at: "25:00" is not a time of day: hours go from 00 to 23, minutes from 00 to 59`},
		{"someday 08:00", `digest_at: "someday" is not a day of the week like mon or monday`},
	} {
		d := store.Destination{DigestAt: "08:00"}
		if err := d.SetPreference("digest_at", tc.value); err == nil || err.Error() != tc.want {
			t.Errorf("digest_at=%s: error %v, want %s", tc.value, err, tc.want)
		}
		if d.DigestAt != "08:00" {
			t.Errorf("digest_at=%s changed the kept value to %q", tc.value, d.DigestAt)
		}
	}
}

func TestQuietHoursAreKeptAndCheckedWithDigestAt(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	d := f.dest
	if err := d.SetPreference("quiet_hours", "22:00-7:00"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPreference("quiet_hours", "22:00-25:00"); err == nil || d.QuietHours != "22:00-07:00" {
		t.Errorf("quiet_hours=22:00-25:00: error %v, kept %q; want a refusal and 22:00-07:00 kept", err, d.QuietHours)
	}
	if _, err := s.SaveDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDestinations(ctx, f.user.ID)
	if err != nil || len(ds) != 1 || ds[0].QuietHours != "22:00-07:00" || ds[0].DigestAt != "" {
		t.Fatalf("destinations = %+v, %v; want quiet hours 22:00-07:00 and no digest time", ds, err)
	}
}

func TestSnoozeIsKeptAndRefusesThePast(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	f := seed(t, s, "alice", false)
	d := f.dest
	for _, tc := range []struct{ key, value, want string }{
		{"snooze", "2020-01-01T09:00:00Z", `snooze: 2020-01-01T09:00:00Z is in the past`},
		{"snooze", "-1h", `snooze: "-1h" is not a length of time ahead like 2h`},
		{"snooze", "soon", `snooze: "soon" is not a length of time like 2h`},
		{"snooze_then", "later", `snooze_then: "later" is not digest or drop`},
	} {
		if err := d.SetPreference(tc.key, tc.value); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s=%s: error %v, want %s", tc.key, tc.value, err, tc.want)
		}
	}
	if err := d.SetPreference("snooze", "on"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPreference("snooze_then", "drop"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDestinations(ctx, f.user.ID)
	if err != nil || len(ds) != 1 || ds[0].SnoozeText() != "on" || ds[0].SnoozeThen() != "drop" {
		t.Fatalf("destinations = %+v, %v; want snoozed until turned off, then drop", ds, err)
	}
	if err := ds[0].SetPreference("snooze", "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveDestination(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	if ds, err = s.ListDestinations(ctx, f.user.ID); err != nil || !ds[0].SnoozeUntil.IsZero() {
		t.Fatalf("destinations = %+v, %v; want the snooze off", ds, err)
	}
}
