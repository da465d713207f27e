package ui

import (
	"net/http"
)

// maxBody bounds every request body: forms and JSON are small, and a
// filter import is the largest thing anyone sends.
const maxBody = 1 << 20

// contentSecurityPolicy allows only the UI's own scripts and styles (no
// inline script, so injected markup cannot run), message icons from
// anywhere over https, and no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secure sets the security headers on every response.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// Confirmation and unsubscribe URLs carry secrets: never leak
		// them to another site through Referer.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at maxBody; reading past it fails, and the
// handler's form or JSON decoding reports it.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h.ServeHTTP(w, r)
	})
}
