package main

import (
	"os"
	"testing"

	"hark/internal/testpeer"
)

// TestMain stops the private RabbitMQ node that the tests breaking a
// broker start for this binary.
func TestMain(m *testing.M) {
	code := m.Run()
	testpeer.StopPrivateRabbitMQ()
	os.Exit(code)
}
