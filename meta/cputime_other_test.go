//go:build !linux

package meta

import "testing"

// threadCPU runs fn; per-thread CPU time is measured on Linux only.
func threadCPU(_ *testing.B, fn func()) { fn() }
