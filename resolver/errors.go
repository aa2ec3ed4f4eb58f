package resolver

import "errors"

// errServerFailure is wrapped by the error of a server that answered with
// an error code (SERVFAIL, REFUSED, ...): the question passes to the next
// server, and Stats counts it as a server failure, not a network error.
var errServerFailure = errors.New("the server answered with an error code")
