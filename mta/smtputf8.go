package mta

import (
	"fmt"

	"esash/maillog"
	"esash/mta/queue"
)

// Internationalized addresses (RFC 6531). A sender or recipient address
// with UTF-8 in it may only be sent to a server that offers SMTPUTF8, with
// MAIL's SMTPUTF8 parameter; to any other server it would be mangled or
// misrouted. As Postfix's SMTP client does, such recipients bounce at once
// with 5.6.7 ("SMTPUTF8 is required, but was not offered by host ...")
// rather than being retried: the server will not learn SMTPUTF8 by the
// next attempt. Recipients in ASCII still go out when the sender is ASCII.
// Only the envelope decides (as Postfix's default
// smtputf8_autodetect_classes, which leaves headers alone).

// utf8Gate splits rids into the recipients that may be sent on c and
// bounces the others; utf8 says whether MAIL needs the SMTPUTF8 parameter.
func (s *Server) utf8Gate(c *smtpConn, dcid int64, t target, m queue.Meta, rids []int, results []outcome) (send []int, utf8 bool) {
	fromUTF8 := !isASCII(m.From)
	var refused []int
	for _, i := range rids {
		need := fromUTF8 || !isASCII(m.To[i])
		switch {
		case need && !c.has("SMTPUTF8"):
			refused = append(refused, i)
		default:
			send = append(send, i)
			utf8 = utf8 || need
		}
	}
	if len(refused) > 0 {
		host := t.host
		if host == "" {
			host = t.ip
		}
		text := fmt.Sprintf("SMTPUTF8 is required, but was not offered by host %s[%s]", host, t.ip)
		s.log.Infof("%s", maillog.Bounced(dcid, m.MID, ridsOf(m, refused), "5.6.7", text))
		setAll(results, refused, outcome{rcptBounced, "5.6.7", text})
	}
	return send, utf8
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
