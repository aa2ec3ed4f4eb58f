// Package showqueue is the showqueue command: the messages the MTA holds
// in its queue, with their envelope, the connection that brought them and
// its TLS. `showqueue` lists them; `showqueue MID` shows one in detail,
// with the Received header the appliance added.
//
// The command reads the queue through the Queue interface below: commands
// never import the MTA; the appliance wiring adapts it.
package showqueue

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"esash/shell"
)

// Message is one queued message as the status commands show it.
type Message struct {
	MID, ICID  int64
	Time       time.Time
	Size       int64
	From       string
	To         []string
	Listener   string
	RemoteIP   string
	RemoteHost string
	HELO       string
	TLS        string    // "TLSv1.3 TLS_AES_128_GCM_SHA256", "" for plaintext
	Received   string    // the Received header added on arrival (detail only)
	Attempts   int       // delivery attempts that deferred
	NextTry    time.Time // when the next attempt may start
}

// Queue is what showqueue reads.
type Queue interface {
	// Messages lists the queued messages, oldest first, without their
	// Received headers (a large queue lists without reading its disk).
	Messages() []Message
	// Received is one message's Received header.
	Received(mid int64) string
}

// Command is showqueue.
type Command struct{ q Queue }

// New returns the showqueue command over q.
func New(q Queue) Command { return Command{q: q} }

// Name implements shell.Command.
func (Command) Name() string { return "showqueue" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Display the messages in the work queue." }

// Run implements shell.Command.
func (c Command) Run(s *shell.Session, args []string) error {
	msgs := c.q.Messages()
	if len(args) > 0 {
		mid, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || len(args) > 1 {
			return shell.Invalid(s, "showqueue", "give a message ID (MID), for example: showqueue 12")
		}
		for _, m := range msgs {
			if m.MID == mid {
				m.Received = c.q.Received(mid)
				return s.Page(detail(m))
			}
		}
		return fmt.Errorf("MID %d is not in the queue", mid)
	}
	if len(msgs) == 0 {
		s.Println("There are no messages in the queue.")
		return nil
	}
	var total int64
	for _, m := range msgs {
		total += m.Size
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Messages in the queue: %d (%d bytes)\n\n", len(msgs), total)
	fmt.Fprintf(&b, "%-10s %-10s %-10s %-30s %s\n", "MID/", "ICID/", "Bytes/", "Sender/", "TLS")
	fmt.Fprintf(&b, "%-10s %-10s %-10s %s\n", "[RID]", "", "", "Recipient")
	for _, m := range msgs {
		tlsText := m.TLS
		if tlsText == "" {
			tlsText = "none"
		}
		fmt.Fprintf(&b, "%-10d %-10d %-10d %-30s %s\n", m.MID, m.ICID, m.Size, "<"+m.From+">", tlsText)
		for i, r := range m.To {
			fmt.Fprintf(&b, "%-10s %-10s %-10s %s\n", fmt.Sprintf("[%d]", i), "", "", r)
		}
	}
	return s.Page(b.String())
}

func detail(m Message) string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-14s %s\n", k+":", v) }
	row("MID", strconv.FormatInt(m.MID, 10))
	row("ICID", strconv.FormatInt(m.ICID, 10))
	row("Received at", m.Time.Format("Mon Jan _2 15:04:05 2006"))
	row("Size", fmt.Sprintf("%d bytes", m.Size))
	row("Listener", m.Listener)
	host := m.RemoteHost
	if host == "" {
		host = "unknown"
	}
	row("Client", fmt.Sprintf("%s (%s) HELO %s", m.RemoteIP, host, m.HELO))
	tlsText := m.TLS
	if tlsText == "" {
		tlsText = "none"
	}
	row("TLS", tlsText)
	row("From", "<"+m.From+">")
	for i, r := range m.To {
		row(fmt.Sprintf("RID %d", i), "<"+r+">")
	}
	if m.Attempts > 0 {
		row("Attempts", fmt.Sprintf("%d deferred; next attempt %s", m.Attempts, m.NextTry.Format("Mon Jan _2 15:04:05 2006")))
	}
	b.WriteString("\n")
	b.WriteString(strings.ReplaceAll(m.Received, "\r\n", "\n"))
	b.WriteString("\n")
	return b.String()
}
