package listenerconfig

import (
	"fmt"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// globalSetup is listenerconfig SETUP: the settings shared by every
// listener. The SenderBase questions are stored only.
func globalSetup(s *shell.Session) error {
	g := s.Draft.Config().ListenSetup
	e := g.Effective()
	if err := askGlobalLimits(s, &g, e); err != nil {
		return err
	}
	if err := askSenderBaseCache(s, &g, e); err != nil {
		return err
	}
	if err := askGlobalTimers(s, &g, e); err != nil {
		return err
	}
	if err := askMessageHandling(s, &g, e); err != nil {
		return err
	}
	if err := askSetupInt(s, "Enter the maximum size of the subject, in bytes, to be logged.", &g.MaxSubjectLog, e.MaxSubjectLog, 1, 10000); err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.ListenSetup = g
		return nil
	})
}

// askSetupInt asks a number of SETUP, proposing the effective value eff.
// The answer is stored only when it differs from eff or a value was
// stored already, so that an untouched setting keeps following the default.
func askSetupInt(s *shell.Session, q string, cur *int, eff, lo, hi int) error {
	n, err := s.AskInt(q, eff, lo, hi)
	if err == nil && (n != eff || *cur != 0) {
		*cur = n
	}
	return err
}

// askSetupDuration is askSetupInt for a time in seconds, asked and shown
// in the 30s/5m/1h form.
func askSetupDuration(s *shell.Session, q string, cur *int, eff, lo, hi int) error {
	a, err := s.Ask(q, formatDuration(eff), func(a string) string {
		if n, ok := parseDuration(a); !ok || n < lo || n > hi {
			return fmt.Sprintf("The value must be a time from %s to %s: a number of seconds, or a number followed by s, m or h.", formatDuration(lo), formatDuration(hi))
		}
		return ""
	})
	if err == nil {
		if n, _ := parseDuration(a); n != eff || *cur != 0 {
			*cur = n
		}
	}
	return err
}

// askGlobalLimits asks the concurrency limits and the header line limit.
func askGlobalLimits(s *shell.Session, g *config.ListenSetup, e config.ListenSetup) error {
	if err := askSetupInt(s, "Enter the global limit for concurrent connections to be allowed across all listeners.", &g.MaxConcurrency, e.MaxConcurrency, 1, 10000); err != nil {
		return err
	}
	if err := askSetupInt(s, "Enter the global limit for concurrent TLS connections to be allowed across all listeners.", &g.MaxTLSConcurrency, e.MaxTLSConcurrency, 1, 10000); err != nil {
		return err
	}
	return askSetupInt(s, "Enter the maximum number of message header lines.", &g.MaxHeaderLines, e.MaxHeaderLines, 1, 100000)
}

// askSenderBaseCache asks how SenderBase data is cached, and for how long
// when the time is the user's own (stored only).
func askSenderBaseCache(s *shell.Session, g *config.ListenSetup, e config.ListenSetup) error {
	cache := []string{"auto", "off", "custom"}
	k, err := s.Choose("How would you like SenderBase data to be cached?", []string{
		"Allow SenderBase to determine cache time (Recommended)",
		"Don't cache SenderBase data.",
		"Specify your own cache time.",
	}, indexOr(cache, e.SenderBaseCache), false)
	if err != nil {
		return err
	}
	g.SenderBaseCache = cache[k]
	if g.SenderBaseCache != "custom" {
		g.SenderBaseTTL = 0
		return nil
	}
	ttl := g.SenderBaseTTL
	if ttl == 0 {
		ttl = 600
	}
	g.SenderBaseTTL, err = s.AskInt("Enter the time, in seconds, to cache SenderBase data:", ttl, 1, 86400)
	return err
}

// askGlobalTimers asks the counter reset rate and the two timeouts of
// inbound connections the MTA enforces.
func askGlobalTimers(s *shell.Session, g *config.ListenSetup, e config.ListenSetup) error {
	if err := askSetupDuration(s, "Enter the rate at which injection control counters are reset.", &g.CounterReset, e.CounterReset, 60, 86400); err != nil {
		return err
	}
	if err := askSetupDuration(s, "Enter the timeout for unsuccessful inbound connections.", &g.IdleTimeout, e.IdleTimeout, 1, 86400); err != nil {
		return err
	}
	return askSetupDuration(s, "Enter the maximum connection time for inbound connections.", &g.MaxConnTime, e.MaxConnTime, 1, 86400)
}

// askMessageHandling asks the Received: hostname, whether incoming
// messages get a Message-ID, and whether REJECT waits for the recipient.
func askMessageHandling(s *shell.Session, g *config.ListenSetup, e config.ListenSetup) error {
	recv := []string{"vgateway", "interface"}
	k, err := s.Choose("What hostname should Received: headers use?", []string{
		"The hostname of the Virtual Gateway(tm) used for delivering the message",
		"The hostname of the interface the message is received on",
	}, indexOr(recv, e.ReceivedHostname), false)
	if err != nil {
		return err
	}
	g.ReceivedHostname = recv[k]
	mid, err := s.YesNo("The system will always add a Message-ID header to outgoing messages that don't already have one. Would you like to do the same for incoming messages? (Not recommended.)", e.AddMessageID.EqualBool(true))
	if err != nil {
		return err
	}
	g.AddMessageID = config.NewOnOff(mid)
	rcpt, err := s.YesNo("By default connections with a HAT REJECT policy will be closed with a banner message at the start of the SMTP conversation. Would you like to do the rejection at the message recipient level instead for more detailed logging of rejected mail?", e.RejectAtRcpt.EqualBool(true))
	if err != nil {
		return err
	}
	g.RejectAtRcpt = config.NewOnOff(rcpt)
	return nil
}

func indexOr(list []string, v string) int {
	for i, e := range list {
		if e == v {
			return i + 1
		}
	}
	return 1
}

// formatDuration writes seconds as AsyncOS shows times: 1h, 5m, 30s.
func formatDuration(sec int) string {
	switch {
	case sec > 0 && sec%3600 == 0:
		return strconv.Itoa(sec/3600) + "h"
	case sec > 0 && sec%60 == 0:
		return strconv.Itoa(sec/60) + "m"
	}
	return strconv.Itoa(sec) + "s"
}

// parseDuration reads 90, 90s, 5m or 1h as seconds.
func parseDuration(a string) (int, bool) {
	if a == "" {
		return 0, false
	}
	mult := 1
	switch strings.ToLower(a[len(a)-1:]) {
	case "s":
		a = a[:len(a)-1]
	case "m":
		mult, a = 60, a[:len(a)-1]
	case "h":
		mult, a = 3600, a[:len(a)-1]
	}
	n, err := strconv.Atoi(a)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, false
	}
	return n * mult, true
}
