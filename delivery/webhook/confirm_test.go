package webhook

import (
	"net/http"
	"path/filepath"
	"testing"

	"hark/delivery"
	"hark/store"
	"hark/store/sqlite"
)

// TestConfirmationAnswered2xxConfirms: an unconfirmed webhook is
// confirmed by its receiver answering the confirmation 2xx, and stays
// unconfirmed when the receiver refuses it.
func TestConfirmationAnswered2xxConfirms(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status    int
		confirmed bool
	}{{http.StatusOK, true}, {http.StatusNotFound, false}, {http.StatusServiceUnavailable, false}} {
		r := newReceiver(t, func(int) int { return tc.status })
		dest, err := st.SaveDestination(ctx, store.Destination{UserID: u.ID, Kind: Kind, Address: r.srv.URL + "/hook", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		d, err := delivery.New(delivery.Options{Store: st, Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: "https://hark.example.org"})
		if err != nil {
			t.Fatal(err)
		}
		d.Register(Kind, newSender(t, Options{AllowPrivate: true}))
		err = d.SendConfirmation(ctx, dest)
		if (err == nil) != tc.confirmed {
			t.Errorf("answer %d: SendConfirmation: %v", tc.status, err)
		}
		got, err := st.DestinationByID(ctx, dest.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Confirmed != tc.confirmed {
			t.Errorf("answer %d: confirmed %v, want %v", tc.status, got.Confirmed, tc.confirmed)
		}
		if rc := r.received(); len(rc) != 1 || rc[0].doc.Type != TypeConfirmation {
			t.Errorf("answer %d: receiver got %+v", tc.status, rc)
		}
	}
}
