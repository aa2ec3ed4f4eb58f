package mta

import "esash/mta/queue"

// discardsAll reports whether every recipient of m is routed to /dev/null
// (smtproutes' discard). Such a message is removed without its bytes
// being read from the queue: reading them (a copy of the whole message
// per message, 100 KiB in the benchmark's cells) served nothing, and a
// message damaged on disk is discarded as a sound one would be, not kept
// for a retry that can never read it either. Postfix's discard agent does
// not read the message either.
func (oc *outCache) discardsAll(m queue.Meta) bool {
	for _, rcpt := range m.To {
		r, ok := oc.routes.RouteFor(domainOf(rcpt))
		if !ok || !r.Discards() {
			return false
		}
	}
	return len(m.To) > 0
}
