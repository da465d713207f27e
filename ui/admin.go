package ui

import (
	"net/http"
	"strconv"
	"time"

	"hark/store"
)

func init() { register((*Server).adminRoutes) }

// deadLettersShown bounds the dead letters the admin page lists; the
// queue counts say how many there are in all.
const deadLettersShown = 100

func (s *Server) adminRoutes(rt *Routes) {
	rt.AdminPage("GET /admin", s.show(s.adminView))
	for _, disabled := range []bool{true, false} {
		verb := map[bool]string{true: "disable", false: "enable"}[disabled]
		rt.AdminPage("POST /admin/users/{name}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			s.finishWith(w, r, s.setDisabled(r, disabled), "/admin", s.adminView, "User "+r.PathValue("name")+" "+verb+"d.")
		})
		rt.AdminAPI("POST /admin/users/{name}/"+verb, func(r *http.Request) (any, error) { return nil, s.setDisabled(r, disabled) })
	}
	rt.AdminPage("POST /admin/dead/resend", func(w http.ResponseWriter, r *http.Request) {
		var ids []int64
		if v := r.PostFormValue("id"); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				s.finish(w, r, invalid("id", "%q is not a notification", v), "/admin", s.adminView)
				return
			}
			ids = []int64{id}
		}
		_, err := s.store.RequeueDead(r.Context(), ids, s.now())
		s.finishWith(w, r, err, "/admin", s.adminView, "Queued again for delivery.")
	})
	rt.AdminAPI("GET /admin", func(r *http.Request) (any, error) {
		a, err := s.adminData(r)
		if err != nil {
			return nil, err
		}
		return a.json(), nil
	})
	// Body {"ids": [...]}; no ids re-sends every dead letter.
	rt.AdminAPI("POST /admin/dead/resend", func(r *http.Request) (any, error) {
		var in struct {
			IDs []int64 `json:"ids"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		if len(in.IDs) > maxPageLimit {
			return nil, invalid("ids", "more than %d ids: send none to re-send them all", maxPageLimit)
		}
		n, err := s.store.RequeueDead(r.Context(), in.IDs, s.now())
		return map[string]int64{"requeued": n}, err
	})
}

// adminPage is what admin.html shows: every user, the queue by state and
// the latest dead letters.
type adminPage struct {
	Users []store.User
	Queue []stateCount // every state, in the order a notification lives
	Dead  []store.Notification
}

type stateCount struct {
	State store.State
	Count int64
}

func (s *Server) adminData(r *http.Request) (adminPage, error) {
	var a adminPage
	var err error
	if a.Users, err = s.store.ListUsers(r.Context()); err != nil {
		return a, err
	}
	depth, err := s.store.QueueDepth(r.Context())
	if err != nil {
		return a, err
	}
	for _, st := range []store.State{store.StateQueued, store.StateFailed, store.StateDead, store.StateSent} {
		a.Queue = append(a.Queue, stateCount{st, depth[st]})
	}
	a.Dead, err = s.store.DeadLetters(r.Context(), deadLettersShown)
	return a, err
}

func (s *Server) adminView(r *http.Request) (string, View, error) {
	a, err := s.adminData(r)
	return "admin.html", View{Title: "Admin", Data: a}, err
}

// setDisabled disables or enables the path's user. A disabled user's
// filters leave the matching index at the router's next reload (within
// a second) and they cannot log in; an admin cannot lock themselves out.
func (s *Server) setDisabled(r *http.Request, disabled bool) error {
	name := r.PathValue("name")
	if disabled && name == userOf(r).Name {
		return invalid("name", "you cannot disable yourself")
	}
	return s.store.SetUserDisabled(r.Context(), name, disabled)
}

type adminJSON struct {
	Users []adminUserJSON       `json:"users"`
	Queue map[store.State]int64 `json:"queue"`
	Dead  []adminDeadLetterJSON `json:"dead_letters"`
}

type adminUserJSON struct {
	Name     string    `json:"name"`
	Admin    bool      `json:"admin"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

type adminDeadLetterJSON struct {
	ID          int64     `json:"id"`
	MsgID       string    `json:"msg_id"`
	User        string    `json:"user"`
	Destination string    `json:"destination"`
	Filter      string    `json:"filter"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	Created     time.Time `json:"created"`
}

func (a adminPage) json() adminJSON {
	out := adminJSON{Users: []adminUserJSON{}, Queue: map[store.State]int64{}, Dead: []adminDeadLetterJSON{}}
	for _, q := range a.Queue {
		out.Queue[q.State] = q.Count
	}
	for _, u := range a.Users {
		out.Users = append(out.Users, adminUserJSON{u.Name, u.Admin, u.Disabled, u.Created})
	}
	for _, n := range a.Dead {
		out.Dead = append(out.Dead, adminDeadLetterJSON{n.ID, n.MsgKey, n.UserName, n.Destination, n.FilterName, n.Attempts, n.LastError, n.Created})
	}
	return out
}
