package templates

import "embed"

// HTML is the web UI: html/template pages under html/ (layout.html is the
// shared frame every page fills in) and the CSS and JavaScript the pages
// load from html/static/.
//
//go:embed html
var HTML embed.FS
