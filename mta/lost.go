package mta

import (
	"errors"
	"net"
)

// peerVanished tells whether a read error means the client went away: the
// end of the stream or a reset, as opposed to our own close (after QUIT
// go-smtp answers 221 and closes without reading again, so a client that
// says QUIT is never "lost") or a timeout (answered 421 by the server).
// AsyncOS logs such a connection "ICID n lost" before "ICID n close".
// One case escapes it: a TLS client that sends close_notify and then hangs
// up without QUIT ends go-smtp's read before our socket sees the end of
// the stream, so it is logged as closed, not lost.
func peerVanished(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}
