package ui

import (
	"net/http"
	"time"

	"hark/store"
)

func init() { register((*Server).accountRoutes) }

// maxTokenName bounds an API token's name.
const maxTokenName = 100

func (s *Server) accountRoutes(rt *Routes) {
	rt.Page("GET /account", s.show(s.accountView))
	rt.Page("POST /account/timezone", func(w http.ResponseWriter, r *http.Request) {
		s.finishWith(w, r, s.setTimezone(r, userOf(r), r.PostFormValue("timezone")), "/account", s.accountView, "Time zone saved.")
	})
	rt.Page("POST /account/password", func(w http.ResponseWriter, r *http.Request) {
		err := s.changePassword(r, userOf(r), r.PostFormValue("current"), r.PostFormValue("password"))
		s.finishWith(w, r, err, "/account", s.accountView, "Password changed.")
	})
	rt.Page("POST /account/tokens", s.createTokenPage)
	rt.Page("POST /account/tokens/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.finishWith(w, r, s.revokeToken(r), "/account", s.accountView, "Token revoked.")
	})
	rt.Page("POST /account/delete", func(w http.ResponseWriter, r *http.Request) {
		u := userOf(r)
		if r.PostFormValue("confirm") != u.Name {
			s.finish(w, r, invalid("confirm", "type your user name, %s, to delete your account", u.Name), "", s.accountView)
			return
		}
		if err := s.store.DeleteUser(r.Context(), u.Name); err != nil {
			s.fail(w, r, err)
			return
		}
		s.logout(w, r)
	})

	rt.API("GET /account", func(r *http.Request) (any, error) { return accountJSON(userOf(r)), nil })
	rt.API("PUT /account/timezone", func(r *http.Request) (any, error) {
		var in struct {
			Timezone string `json:"timezone"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return nil, s.setTimezone(r, userOf(r), in.Timezone)
	})
	rt.API("PUT /account/password", func(r *http.Request) (any, error) {
		var in struct {
			Current  string `json:"current"`
			Password string `json:"password"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return nil, s.changePassword(r, userOf(r), in.Current, in.Password)
	})
	rt.API("DELETE /account", func(r *http.Request) (any, error) {
		return nil, s.store.DeleteUser(r.Context(), userOf(r).Name)
	})
	rt.API("GET /tokens", func(r *http.Request) (any, error) {
		return s.store.ListAPITokens(r.Context(), userOf(r).ID)
	})
	rt.API("POST /tokens", func(r *http.Request) (any, error) {
		var in struct {
			Name string `json:"name"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		tok, secret, err := s.createToken(r, in.Name)
		return struct {
			store.APIToken
			Secret string `json:"secret"`
		}{tok, secret}, err
	})
	rt.API("DELETE /tokens/{id}", func(r *http.Request) (any, error) { return nil, s.revokeToken(r) })
}

// accountData is what the account page shows besides the user.
type accountData struct {
	Tokens   []store.APIToken
	NewToken string // the secret of a token just made, shown once
	Local    bool   // the user has a password here (not only OIDC)
}

func (s *Server) accountView(r *http.Request) (string, View, error) {
	u := userOf(r)
	tokens, err := s.store.ListAPITokens(r.Context(), u.ID)
	return "account.html", View{Title: "Account", Data: accountData{Tokens: tokens, Local: u.PasswordHash != ""}}, err
}

// accountJSON is the user as the API shows them: never the hash.
func accountJSON(u store.User) any {
	return struct {
		Name     string `json:"name"`
		Admin    bool   `json:"admin"`
		Timezone string `json:"timezone"`
	}{u.Name, u.Admin, u.Timezone}
}

func (s *Server) setTimezone(r *http.Request, u store.User, tz string) error {
	if len(tz) > 64 {
		return invalid("timezone", "is longer than 64 characters")
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return invalid("timezone", "%q is not an IANA time zone like Europe/Prague or UTC", tz)
	}
	return s.store.SetUserTimezone(r.Context(), u.Name, tz)
}

// changePassword sets a new password; a user who has one must give it.
func (s *Server) changePassword(r *http.Request, u store.User, current, password string) error {
	if u.PasswordHash != "" && !store.CheckPassword(u.PasswordHash, current) {
		return invalid("current", "is not your current password")
	}
	if p := checkPassword("password", password); p != nil {
		return p
	}
	hash, err := store.HashPassword(password)
	if err != nil {
		return err
	}
	return s.store.SetPasswordHash(r.Context(), u.Name, hash)
}

// createToken makes an API token; the secret is returned once.
func (s *Server) createToken(r *http.Request, name string) (store.APIToken, string, error) {
	switch {
	case name == "":
		return store.APIToken{}, "", invalid("name", "is required (say what the token is for)")
	case len(name) > maxTokenName:
		return store.APIToken{}, "", invalid("name", "is longer than %d characters", maxTokenName)
	}
	secret := "hark_" + randomSecret()
	tok, err := s.store.CreateAPIToken(r.Context(), userOf(r).ID, name, secret, s.now())
	return tok, secret, err
}

func (s *Server) createTokenPage(w http.ResponseWriter, r *http.Request) {
	name, err := text(r, "name", maxTokenName)
	var secret string
	if err == nil {
		_, secret, err = s.createToken(r, name)
	}
	if err != nil {
		s.finish(w, r, err, "", s.accountView)
		return
	}
	page, v, err := s.accountView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := v.Data.(accountData)
	d.NewToken = secret
	v.Data = d
	v.Notice, v.NoticeKind = "Token created: copy it now, it is not shown again.", noticeOK
	s.render(w, r, http.StatusOK, page, v)
}

func (s *Server) revokeToken(r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.store.RevokeAPIToken(r.Context(), userOf(r).ID, id)
}
