package hark

import (
	"log/slog"

	"hark/config"
	"hark/delivery/chatcmd"
	"hark/delivery/matrix"
)

// newMatrixBot is the Matrix bot of the matrix section, or nil when
// matrix.homeserver is empty (Matrix delivery off).
func newMatrixBot(cfg *config.Config, settings chatcmd.Settings, log *slog.Logger) (*matrix.Bot, error) {
	c := cfg.Matrix
	if c.Homeserver == "" {
		return nil, nil
	}
	return matrix.New(matrix.Options{Homeserver: c.Homeserver, UserID: c.UserID, AccessToken: c.AccessToken, DeviceID: c.DeviceID,
		RateLimit: c.RateLimit, Burst: c.Burst, Settings: settings, Log: log})
}
