package main

import (
	"fmt"
	"testing"
	"time"

	"esash/commands/hoststatus"
	"esash/commands/status"
	"esash/maillog"
)

// TestMailStatsCount: each mail_logs event, in the format package maillog
// writes, moves the counters it stands for, and a domain's state follows
// its connections.
func TestMailStatsCount(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	line := func(msg string) string { return "Thu Nov 26 21:00:00 2026 Info: " + msg }
	m := &mailStats{hosts: map[string]*hoststatus.Events{}, dcids: map[int64]string{9: "example.org"}}
	for _, msg := range []string{
		maillog.MIDTo(1, 1, 0, "a@example.org"),
		maillog.MIDTo(1, 1, 1, "b@example.org"),
		maillog.MIDToRejected(1, 1, "c@example.org", "RAT"),
		maillog.MIDReady(1, 100, "x@example.com"),
		maillog.MessageDone(9, 1, []int{0, 1}),
		maillog.Delayed(9, 2, []int{0}, "4.0.0", "421 try later"),
		maillog.Bounced(9, 3, []int{0}, "5.1.1", "550 no such user"),
		maillog.ConnectionError(10, "Example.NET", "127.0.0.1", 25, "connect", "127.0.0.2", "connection refused"),
		"not a log line",
		// Lines that count nothing, close to those that do.
		maillog.StartMID(1, 1), maillog.MIDFrom(1, 1, "x@example.com"), maillog.MIDQueued(1),
		"MID ready 100 bytes", "MID 1 ICID To: <d@example.org>", "MID 1 ICID 1 RID To: <e@example.org>",
	} {
		m.count(line(msg), now)
	}
	want := status.Counters{MessagesReceived: 1, RecipientsReceived: 2, RejectedRecipients: 1,
		SoftBouncedEvents: 1, HardBouncedRecipients: 1, DeliveredRecipients: 2}
	if m.ct != want {
		t.Errorf("counters %+v, want %+v", m.ct, want)
	}
	org := m.hosts["example.org"]
	if org == nil || org.Up != "up" || org.Delivered != 2 || org.SoftBounced != 1 || org.HardBounced != 1 || org.LastError != "550 no such user" {
		t.Errorf("example.org: %+v", org)
	}
	net := m.hosts["example.net"]
	if net == nil || net.Up != "down" || net.LastError != "connection refused" || !net.LastActivity.Equal(now) {
		t.Errorf("example.net: %+v", net)
	}
}

// TestMailStatsForgetsClosedConnections: the DCID -> domain map keeps a
// delivery connection only while it is open; without "DCID n close"
// forgetting it, a daemon would grow one entry per connection it ever
// made.
func TestMailStatsForgetsClosedConnections(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	line := func(msg string) string { return "Thu Nov 26 21:00:00 2026 Info: " + msg }
	m := &mailStats{hosts: map[string]*hoststatus.Events{}, dcids: map[int64]string{}}
	for dcid := int64(1); dcid <= 100; dcid++ {
		m.dcids[dcid] = "example.org" // as "Delivery start" records it
		m.count(line(maillog.MessageDone(dcid, dcid, []int{0})), now)
		m.count(line(maillog.DCIDClose(dcid)), now)
	}
	if len(m.dcids) != 0 {
		t.Errorf("%d closed connections are still remembered", len(m.dcids))
	}
	if h := m.hosts["example.org"]; h == nil || h.Delivered != 100 {
		t.Errorf("example.org: %+v", h)
	}
}

// TestMailStatsHostsBounded: the per-domain counters keep at most
// maxHostStats domains, forgetting the one idle longest: the domains come
// from mail (a bounce goes to whatever domain a sender claimed), so
// without a bound anyone who can send mail grows the daemon's memory.
func TestMailStatsHostsBounded(t *testing.T) {
	start := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	line := func(msg string) string { return "Thu Nov 26 21:00:00 2026 Info: " + msg }
	m := &mailStats{hosts: map[string]*hoststatus.Events{}, dcids: map[int64]string{}}
	for i := range maxHostStats + 10 {
		dom := fmt.Sprintf("d%d.example", i)
		m.count(line(maillog.ConnectionError(int64(i), dom, "127.0.0.1", 25, "connect", "127.0.0.2", "refused")), start.Add(time.Duration(i)*time.Second))
	}
	if len(m.hosts) != maxHostStats {
		t.Errorf("%d domains kept, want %d", len(m.hosts), maxHostStats)
	}
	if m.hosts["d0.example"] != nil || m.hosts[fmt.Sprintf("d%d.example", maxHostStats+9)] == nil {
		t.Error("not the domain idle longest was forgotten")
	}
}
