// Package status is the status command: system status, the mail counters
// since the MTA started, and the queue's gauges, in AsyncOS's layout
// (asyncos-cli-2.md §4.1, [S IAF labels; spacing ours]). `status` and
// `status detail` are its forms; it asks no question.
//
// What esash reports and how: the counters count the MTA's own events as
// it logs them to mail_logs (a message queued, a recipient accepted or
// rejected, delivered, bounced, delayed), from the moment the MTA started
// in this process; a script run with no daemon has no running MTA, says
// so in `System status:` and shows the queue only. The gauges are read
// from the queue itself. Rows AsyncOS has for engines or hardware esash
// does not have (feature keys, anti-spam CPU, quarantine, RAM) are left
// out rather than shown with invented values; the reference marks the
// column headers and `System status:` values as [U]: ours are `Reset
// Uptime Lifetime` reduced to one column, `Uptime`, since esash keeps no
// lifetime totals, and `Online` / `Offline`.
package status

import (
	"fmt"
	"strings"
	"time"

	"esash/shell"
)

// Counters are the MTA's events since it started.
type Counters struct {
	MessagesReceived, RecipientsReceived, RejectedRecipients      int64
	SoftBouncedEvents, HardBouncedRecipients, DeliveredRecipients int64
}

// Message is one queued message, as the gauges need it.
type Message struct {
	Time       time.Time
	Recipients int
	Attempted  bool
	Size       int64
}

// Snapshot is what status shows.
type Snapshot struct {
	// Running: the MTA runs in this process (daemon or console); Since
	// is when it started.
	Running  bool
	Since    time.Time
	Counters Counters
	Queue    []Message
}

// Source takes a snapshot of the appliance.
type Source interface{ Status() Snapshot }

// Command is status.
type Command struct{ src Source }

// New returns the status command over src.
func New(src Source) Command { return Command{src: src} }

// Name implements shell.Command.
func (Command) Name() string { return "status" }

// Summary implements shell.Command.
func (Command) Summary() string { return "System status" }

// Access implements shell.Accessor.
func (Command) Access() shell.Access { return shell.AccessRead }

// BatchUsage implements shell.BatchUsage.
func (Command) BatchUsage() string { return "status\nstatus detail" }

// Run prints the status.
func (c Command) Run(s *shell.Session, args []string) error {
	detail := false
	switch {
	case len(args) == 1 && strings.EqualFold(args[0], "detail"):
		detail = true
	case len(args) > 0:
		return shell.Invalid(s, "status", fmt.Sprintf("Unknown option %q: the forms are status and status detail", strings.Join(args, " ")))
	}
	return s.Page(Render(c.src.Status(), s.Now(), detail))
}

// Render lays the snapshot out as AsyncOS does.
func Render(sn Snapshot, now time.Time, detail bool) string {
	var b strings.Builder
	row := func(label string, v any) { fmt.Fprintf(&b, "%-40s %12v\n", label, v) }
	fmt.Fprintf(&b, "Status as of:                  %s\n", shell.Stamp(now))
	if sn.Running {
		fmt.Fprintf(&b, "Up since:                      %s (%s)\n", shell.Stamp(sn.Since), uptime(now.Sub(sn.Since)))
		fmt.Fprintf(&b, "Last counter reset:            %s\n", shell.Stamp(sn.Since))
		b.WriteString("System status:                 Online\n")
	} else {
		b.WriteString("System status:                 Offline (no esash serve runs on this data directory; the queue is shown as stored)\n")
	}
	var oldest time.Time
	var rcpts, attempted, bytes int64
	for _, m := range sn.Queue {
		if oldest.IsZero() || m.Time.Before(oldest) {
			oldest = m.Time
		}
		rcpts += int64(m.Recipients)
		if m.Attempted {
			attempted += int64(m.Recipients)
		}
		bytes += m.Size
	}
	if oldest.IsZero() {
		b.WriteString("Oldest Message:                No Messages\n")
	} else {
		fmt.Fprintf(&b, "Oldest Message:                %s\n", uptime(now.Sub(oldest)))
	}
	if sn.Running {
		ct := sn.Counters
		b.WriteString("\nCounters:                                      Uptime\n")
		row("  Messages Received", ct.MessagesReceived)
		row("  Recipients Received", ct.RecipientsReceived)
		row("  Rejected Recipients", ct.RejectedRecipients)
		row("  Soft Bounced Events", ct.SoftBouncedEvents)
		row("  Completed Recipients", ct.HardBouncedRecipients+ct.DeliveredRecipients)
		row("    Hard Bounced Recipients", ct.HardBouncedRecipients)
		row("    Delivered Recipients", ct.DeliveredRecipients)
		if detail {
			hours := now.Sub(sn.Since).Hours()
			b.WriteString("\nRates (Events Per Hour, since start):\n")
			rate := func(label string, n int64) {
				r := float64(n)
				if hours > 0 {
					r = float64(n) / hours
				}
				fmt.Fprintf(&b, "%-40s %12.0f\n", label, r)
			}
			rate("  Messages Received", ct.MessagesReceived)
			rate("  Recipients Received", ct.RecipientsReceived)
			rate("  Soft Bounced Events", ct.SoftBouncedEvents)
			rate("  Hard Bounced Recipients", ct.HardBouncedRecipients)
			rate("  Delivered Recipients", ct.DeliveredRecipients)
		}
	}
	b.WriteString("\nGauges:                                       Current\n")
	row("  Active Recipients", rcpts)
	row("    Unattempted Recipients", rcpts-attempted)
	row("    Attempted Recipients", attempted)
	row("  Messages In Work Queue", len(sn.Queue))
	row("  Kilobytes Used", (bytes+1023)/1024)
	return b.String()
}

// uptime is "1d 2h 3m 4s", as AsyncOS writes durations.
func uptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	sec := (d - m*time.Minute) / time.Second
	if days > 0 {
		return fmt.Sprintf("%dd %dh %dm %ds", days, h, m, sec)
	}
	return fmt.Sprintf("%dh %dm %ds", h, m, sec)
}
