package mta

import (
	"fmt"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/maillog"
)

// The go-smtp hooks esash implements (third_party/go-smtp/ESASH-PATCH.md).
var (
	_ smtp.CommandChecker = backend{}
	_ smtp.AcceptReplier  = (*session)(nil)
)

// beforeTLS are the commands a TLS Required policy answers before
// STARTTLS (RFC 3207 4: the server should refuse everything else with
// 530; AsyncOS's user guide names NOOP, EHLO and QUIT; HELO, RSET and
// STARTTLS itself cannot leak or accept anything either).
var beforeTLS = map[string]bool{"EHLO": true, "HELO": true, "NOOP": true, "QUIT": true, "RSET": true, "STARTTLS": true}

// CheckCommand refuses, on a TLS Required policy before STARTTLS, every
// command but those above with 530, and logs the first refusal; and
// STARTTLS with 454 when SETUP's global limit of TLS connections is
// reached.
func (b backend) CheckCommand(c *smtp.Conn, cmd string) error {
	m := connOf(c.Conn())
	if m == nil {
		return nil
	}
	if cmd == "STARTTLS" && !m.isTLS() && c.Server().TLSConfig != nil && !m.takeTLS() {
		m.srv.log.Infof("ICID %d STARTTLS refused: the global limit of %d concurrent TLS connections is reached", m.icid, m.srv.global.maxTLS.Load())
		return errTLSBusy
	}
	if m.dec.Params.TLS != config.TLSInRequired || m.isTLS() || beforeTLS[cmd] {
		return nil
	}
	if m.requiredLog.CompareAndSwap(false, true) {
		m.srv.log.Infof("%s", maillog.ICIDTLSRequired(m.icid))
	}
	return errNeedTLS
}

// AcceptReply is the 250 to an accepted message, naming its MID as
// AsyncOS does (two spaces after "ok:").
func (s *session) AcceptReply() string {
	return fmt.Sprintf("ok:  Message %d accepted", s.mid)
}
