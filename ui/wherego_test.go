package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hark/store"
)

func TestDestinationFormErrorsSitByTheirFieldAndKeepWhatWasTyped(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	d := addDestination(t, ts, "alice@example.org", false)
	prefs := fmt.Sprintf("/destinations/%d/preferences", d.ID)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		field      string
		want, kept string
	}{
		{"bad duration", prefs, url.Values{"form": {fmt.Sprintf("prefs-%d", d.ID)}, "batch_delta": {"soon"}},
			fmt.Sprintf(`id="batch-delta-%d"`, d.ID), `&#34;soon&#34; is not a duration like 90s or 10m`, `value="soon"`},
		{"bad count", prefs, url.Values{"form": {fmt.Sprintf("prefs-%d", d.ID)}, "batch_count": {"many"}},
			fmt.Sprintf(`id="batch-count-%d"`, d.ID), "is not a whole number", `value="many"`},
		{"wrong code", fmt.Sprintf("/destinations/%d/confirm", d.ID), url.Values{"form": {fmt.Sprintf("confirm-%d", d.ID)}, "code": {"guess"}},
			fmt.Sprintf(`id="code-%d"`, d.ID), "is wrong or expired", `value="guess"`},
		{"bad address", "/destinations", url.Values{"kind": {"email"}, "address": {"not an address"}}, `id="address"`, "", `value="not an address"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := alice.post(tc.path, tc.form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400:\n%s", resp.StatusCode, resp.Body)
			}
			at := strings.Index(resp.Body, tc.field)
			if at < 0 {
				t.Fatalf("no field %s:\n%s", tc.field, resp.Body)
			}
			after := resp.Body[at:]
			errAt := strings.Index(after, `class="field-error"`)
			if errAt < 0 || strings.Contains(after[:errAt], "</form>") || !strings.Contains(after[errAt:], tc.want) {
				t.Fatalf("no field error %q in the form of %s:\n%s", tc.want, tc.field, resp.Body)
			}
			if strings.Contains(resp.Body, "batch_delta: batch_delta") {
				t.Errorf("the field is named twice")
			}
			if !strings.Contains(resp.Body, tc.kept) {
				t.Errorf("typed value %s not kept", tc.kept)
			}
		})
	}
}

func TestFiltersAndDestinationsNameEachOther(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.login(t, "alice", false)
	confirmed := addDestination(t, ts, "alice@example.org", true)
	unconfirmed := addDestination(t, ts, "alice@work.example.org", false)
	for _, f := range []store.Filter{
		{UserID: 1, Name: "to both", Active: true, DestinationIDs: []int64{confirmed.ID, unconfirmed.ID}},
		{UserID: 1, Name: "nowhere", Active: true},
	} {
		if _, err := ts.store.SaveFilter(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	filters := alice.get("/filters").Body
	for _, want := range []string{
		"sends to email:alice@example.org, email:alice@work.example.org <span class=\"state-bad\">(not confirmed)</span>",
		"sends to no destination",
	} {
		if !strings.Contains(filters, want) {
			t.Errorf("filter list lacks %q:\n%s", want, filters)
		}
	}
	dests := alice.get("/destinations").Body
	if !strings.Contains(dests, "filters sending here: to both") {
		t.Errorf("destination list does not name its filters:\n%s", dests)
	}
}
