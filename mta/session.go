package mta

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
)

// Replies. Every refusal is an *smtp.SMTPError with generic text: nothing
// about the appliance's internals reaches the network.
var (
	errNeedTLS = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first"}
	errStorage = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Requested action aborted: local error in processing"}
	errTooManyMsgs = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many messages for this session; closing connection"}
	errRate = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Too many recipients received this hour"}
	// errRcptDenied is AsyncOS's answer to a recipient its RAT refuses,
	// enhanced code included in its own "#5.1.0" form, as Cisco appliances
	// send it (seen in senders' logs: "SMTP error from remote mail server
	// after RCPT TO:<...>: 550 #5.1.0 Address rejected.").
	errRcptDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.NoEnhancedCode,
		Message: "#5.1.0 Address rejected."}
	errNoService = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Service not available, closing transmission channel"}
	errBadSender = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7},
		Message: "Bad sender address syntax"}
	errBadRcpt = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3},
		Message: "Bad recipient address syntax"}
)

// backend is the go-smtp Backend of one listener generation. Sessions
// find their connection's facts through the net.Conn go-smtp holds.
type backend struct{ x *lrt }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	m := connOf(c.Conn())
	if m == nil {
		return nil, errNoService
	}
	return &session{m: m, c: c}, nil
}

// session is one SMTP transaction state between EHLO and QUIT (a new one
// starts after STARTTLS, which forgets everything said before it).
type session struct {
	m    *mconn
	c    *smtp.Conn
	mid  int64
	from string
	to   []string
	// txn: whether this session counts in Server.transactions (txnOpen),
	// and whether it was logged out (txnOver, final). Atomic: go-smtp's
	// Server.Close logs a session out from another goroutine, possibly
	// while the connection's goroutine is still inside Mail; a Mail that
	// returns after Logout must not count, since nothing uncounts it then.
	txn atomic.Int32
}

// The states of session.txn.
const (
	txnNone int32 = iota
	txnOpen
	txnOver
)

func (s *session) srv() *Server { return s.m.srv }

func (s *session) Reset() {
	s.endTxn()
	s.mid, s.from, s.to = 0, "", nil
}

func (s *session) Logout() error {
	if s.txn.Swap(txnOver) == txnOpen {
		s.srv().transactions.Add(-1)
	}
	return nil
}

// beginTxn counts the session's mail transaction as open (not after
// Logout); endTxn, once its message is handed to the queue or the
// transaction ends otherwise.
func (s *session) beginTxn() {
	if s.txn.CompareAndSwap(txnNone, txnOpen) {
		s.srv().transactions.Add(1)
	}
}

func (s *session) endTxn() {
	if s.txn.CompareAndSwap(txnOpen, txnNone) {
		s.srv().transactions.Add(-1)
	}
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	m := s.m
	p := m.dec.Params
	if p.TLS == config.TLSInRequired && !m.isTLS() {
		if m.requiredLog.CompareAndSwap(false, true) {
			s.srv().log.Infof("%s", maillog.ICIDTLSRequired(m.icid))
		}
		return errNeedTLS
	}
	if p.MaxMsgsPerConn > 0 && int(m.msgs.Load()) >= p.MaxMsgsPerConn {
		m.closeAfter.Store(true)
		return errTooManyMsgs
	}
	if from != "" && !plainAddress(from) {
		return errBadSender
	}
	mid, err := s.srv().mids.Next()
	if err != nil {
		s.srv().errorf("MID counter: %v", err)
		return errStorage
	}
	s.mid, s.from, s.to = mid, from, nil
	s.beginTxn()
	s.srv().log.Infos(maillog.StartMID(mid, m.icid), maillog.MIDFrom(mid, m.icid, from))
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	m := s.m
	if !plainAddress(to) {
		return errBadRcpt
	}
	if m.dec.Action != config.Relay && !accepts(m.lst.l.AcceptDomains, to) {
		s.srv().log.Infof("%s", maillog.MIDToRejected(s.mid, m.icid, to, "RAT"))
		return errRcptDenied
	}
	p := m.dec.Params
	if p.RateLimit.EqualBool(true) && p.MaxRcptsPerHour > 0 && !m.sock.counts.allowRcpt(m.ip, p.MaxRcptsPerHour, time.Now()) {
		// The HAT's rate limit is AsyncOS's "Receiving Control".
		s.srv().log.Infof("%s", maillog.MIDToRejected(s.mid, m.icid, to, "Receiving Control"))
		return errRate
	}
	s.srv().log.Infof("%s", maillog.MIDTo(s.mid, m.icid, len(s.to), to))
	s.to = append(s.to, to)
	return nil
}

// plainAddress reports whether an envelope address, as go-smtp hands it
// over (a quoted local part already unquoted), can be checked and sent on
// as it is: at most one "@", and none of the bytes that would end or
// split the path on the next hop's MAIL or RCPT line (controls, space,
// <>"\(),;). Quoted local parts that need them are refused (501) rather
// than re-quoted: the RAT and the delivery would otherwise see different
// domains in "victim@third.example"@example.com. It allocates nothing.
func plainAddress(a string) bool {
	ats := 0
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c <= ' ' || c == 0x7f:
			return false
		case c == '<' || c == '>' || c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' || c == ';':
			return false
		case c == '@':
			ats++
		}
	}
	return ats <= 1
}

