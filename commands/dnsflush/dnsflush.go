// Package dnsflush is the dnsflush command: it empties the DNS cache of
// the resolver dnsconfig configures (answers kept for their TTL or
// dnsconfig's minimum TTL) and the MTA's reverse-DNS cache, so the next
// look-ups ask the DNS servers again.
//
// Dialog (reference asyncos-cli-2 §2.5): one yes/no confirmation, then the
// main prompt. The wording is the library's recollection ("Are you sure
// you want to clear out the DNS cache?"); its default is unknown ([U]):
// esash defaults to N, as AsyncOS's other confirmations of actions that
// cannot be undone do. It takes no arguments. Nothing is staged: the
// cache is not configuration.
//
// The command never imports the MTA: it calls the Flusher the appliance
// wiring gives it.
package dnsflush

import "esash/shell"

// Flusher empties the DNS caches.
type Flusher interface{ FlushDNS() }

// Command is dnsflush.
type Command struct{ f Flusher }

// New returns the dnsflush command over f.
func New(f Flusher) Command { return Command{f: f} }

// Name implements shell.Command.
func (Command) Name() string { return "dnsflush" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Clear all entries from the DNS cache." }

// Run asks for confirmation and flushes.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "dnsflush", "takes no arguments")
	}
	ok, err := s.YesNo("Are you sure you want to clear out the DNS cache?", false)
	if err != nil || !ok {
		return err
	}
	c.f.FlushDNS()
	return nil
}
