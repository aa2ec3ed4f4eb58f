package config

// SlowClients limits what slow or idle clients can hold of a listener,
// beyond AsyncOS's global timeouts (listenerconfig SETUP: "timeout for
// unsuccessful inbound connections", "maximum connection time"), after
// Postfix's stress-dependent configuration: when the listener holds
// StressPercent of its maximum connections it is under load, and each
// command (each read of the client's input) must arrive within
// StressTimeout seconds instead of five minutes; connections that have
// not had a message accepted may hold at most IdlePercent of the maximum
// connections, and when that share or the maximum is reached a new
// connection takes the slot of the one of them that has been silent
// longest. Zero values mean the defaults below.
type SlowClients struct {
	StressPercent int `json:"stress_percent,omitempty"`         // 80
	StressTimeout int `json:"stress_command_timeout,omitempty"` // seconds, 10
	IdlePercent   int `json:"no_message_percent,omitempty"`     // 90
}

// Defaults of SlowClients: Postfix's stress timeout (10 s for 300 s), and
// load and share thresholds that leave a fifth, then a tenth, of the
// connections to clients that send mail.
const (
	DefaultStressPercent = 80
	DefaultStressTimeout = 10
	DefaultIdlePercent   = 90
)

// Effective is the settings with defaults for unset values.
func (s SlowClients) Effective() SlowClients {
	if s.StressPercent == 0 {
		s.StressPercent = DefaultStressPercent
	}
	if s.StressTimeout == 0 {
		s.StressTimeout = DefaultStressTimeout
	}
	if s.IdlePercent == 0 {
		s.IdlePercent = DefaultIdlePercent
	}
	return s
}

// slowClients checks a listener's SlowClients (p is the listener's path).
func (c *checker) slowClients(p string, s SlowClients) {
	for _, f := range []struct {
		key      string
		v, lo, h int
		unit     string
	}{
		{"stress_percent", s.StressPercent, 1, 100, "percent"},
		{"stress_command_timeout", s.StressTimeout, 1, 300, "seconds"},
		{"no_message_percent", s.IdlePercent, 1, 100, "percent"},
	} {
		if f.v != 0 && (f.v < f.lo || f.v > f.h) {
			c.errf(p+".slow_clients."+f.key, "The value must be a number of %s from %d to %d, not %d.", f.unit, f.lo, f.h, f.v)
		}
	}
}
