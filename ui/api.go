package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// apiPrefix is where the JSON API lives; its version is in the path so a
// changed API can live beside the old one.
const apiPrefix = "/api/v1"

// APIHandler answers one API call: the value to send as JSON (nil: 204 No
// Content), or an error (a *Problem for the caller's mistakes).
type APIHandler func(r *http.Request) (any, error)

// apiPattern puts the API prefix into "METHOD /path".
func apiPattern(pattern string) string {
	method, p, ok := strings.Cut(pattern, " ")
	if !ok {
		return apiPrefix + pattern
	}
	return method + " " + apiPrefix + p
}

// serveAPI adapts h to http: JSON out, errors as {"error", "fields"}.
func (s *Server) serveAPI(h APIHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			status, msg := s.errorStatus(r, err)
			p := &Problem{Message: msg}
			if errors.As(err, &p) {
				p = &Problem{Message: msg, Fields: p.Fields}
			}
			writeJSON(w, status, p)
			return
		}
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// unauthorizedJSON answers an API call without a valid session or token.
func unauthorizedJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hark"`)
	writeJSON(w, http.StatusUnauthorized, &Problem{Message: "log in or send Authorization: Bearer TOKEN"})
}

// decodeJSON reads r's body into v strictly: unknown fields are errors,
// so a typo does not silently do nothing.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &Problem{Status: http.StatusBadRequest, Message: fmt.Sprintf("decode request body: %v", err)}
	}
	return nil
}
