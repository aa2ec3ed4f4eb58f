package mta

import (
	"fmt"

	"esash/maillog"
	"esash/mta/queue"
)

// One transaction on an open delivery connection. When the server offers
// PIPELINING (RFC 2920) the envelope, MAIL, every RCPT and DATA, goes out
// in one write and the replies are read after it: two round trips per
// message (envelope, then the message) instead of one per recipient plus
// three. A kept connection takes its next MAIL without an RSET when the
// last transaction ended with the reply to the message: the server has
// reset it then (RFC 5321 4.1.1.4); RSET is kept for a transaction left
// open (no recipient accepted, DATA refused). A kept connection the
// server has closed meanwhile fails at the envelope, before anything was
// accepted, and attempt opens a new one.

// sessState is what a connection can do after a transaction.
type sessState int

const (
	sessBroken sessState = iota // not usable: close it
	sessOpen                    // a transaction may be open: RSET before reuse
	sessReady                   // the transaction ended: ready for MAIL
)

// transfer sends m to rids on an open connection. handled is attempt's
// result; st says whether and how the connection can take another
// message; started means the remote answered the envelope (MAIL FROM).
func (s *Server) transfer(oc *outConn, m queue.Meta, body []byte, dom string, t target, rids []int, results []outcome) (handled bool, st sessState, started bool) {
	log := s.log
	c, dcid := oc.c, oc.dcid
	connErr := func(stage string, err error) (bool, sessState, bool) {
		log.Infof("%s", maillog.ConnectionError(dcid, dom, t.ip, t.port, stage, oc.ifIP, err.Error()))
		setAll(results, rids, outcome{rcptDeferred, "4.4.2", err.Error()})
		return false, sessBroken, started
	}
	rids, utf8 := s.utf8Gate(c, dcid, t, m, rids, results)
	if len(rids) == 0 {
		return true, sessReady, false
	}
	next := c.envelope(m, rids, utf8)
	r, err := next()
	if err != nil {
		return connErr("MAIL FROM", err)
	}
	started = true
	log.Infof("%s", maillog.DeliveryStart(dcid, m.MID, ridsOf(m, rids)))
	if r.Code/100 != 2 {
		return s.replyOutcome(dcid, m, rids, r, results), sessBroken, true
	}
	var accepted []int
	for _, i := range rids {
		rr, err := next()
		if err != nil {
			return connErr("RCPT TO", err)
		}
		if rr.Code/100 == 2 {
			accepted = append(accepted, i)
			continue
		}
		s.replyOutcome(dcid, m, []int{i}, rr, results)
	}
	return s.sendBody(oc, m, body, dom, t, rids, accepted, results, next)
}

// sendBody finishes transfer: DATA's reply, the message and its final
// reply. Without a pipelined DATA (every recipient refused in lockstep)
// the transaction is left open.
func (s *Server) sendBody(oc *outConn, m queue.Meta, body []byte, dom string, t target, rids, accepted []int, results []outcome, next func() (smtpReply, error)) (bool, sessState, bool) {
	c, dcid := oc.c, oc.dcid
	connErr := func(stage string, err error) (bool, sessState, bool) {
		s.log.Infof("%s", maillog.ConnectionError(dcid, dom, t.ip, t.port, stage, oc.ifIP, err.Error()))
		setAll(results, accepted, outcome{rcptDeferred, "4.4.2", err.Error()})
		return false, sessBroken, true
	}
	if len(accepted) == 0 && !c.pipelined() {
		return true, sessOpen, true
	}
	r, err := next() // DATA
	if err != nil {
		return connErr("DATA", err)
	}
	if len(accepted) == 0 {
		if r.Code == 354 {
			// A server that takes DATA without a recipient: the
			// connection is given up rather than an empty message sent.
			return true, sessBroken, true
		}
		return true, sessOpen, true
	}
	if r.Code != 354 {
		return s.replyOutcome(dcid, m, accepted, r, results), sessOpen, true
	}
	r, err = c.body(body)
	if err != nil {
		return connErr("DATA", err)
	}
	if r.Code/100 != 2 {
		return s.replyOutcome(dcid, m, accepted, r, results), sessReady, true
	}
	s.log.Infof("%s", maillog.MessageDone(dcid, m.MID, ridsOf(m, accepted)))
	setAll(results, accepted, outcome{res: rcptDone})
	return true, sessReady, true
}

// envelope returns the reader of the envelope's replies, in order: MAIL,
// one per RCPT, then DATA's. With PIPELINING every command went out in
// one write before the first read; without, each is sent when its reply
// is asked for (transfer stops asking at a refused MAIL, and sendBody
// does not ask for DATA when no recipient was accepted).
func (c *smtpConn) envelope(m queue.Meta, rids []int, utf8 bool) func() (smtpReply, error) {
	param := ""
	if utf8 {
		param = " SMTPUTF8"
	}
	cmds := make([]string, 0, len(rids)+2)
	cmds = append(cmds, fmt.Sprintf("MAIL FROM:<%s>%s", m.From, param))
	for _, i := range rids {
		cmds = append(cmds, fmt.Sprintf("RCPT TO:<%s>", m.To[i]))
	}
	cmds = append(cmds, "DATA")
	var sendErr error
	if c.pipelined() {
		sendErr = c.send(cmds...)
	}
	n := 0
	return func() (smtpReply, error) {
		if sendErr != nil {
			return smtpReply{}, sendErr
		}
		if n >= len(cmds) {
			return smtpReply{}, fmt.Errorf("no command left to answer")
		}
		if !c.pipelined() {
			if err := c.send(cmds[n]); err != nil {
				return smtpReply{}, err
			}
		}
		n++
		return c.read()
	}
}
