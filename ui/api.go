package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
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
		if c, ok := v.(createdValue); ok {
			writeJSON(w, http.StatusCreated, c.v)
			return
		}
		if a, ok := v.(acceptedValue); ok {
			writeJSON(w, http.StatusAccepted, a.v)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// createdValue is what an API call made, answered 201 Created.
type createdValue struct{ v any }

// created has serveAPI answer v with 201 Created.
func created(v any) any { return createdValue{v} }

// acceptedValue is what an API call queued to be done later, answered
// 202 Accepted: it has not happened yet, and may still fail.
type acceptedValue struct{ v any }

// accepted has serveAPI answer v with 202 Accepted.
func accepted(v any) any { return acceptedValue{v} }

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
		return bodyProblem(err)
	}
	return nil
}

// bodyProblem says in words what is wrong with a JSON request body,
// naming the field at fault when there is one, rather than in Go's
// terms ("cannot unmarshal string into Go value of type []string").
func bodyProblem(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return invalid(typeErr.Field, "must be %s, not %s", jsonKind(typeErr.Type), jsonValueWords(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return &Problem{Status: http.StatusBadRequest, Message: fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &Problem{Status: http.StatusBadRequest, Message: "the body is empty or cut short: send a JSON object"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return invalid(field, "is not a field of this request: check its spelling")
	}
	// A field's own decoder (a destination reference) says what it wants.
	return &Problem{Status: http.StatusBadRequest, Message: "the body does not fit: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonKind is a Go type as JSON calls what it takes.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ")
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a JSON value"
}

// jsonValueWords is how UnmarshalTypeError's Value reads in a sentence.
func jsonValueWords(v string) string {
	switch v {
	case "string":
		return "text"
	case "number":
		return "a number"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	}
	return v
}
