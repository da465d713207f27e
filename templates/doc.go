// Package templates embeds hark's web pages and its email and IRC message
// templates in the binary (//go:embed), so a deployment is one file. Each
// kind has its own file here declaring its embedded tree; the packages
// that render them (ui, delivery) parse them once at start.
package templates
