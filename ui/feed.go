package ui

import (
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"hark/store"
)

// A user's Atom feed of their recent notifications, at a secret URL
// (/feed/SECRET) a feed reader can poll without logging in. Asking for a
// new URL (POST /api/v1/feed, or `hark feed rotate`) replaces the secret:
// the old URL stops working.

func init() { register((*Server).feedRoutes) }

// feedEntries is how many notifications the feed carries.
const feedEntries = 50

func (s *Server) feedRoutes(rt *Routes) {
	rt.Public("GET /feed/{secret}", s.serveFeed)
	rt.API("POST /feed", func(r *http.Request) (any, error) {
		u, err := s.RotateFeed(r, userOf(r).ID)
		if err != nil {
			return nil, err
		}
		return map[string]string{"url": u}, nil
	})
}

// RotateFeed gives user userID a new feed secret and returns the feed's
// URL; the URL before stops working.
func (s *Server) RotateFeed(r *http.Request, userID int64) (string, error) {
	secret := rand.Text()
	if err := s.store.SetFeedSecret(r.Context(), userID, secret, s.now()); err != nil {
		return "", err
	}
	return FeedURL(s.base.String(), secret), nil
}

// FeedURL is the feed of secret under a UI reached at base.
func FeedURL(base, secret string) string { return base + "/feed/" + secret }

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	u, err := s.store.FeedUser(r.Context(), r.PathValue("secret"))
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such feed (its URL may have been replaced by a new one)", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("feed", "err", err)
		http.Error(w, "the feed cannot be read now", http.StatusInternalServerError)
		return
	}
	feed, err := s.atomFeed(r, u)
	if err != nil {
		s.log.Error("feed", "user", u.Name, "err", err)
		http.Error(w, "the feed cannot be read now", http.StatusInternalServerError)
		return
	}
	body, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		s.log.Error("feed", "user", u.Name, "err", err)
		http.Error(w, "the feed cannot be made now", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	// The URL is the credential: keep it out of caches and referrers.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// atomFeed is RFC 4287's feed of u's latest notifications.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

func (s *Server) atomFeed(r *http.Request, u store.User) (*atomFeed, error) {
	ns, err := s.store.ListNotifications(r.Context(), store.NotificationQuery{User: u.Name, Limit: feedEntries})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = n.MsgKey
	}
	msgs, err := s.store.MessagesByKey(r.Context(), keys)
	if err != nil {
		return nil, err
	}
	base := s.base.String()
	// The feed's id stays the same across rotations: a reader that is
	// given the new URL sees the same feed.
	f := &atomFeed{
		ID:      "tag:" + s.base.Host + ",2026:hark/feed/" + strconv.FormatInt(u.ID, 10),
		Title:   "hark notifications for " + u.Name,
		Updated: atomTime(u.Created),
		Author:  atomPerson{Name: "hark"},
		Links:   []atomLink{{Rel: "alternate", Href: base + "/history"}},
	}
	var newest time.Time
	for _, n := range ns {
		m := msgs[n.MsgKey]
		d := describedAs(m)
		title := d.Title
		if d.Subtitle != "" {
			title = d.Subtitle
		}
		if title == "" {
			title = m.Topic
		}
		if title == "" {
			title = n.MsgKey
		}
		e := atomEntry{
			ID:      "tag:" + s.base.Host + ",2026:hark/notification/" + strconv.FormatInt(n.ID, 10),
			Title:   title,
			Updated: atomTime(n.Created),
			Links:   []atomLink{{Rel: "via", Href: base + "/history#n-" + strconv.FormatInt(n.ID, 10)}},
			Summary: atomText{Type: "text", Text: fmt.Sprintf("%s\n\nTopic: %s\nFilter: %s", d.Title, m.Topic, n.FilterName)},
		}
		if !m.Timestamp.IsZero() {
			e.Published = atomTime(m.Timestamp)
		}
		if d.Link != "" {
			e.Links = append(e.Links, atomLink{Rel: "alternate", Href: d.Link})
		}
		if d.App != "" {
			e.Categories = append(e.Categories, atomCategory{Term: d.App})
		}
		for _, p := range d.Packages {
			e.Categories = append(e.Categories, atomCategory{Term: p})
		}
		if n.Created.After(newest) {
			newest = n.Created
		}
		f.Entries = append(f.Entries, e)
	}
	if !newest.IsZero() {
		f.Updated = atomTime(newest)
	}
	return f, nil
}

// atomTime is t as RFC 3339, which Atom's dates are.
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
