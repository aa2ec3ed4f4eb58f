// Package delivernow is the delivernow command: messages waiting in the
// queue for a retry (after a deferred delivery attempt) are made due at
// once, for one recipient domain or all of them. It acts on the running
// MTA at once, like AsyncOS's; there is nothing to commit.
//
// Dialog (wording as in the AsyncOS CLI reference, from memory: not
// checked against a 14.x appliance): a choice "1. By recipient domain /
// 2. All messages", then the domain. Batch: `delivernow DOMAIN` or
// `delivernow ALL`.
//
// The command never imports the MTA: it talks to the Rescheduler below.
package delivernow

import (
	"strings"

	"esash/config"
	"esash/shell"
)

// Rescheduler makes queued messages due now. domain "" is every message;
// it returns how many messages had a later retry time.
type Rescheduler interface {
	DeliverNow(domain string) int
}

// Command is delivernow.
type Command struct{ r Rescheduler }

// New returns the delivernow command over r.
func New(r Rescheduler) Command { return Command{r: r} }

// Name implements shell.Command.
func (Command) Name() string { return "delivernow" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Reschedule messages for immediate delivery." }

// Run implements shell.Command.
func (c Command) Run(s *shell.Session, args []string) error {
	var domain string
	switch {
	case len(args) > 1:
		return shell.Invalid(s, "delivernow", "usage: delivernow [DOMAIN|ALL]")
	case len(args) == 1 && strings.EqualFold(args[0], "ALL"):
	case len(args) == 1:
		if msg := config.CheckDomain(args[0]); msg != "" {
			return shell.Invalid(s, "domain", msg)
		}
		domain = args[0]
	default:
		i, err := s.Choose("Please choose an option for scheduling immediate delivery.",
			[]string{"By recipient domain", "All messages"}, 1, false)
		if err != nil {
			return err
		}
		if i == 0 {
			if domain, err = s.Ask("Please enter the domain to schedule for immediate delivery.", "", config.CheckDomain); err != nil {
				return err
			}
		}
	}
	n := c.r.DeliverNow(config.NormalizeDomain(domain))
	if domain == "" {
		s.Println("Rescheduling all messages for immediate delivery.")
	} else {
		s.Printf("Rescheduling all messages to %s for immediate delivery.\n", domain)
	}
	if n == 0 {
		s.Println("No message was waiting for a retry.")
	}
	return nil
}
