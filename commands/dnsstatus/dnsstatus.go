// Package dnsstatus is the dnsstatus command: the DNS counters of the
// appliance's resolver (the one dnsconfig configures, which the MTA asks
// for MX, addresses, PTR and TLSA) and the sizes of the DNS caches. It
// asks no question, takes no argument, prints, and returns to the prompt
// (reference asyncos-cli-2 §2.5 [V CARD], [I-seq]).
//
// Layout and row names. The reference has AsyncOS's columns ("since
// counter reset / reboot / ever": Reset, Uptime, Lifetime [V CARD]) but
// marks the row names [U] (IAF does not parse them). The first six rows
// follow the example of the AsyncOS CLI Reference Guide as recalled, not
// verified ([U]): `DNS Requests`, `Network Requests`, `Cache Hits`,
// `Cache Misses`, `Cache Exceptions`, `Cache Expired`. esash keeps those
// that are a count it really has, in an order where each row is a part of
// the row above it (an indented row is a subset of the one above it, as
// in status):
//
//	DNS Requests            questions asked of the resolver
//	  Cache Hits            answered from the cache
//	  Cache Misses          not cached (the rest of the requests)
//	    Cache Expired       of the misses: cached, past its TTL
//	    Failed Requests     of the misses: no server answered
//	Network Requests        questions sent to DNS servers
//	  Answers               with records of the type asked
//	  NXDOMAIN Answers      the name does not exist
//	  No Data Answers       the name has no records of that type
//	  Server Failures       SERVFAIL, REFUSED or another error code
//	  Timeouts              no answer in time
//	  Network Errors        connection refused, unreachable, I/O
//	DNSSEC Authenticated    network answers with the AD bit
//
// `Cache Exceptions` is left out: esash has no such event (failures are
// not cached; they are Failed Requests). The rows after Network Requests
// are its outcomes, one each; a question that falls over from a dead
// server to the next is one request, two network requests, one timeout
// or error and one answer. A look-up of a host's addresses is two
// requests (A and AAAA); dig's questions, which bypass the cache, are not
// counted (resolver.Stats says what is).
//
// Columns: as status does (its package comment), Reset / Uptime /
// Lifetime are reduced to `Uptime`: esash keeps no lifetime totals and
// has no counter reset of its own, so the three would be the same number.
// The counters start with the MTA (`Last counter reset:` is when it
// started, as in status) and are process-wide: they survive a dnsconfig
// change, which builds a new resolver. dnsflush empties the caches and
// keeps the counters: flushing is cache maintenance, and counting the
// misses it causes is what an administrator watching the effect of a
// flush wants to see ([U]: AsyncOS's behaviour is not known).
//
// Gauges: `DNS Cache Entries`, the answers the resolver of the running
// dnsconfig settings holds now, and `Reverse DNS Names Cached`, the
// connecting hosts whose PTR name (and its forward confirmation) the MTA
// keeps for sender groups; dnsflush empties both. The reverse-name cache
// has no hit and miss rows: a hit there asks nothing, and its misses are
// the PTR and A/AAAA requests counted above.
//
// A script run with no daemon has no MTA in its process, hence no
// counters: like status, it says `Offline` and shows none rather than
// zeros, and does not start the MTA to show its empty counters.
//
// The command never imports the MTA: it reads the Source the appliance
// wiring gives it.
package dnsstatus

import (
	"fmt"
	"strings"
	"time"

	"esash/resolver"
	"esash/shell"
)

// Snapshot is what dnsstatus shows.
type Snapshot struct {
	// Running: the MTA runs in this process; Since is when it started,
	// and with it the counters.
	Running      bool
	Since        time.Time
	Counts       resolver.Counts
	CacheEntries int // answers cached by the running dnsconfig's resolver
	ReverseNames int // connecting hosts' reverse names cached
}

// Source takes a snapshot of the appliance's DNS.
type Source interface{ DNSStatus() Snapshot }

// Command is dnsstatus.
type Command struct{ src Source }

// New returns the dnsstatus command over src.
func New(src Source) Command { return Command{src: src} }

// Name implements shell.Command.
func (Command) Name() string { return "dnsstatus" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Display DNS statistics." }

// Access implements shell.Accessor.
func (Command) Access() shell.Access { return shell.AccessRead }

// BatchUsage implements shell.BatchUsage.
func (Command) BatchUsage() string { return "dnsstatus" }

// Run prints the statistics.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "dnsstatus", "takes no arguments")
	}
	return s.Page(Render(c.src.DNSStatus(), s.Now()))
}

// Render lays the snapshot out as status lays out its counters.
func Render(sn Snapshot, now time.Time) string {
	var b strings.Builder
	row := func(label string, v any) { fmt.Fprintf(&b, "%-40s %12v\n", label, v) }
	fmt.Fprintf(&b, "Status as of:                  %s\n", shell.Stamp(now))
	if !sn.Running {
		b.WriteString("DNS status:                    Offline (no esash serve runs on this data directory; only a running MTA counts DNS requests)\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Last counter reset:            %s\n", shell.Stamp(sn.Since))
	ct := sn.Counts
	b.WriteString("\nCounters:                                      Uptime\n")
	row("  DNS Requests", ct.Requests)
	row("    Cache Hits", ct.CacheHits)
	row("    Cache Misses", ct.CacheMisses)
	row("      Cache Expired", ct.CacheExpired)
	row("      Failed Requests", ct.FailedRequests)
	row("  Network Requests", ct.NetworkRequests)
	row("    Answers", ct.Answers)
	row("    NXDOMAIN Answers", ct.NXDomain)
	row("    No Data Answers", ct.NoData)
	row("    Server Failures", ct.ServerFailures)
	row("    Timeouts", ct.Timeouts)
	row("    Network Errors", ct.NetworkErrors)
	row("  DNSSEC Authenticated", ct.Authenticated)
	b.WriteString("\nGauges:                                       Current\n")
	row("  DNS Cache Entries", sn.CacheEntries)
	row("  Reverse DNS Names Cached", sn.ReverseNames)
	return b.String()
}
