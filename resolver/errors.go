package resolver

import "errors"

// errServerFailure is wrapped by the error of a server that answered with
// an error code (SERVFAIL, REFUSED, ...): the question passes to the next
// server, and Stats counts it as a server failure, not a network error.
var errServerFailure = errors.New("the server answered with an error code")

// errNotReply and errOtherQuestion are a server's message that is not
// the answer to the question sent (checkReply): the question passes to
// the next server, and Stats counts it as a network error.
var (
	errNotReply      = errors.New("not a reply: the QR bit is not set")
	errOtherQuestion = errors.New("the reply is to another question")
)
