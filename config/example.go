package config

import _ "embed"

// Example is a complete, commented configuration file documenting every
// key; `hark config example` prints it and a test checks it is valid.
//
//go:embed example.yaml
var Example string
