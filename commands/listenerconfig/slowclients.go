package listenerconfig

import (
	"fmt"

	"esash/config"
	"esash/shell"
)

// slowClients is EDIT > SETUP > SLOWCLIENTS: esash's limits on slow and
// idle clients (config.SlowClients). AsyncOS has no such questions: its
// global SETUP asks only for the "timeout for unsuccessful inbound
// connections" and the "maximum connection time", which esash enforces
// too. These are asked in their own SETUP item, after Postfix's
// stress-dependent settings, so that no AsyncOS script meets a question
// it does not answer.
func (e *editor) slowClients(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	cur := l.SlowClients
	eff := cur.Effective()
	next := cur
	keep := func(dst *int, n, eff, cur int) {
		if n != eff || cur != 0 {
			*dst = n
		}
	}
	n, err := s.AskInt(fmt.Sprintf("Enter the percentage of the maximum concurrent connections (%d) from which this listener counts as under load.", l.MaxConnections), eff.StressPercent, 1, 100)
	if err != nil {
		return err
	}
	keep(&next.StressPercent, n, eff.StressPercent, cur.StressPercent)
	a, err := s.Ask("Enter the timeout for each SMTP command while the listener is under load.", formatDuration(eff.StressTimeout), func(a string) string {
		if n, ok := parseDuration(a); !ok || n < 1 || n > 300 {
			return "The value must be a time from 1s to 5m: a number of seconds, or a number followed by s or m."
		}
		return ""
	})
	if err != nil {
		return err
	}
	n, _ = parseDuration(a)
	keep(&next.StressTimeout, n, eff.StressTimeout, cur.StressTimeout)
	if n, err = s.AskInt("Enter the percentage of the maximum concurrent connections that connections which have not sent a message may hold. A new connection takes the place of the one of them that has been silent longest.", eff.IdlePercent, 1, 100); err != nil {
		return err
	}
	keep(&next.IdlePercent, n, eff.IdlePercent, cur.IdlePercent)
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.SlowClients = next
		return nil
	})
}
