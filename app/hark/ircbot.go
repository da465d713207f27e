package hark

import (
	"log/slog"

	"hark/config"
	"hark/delivery/irc"
)

// newIRCBot is the IRC bot of the irc section, answering commands
// through settings, or nil when irc.server is empty (IRC delivery off).
func newIRCBot(cfg *config.Config, settings irc.Settings, log *slog.Logger) (*irc.Bot, error) {
	c := cfg.IRC
	if c.Server == "" {
		return nil, nil
	}
	return irc.New(irc.Options{
		Server: c.Server, TLS: c.TLS, Nick: c.Nick,
		SASLUser: c.SASLUser, SASLPassword: c.SASLPassword, NickServPassword: c.NickServPassword,
		Channels: c.Channels, Interval: c.LineInterval, Burst: c.Burst, MaxLines: c.MaxLines,
		Settings: settings, RequireIdentified: c.RequireIdentified, Logger: log,
	})
}