// accepts is the recipient access table (RAT) of a connection whose mail
// flow policy is not RELAY: the listener's ACCEPT entries, then the
// implicit final ALL REJECT that listenerconfig's RCPTACCESS prints, so an
// empty table (the factory's) accepts nothing. An entry is ALL, a domain
// (example.com), a parent domain (.example.com), a user name at any
// domain (postmaster@) or a whole address (joe@example.com); comparisons
// ignore case and a trailing dot of the domain. It runs for every RCPT and
// allocates nothing.
func accepts(entries []string, rcpt string) bool {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 {
		return false
	}
	local, dom := rcpt[:at], strings.TrimSuffix(rcpt[at+1:], ".")
	for _, e := range entries {
		if e == "ALL" {
			return true
		}
		if i := strings.LastIndexByte(e, '@'); i >= 0 {
			if strings.EqualFold(e[:i], local) && (i == len(e)-1 || strings.EqualFold(e[i+1:], dom)) {
				return true
			}
			continue
		}
		if strings.HasPrefix(e, ".") {
			if len(dom) > len(e) && strings.EqualFold(dom[len(dom)-len(e):], e) {
				return true
			}
			continue
		}
		if strings.EqualFold(e, dom) {
			return true
		}
	}
	return false
}

func (s *session) Data(r io.Reader) error {
	m := s.m
	m.inMessage.Store(true) // slow.go: a transfer is not an idle connection
	defer m.inMessage.Store(false)
	defer s.endTxn()
	srv := s.srv()
	buf := newSpool(srv.spool)
	defer buf.Close()
	now := srv.opts.Now()
	var tinfo *queue.TLSInfo
	if cs := m.tlsState.Load(); cs != nil {
		tinfo = &queue.TLSInfo{Version: versionName(cs.Version), Cipher: cipherName(cs.CipherSuite), ServerName: cs.ServerName}
		if len(cs.PeerCertificates) > 0 && m.lst.roots != nil {
			tinfo.PeerCert = cs.PeerCertificates[0].Subject.String()
		}
	}
	line := s.received(now, s.c.Hostname(), tinfo)
	buf.Write(line)
	received := string(line[:len(line)-2])
	if _, err := buf.ReadFrom(m.limitHeaderLines(r)); err != nil {
		if errors.Is(err, errSpool) {
			srv.log.Warningf("MID %d ICID %d not queued: %v", s.mid, m.icid, err)
			return errStorage
		}
		return dataError(err)
	}
	if m.lst.l.Type == config.Blackhole {
		srv.log.Infof("%s", maillog.MIDReady(s.mid, buf.Len(), s.from))
		srv.log.Infof("MID %d discarded by blackhole listener %s", s.mid, m.lst.l.Name)
		m.msgs.Add(1)
		return nil
	}
	meta := queue.Meta{
		MID: s.mid, ICID: m.icid, Listener: m.lst.l.Name, Interface: m.lst.iface.Name,
		RemoteIP: m.ip.String(), RemoteHost: m.host, HELO: s.c.Hostname(),
		From: s.from, To: append([]string(nil), s.to...), TLS: tinfo,
		Relay: m.dec.Action == config.Relay, Time: now, Received: received,
	}
	s.endTxn() // the queue waits for other transactions, not this one
	if err := putSpooled(srv.queue, meta, buf); err != nil {
		srv.log.Warningf("MID %d ICID %d not queued: %v", s.mid, m.icid, err)
		return errStorage
	}
	srv.log.Infos(maillog.MIDReady(s.mid, buf.Len(), s.from), maillog.MIDQueued(s.mid)) // Put returned: durable
	srv.KickDelivery()
	m.msgs.Add(1)
	return nil
}

var (
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 4, 0}, Message: "Line too long"}
	errTimeout     = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout exceeded"}
	errAborted     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Message transfer aborted"}
)

// dataError maps what reading a message can fail with to a reply: never
// the internal error text, and never a permanent code for a network
// hiccup (go-smtp answers 554 to anything that is not an SMTPError).
func dataError(err error) error {
	var se *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se // 552 too large
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLineTooLong
	case errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	}
	return errAborted
}

// received is the Received: header the appliance adds, with the TLS
// protocol and cipher of the session (folded, with the final CRLF). It is
// built in one buffer: fmt cost ten allocations a message.
func (s *session) received(now time.Time, helo string, t *queue.TLSInfo) []byte {
	m := s.m
	rdns := m.host
	if rdns == "" {
		rdns = "unknown"
	}
	b := make([]byte, 0, 256)
	b = append(b, "Received: from "...)
	b = append(b, sanitize(helo)...)
	b = append(b, " ("...)
	b = append(b, sanitize(rdns)...)
	b = append(b, " ["...)
	b = m.ip.AppendTo(b)
	b = append(b, "])\r\n\tby "...)
	b = append(b, m.lst.hostname...)
	b = append(b, " with "...)
	if t != nil {
		b = append(b, "ESMTPS ("...)
		b = append(b, t.Version...)
		b = append(b, ':')
		b = append(b, t.Cipher...)
		b = append(b, ')')
	} else {
		b = append(b, "ESMTP"...)
	}
	b = append(b, " id "...)
	b = strconv.AppendInt(b, s.mid, 10)
	if len(s.to) == 1 {
		b = append(b, " for <"...)
		b = append(b, sanitize(s.to[0])...)
		b = append(b, '>')
	}
	b = append(b, ";\r\n\t"...)
	b = now.AppendFormat(b, time.RFC1123Z)
	return append(b, "\r\n"...)
}

// sanitize keeps client-supplied text from breaking the header.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
