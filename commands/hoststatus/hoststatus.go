// Package hoststatus is the hoststatus command: the delivery state of one
// destination domain (asyncos-cli-2.md §4.2). `hoststatus` asks for the
// domain (wording [U]: ours is `Enter the domain or host to show the
// status of.`); `hoststatus DOMAIN` is the batch form [V CARD].
//
// The state comes from what delivers mail: the queue (the domain's active
// recipients, those attempted, the oldest message and the next retry),
// the delivery events of the running MTA since it started (the last
// connection to the domain, up or down, its last error, recipients
// delivered, bounced and delayed), and the committed configuration (the
// SMTP route and the destination controls' TLS that apply). AsyncOS's
// `Virtual Gateway(tm)` blocks are left out: esash has no virtual
// gateways. A domain with nothing queued, no event and no route of its
// own is `No record of host: DOMAIN` [S], as AsyncOS says of a host it
// never delivered to.
package hoststatus

import (
	"fmt"
	"strings"
	"time"

	"esash/config"
	"esash/shell"
)

// Queued is one queued message as seen for the domain.
type Queued struct {
	Time       time.Time
	Recipients int // recipients in the domain
	Attempts   int
	NextTry    time.Time
}

// Host is the delivery state of one domain.
type Host struct {
	// Running: an MTA runs in this process and Events are its own.
	Running bool
	Events  Events
	Queue   []Queued
}

// Events are the delivery events for the domain since the MTA started.
type Events struct {
	// Up is "up" after a connection that worked, "down" after one that
	// failed, "" when none was made.
	Up           string
	LastActivity time.Time
	LastError    string
	Delivered    int64
	HardBounced  int64
	SoftBounced  int64
}

// Source reports a domain's delivery state.
type Source interface{ HostStatus(domain string) Host }

// Command is hoststatus.
type Command struct{ src Source }

// New returns the hoststatus command over src.
func New(src Source) Command { return Command{src: src} }

// Name implements shell.Command.
func (Command) Name() string { return "hoststatus" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Get the status of the given hostname" }

// Access implements shell.Accessor.
func (Command) Access() shell.Access { return shell.AccessRead }

// BatchUsage implements shell.BatchUsage.
func (Command) BatchUsage() string { return "hoststatus DOMAIN" }

// Run shows the domain's state.
func (c Command) Run(s *shell.Session, args []string) error {
	var domain string
	switch {
	case len(args) > 1:
		return shell.Invalid(s, "hoststatus", "give one domain, for example: hoststatus example.com")
	case len(args) == 1:
		if msg := config.CheckDomain(args[0]); msg != "" {
			return shell.Invalid(s, "domain", msg)
		}
		domain = args[0]
	default:
		var err error
		if domain, err = s.Ask("Enter the domain or host to show the status of.", "", config.CheckDomain); err != nil {
			return err
		}
	}
	domain = config.NormalizeDomain(domain)
	cfg := s.Head().Config
	h := c.src.HostStatus(domain)
	route, routed := config.RouteFor(cfg.Routes, domain)
	if len(h.Queue) == 0 && h.Events.LastActivity.IsZero() && !(routed && !strings.EqualFold(route.Domain, "ALL")) {
		s.Printf("No record of host: %s\n", domain)
		return nil
	}
	return s.Page(Render(domain, h, cfg, s.Now()))
}

// Render lays the state out in AsyncOS's order.
func Render(domain string, h Host, cfg *config.Config, now time.Time) string {
	var b strings.Builder
	row := func(label string, v any) { fmt.Fprintf(&b, "%-36s %v\n", label, v) }
	fmt.Fprintf(&b, "Host mail status for: '%s'\n", domain)
	fmt.Fprintf(&b, "Status as of:        %s\n", shell.Stamp(now))
	up := h.Events.Up
	switch {
	case !h.Running:
		up = "unknown (no esash serve runs on this data directory)"
	case up == "":
		up = "unknown (no connection since the MTA started)"
	}
	fmt.Fprintf(&b, "Host up/down:        %s\n", up)
	if h.Running {
		b.WriteString("\nCounters (since the MTA started):\n")
		row("  Soft Bounced Events", h.Events.SoftBounced)
		row("  Completed Recipients", h.Events.Delivered+h.Events.HardBounced)
		row("    Hard Bounced Recipients", h.Events.HardBounced)
		row("    Delivered Recipients", h.Events.Delivered)
	}
	var rcpts, attempted int
	var oldest, next time.Time
	for _, q := range h.Queue {
		rcpts += q.Recipients
		if q.Attempts > 0 {
			attempted += q.Recipients
		}
		if oldest.IsZero() || q.Time.Before(oldest) {
			oldest = q.Time
		}
		if !q.NextTry.IsZero() && (next.IsZero() || q.NextTry.Before(next)) {
			next = q.NextTry
		}
	}
	b.WriteString("\nGauges:\n")
	row("  Active Recipients", rcpts)
	row("    Unattempted Recipients", rcpts-attempted)
	row("    Attempted Recipients", attempted)
	row("  Oldest Message", stampOr(oldest, "No Messages"))
	row("  Next Retry", stampOr(next, "none scheduled"))
	row("  Last Activity", stampOr(h.Events.LastActivity, "none"))
	if h.Events.LastError != "" {
		row("  Last Error", h.Events.LastError)
	}
	b.WriteString("\nSMTP routes for this host:\n")
	if r, ok := config.RouteFor(cfg.Routes, domain); ok {
		fmt.Fprintf(&b, "  %s: %s\n", r.Domain, config.FormatRouteHosts(r.Hosts))
	} else {
		b.WriteString("  none: delivery by MX records\n")
	}
	b.WriteString("\nDestination controls TLS: " + destTLS(cfg, domain) + "\n")
	return b.String()
}

func stampOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return shell.Stamp(t)
}

// destTLS is the outbound TLS setting that applies to domain: its own
// destination controls entry, else the default.
func destTLS(cfg *config.Config, domain string) string {
	d := cfg.Destinations
	for _, e := range d.Entries {
		if strings.EqualFold(e.Domain, domain) && e.TLS != "" {
			return string(e.TLS) + " (entry " + e.Domain + ")"
		}
	}
	if d.Default.TLS == "" {
		return "default"
	}
	return string(d.Default.TLS) + " (default)"
}
