package resolver

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// checkReply says whether resp answers the question m sent. miekg/dns
// matches only the message ID; a server (or a port that echoes what it
// receives) may send back the question itself without the QR bit, or a
// reply to another question, which the resolver would take for the
// answer (an echo is an empty answer: "no such record", cached) and dig
// would print as it. RFC 5452 §9.1 and BIND's dig ("Question section
// mismatch") refuse them. Names compare without case (RFC 4343). A reply
// with no question section is taken only with an error code (some
// servers send FORMERR or NOTIMP so) or truncated over UDP (a header with
// TC, which only sends the question again over TCP), as BIND's resolver
// takes them.
func checkReply(m, resp *dns.Msg, udp bool) error {
	if !resp.Response {
		return errNotReply
	}
	if len(resp.Question) == 0 && (udp && resp.Truncated || resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError) {
		return nil
	}
	want := m.Question[0]
	if len(resp.Question) != 1 {
		return fmt.Errorf("%w (%s)", errOtherQuestion, questions(resp.Question))
	}
	if got := resp.Question[0]; !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
		return fmt.Errorf("%w (%s)", errOtherQuestion, questions(resp.Question))
	}
	return nil
}

// questions names a question section as dig writes a question: "name
// CLASS TYPE", the name escaped by miekg/dns.
func questions(qs []dns.Question) string {
	if len(qs) == 0 {
		return "none"
	}
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = strings.Join(strings.Fields(strings.TrimPrefix(q.String(), ";")), " ")
	}
	return strings.Join(out, ", ")
}
