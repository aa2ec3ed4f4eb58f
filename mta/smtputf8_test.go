package mta

import (
	"fmt"
	"strings"
	"testing"

	"esash/config"
)

// TestDeliverSMTPUTF8: a recipient (or sender) address in UTF-8 needs a
// receiver that offers SMTPUTF8 (RFC 6531 3.4). smtp-sink does not: the
// UTF-8 recipient bounces with 5.6.7 and a DSN, as Postfix's client does,
// the ASCII one is delivered; nothing in UTF-8 reaches smtp-sink. A
// receiver that offers SMTPUTF8 gets the message with MAIL's SMTPUTF8
// parameter.
func TestDeliverSMTPUTF8(t *testing.T) {
	p := newPKI(t)
	plain := startDumpSink(t, sinkIP())
	senders := startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{
		"sink.test": hp(plain.addr, plain.port), "example.com": hp(senders.addr, senders.port)})
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "alice@example.com", "jörg@sink.test", "bob@sink.test")
	waitLog(t, dir, fmt.Sprintf("Bounced: DCID 1 MID %d to RID [0] - 5.6.7 - SMTPUTF8 is required, but was not offered by host %s[%s]", mid, plain.addr, plain.addr))
	waitLog(t, dir, fmt.Sprintf("Message done DCID 1 MID %d to RID [1]", mid))
	waitFor(t, "DSN", func() bool { return len(senders.list()) == 1 })
	if d := senders.list()[0]; !strings.Contains(d.data, "<jörg@sink.test>: 5.6.7 SMTPUTF8 is required") {
		t.Errorf("DSN = %q", d.data)
	}
	waitFor(t, "removal", func() bool { return !inQueue(s, mid) })
	msgs := plain.messages(t)
	if len(msgs) != 1 || header(msgs[0], "X-Rcpt-Args") != "<bob@sink.test>" || strings.Contains(msgs[0], "jörg") {
		t.Errorf("smtp-sink got %q", msgs)
	}

	// A UTF-8 sender: nothing can go to smtp-sink.
	mid2 := enqueue(t, s, "jörg@example.com", "carol@sink.test")
	waitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 5.6.7 - SMTPUTF8 is required", mid2))
	if n := len(plain.messages(t)); n != 1 {
		t.Errorf("smtp-sink got %d messages, want still 1", n)
	}

	// Offered: sent, with the parameter.
	utf := startGoSink(t, nil, func(g *goSink) { g.smtputf8 = true })
	cfg2 := outCfg(t, p, config.TLSOutNo, map[string]string{"utf.test": hp(utf.addr, utf.port)})
	s2, _ := startOut(t, cfg2)
	mid3 := enqueue(t, s2, "alice@example.com", "jörg@utf.test")
	waitFor(t, "UTF-8 delivery", func() bool { return len(utf.list()) == 1 && !inQueue(s2, mid3) })
	if r := utf.list()[0]; !r.utf8 || len(r.to) != 1 || r.to[0] != "jörg@utf.test" {
		t.Errorf("received %+v", r)
	}
}
