package maillog

import (
	"fmt"
	"strconv"
)

// Builders for the inbound (listener side) mail_logs messages. They return
// the text after "<Level>: " so callers choose the level and tests can pin
// the exact AsyncOS wording, which downstream log parsers depend on.

// The lines of every session and message are built in a stack buffer
// with strconv, not fmt: one allocation each instead of three (issue 17).

// NewICID: a new injection connection was accepted. An empty rdns is logged
// as "unknown", as AsyncOS does for hosts without PTR records.
func NewICID(icid int64, ifName, ifIP, remoteIP, rdns string, verified bool) string {
	if rdns == "" {
		rdns = "unknown"
	}
	var a [160]byte
	b := append(a[:0], "New SMTP ICID "...)
	b = strconv.AppendInt(b, icid, 10)
	b = append(append(b, " interface "...), ifName...)
	b = append(append(append(b, " ("...), ifIP...), ')')
	b = append(append(b, " address "...), remoteIP...)
	b = append(append(b, " reverse dns host "...), rdns...)
	return string(append(append(b, " verified "...), yesNo(verified)...))
}

// ICIDPolicy: the HAT decision for a connection. An empty sbrs is "None",
// AsyncOS's word when a host has no reputation score (the user guide's
// Logging chapter, "Message Receiving": "ICID 282204970 SBRS None"); esash
// has no reputation service, so every line says None. A connection no
// sender group matched is "SG None" (Cisco TN 212837: "ICID 3160 ACCEPT SG
// None match ALL ...").
func ICIDPolicy(icid int64, action, sg, rule, sbrs string) string {
	if sbrs == "" {
		sbrs = "None"
	}
	var a [128]byte
	b := strconv.AppendInt(append(a[:0], "ICID "...), icid, 10)
	b = append(append(b, ' '), action...)
	b = append(append(b, " SG "...), sg...)
	b = append(append(b, " match "...), rule...)
	return string(append(append(b, " SBRS "...), sbrs...))
}

// ICIDTLSSuccess: STARTTLS completed on an inbound connection.
func ICIDTLSSuccess(icid int64, proto, cipher string) string {
	var a [128]byte
	b := strconv.AppendInt(append(a[:0], "ICID "...), icid, 10)
	b = append(append(b, " TLS success protocol "...), proto...)
	return string(append(append(b, " cipher "...), cipher...))
}

// ICIDTLSFailed: an inbound TLS handshake failed.
func ICIDTLSFailed(icid int64, reason string) string {
	return fmt.Sprintf("ICID %d TLS failed: %s", icid, reason)
}

// ICIDTLSRequired: the listener demanded TLS and the client did not start it.
func ICIDTLSRequired(icid int64) string {
	return fmt.Sprintf("ICID %d TLS was required but remote host did not initiate it", icid)
}

// StartMID: a message began on a connection.
func StartMID(mid, icid int64) string {
	var a [64]byte
	b := strconv.AppendInt(append(a[:0], "Start MID "...), mid, 10)
	return string(strconv.AppendInt(append(b, " ICID "...), icid, 10))
}

// MIDFrom: the envelope sender; the null sender logs as "<>".
func MIDFrom(mid, icid int64, addr string) string {
	var a [128]byte
	b := strconv.AppendInt(append(a[:0], "MID "...), mid, 10)
	b = strconv.AppendInt(append(b, " ICID "...), icid, 10)
	return string(append(append(append(b, " From: <"...), addr...), '>'))
}

// MIDTo: one envelope recipient; rid is its index within the message.
func MIDTo(mid, icid int64, rid int, addr string) string {
	var a [128]byte
	b := strconv.AppendInt(append(a[:0], "MID "...), mid, 10)
	b = strconv.AppendInt(append(b, " ICID "...), icid, 10)
	b = strconv.AppendInt(append(b, " RID "...), int64(rid), 10)
	return string(append(append(append(b, " To: <"...), addr...), '>'))
}

// MIDToRejected: a recipient refused at RCPT TO; by names what refused it:
// "RAT" (the recipient access table) or "Receiving Control" (the mail flow
// policy's rate limit). A refused recipient has no RID. AsyncOS's shape,
// from parsers of its mail_logs: "MID 1347675626 ICID 306398794 To: <...>
// Rejected by Receiving Control", and the "Rejected by RAT", "Rejected by
// Receiving Control" and "Rejected by LDAPACCEPT" recipient counts of
// IronPort's mailflow report script.
func MIDToRejected(mid, icid int64, addr, by string) string {
	return fmt.Sprintf("MID %d ICID %d To: <%s> Rejected by %s", mid, icid, addr, by)
}

// MIDReady: the message body was received and queued.
func MIDReady(mid, size int64, from string) string {
	var a [128]byte
	b := strconv.AppendInt(append(a[:0], "MID "...), mid, 10)
	b = strconv.AppendInt(append(b, " ready "...), size, 10)
	return string(append(append(append(b, " bytes from <"...), from...), '>'))
}

// MIDQueued: the message is durable in the delivery queue, after its
// "ready" line (the user guide's "Message Receiving" example: "MID
// 200257070 ready 24663 bytes from <...>" ... "MID 200257070 queued for
// delivery").
func MIDQueued(mid int64) string {
	var a [64]byte
	return string(append(strconv.AppendInt(append(a[:0], "MID "...), mid, 10), " queued for delivery"...))
}

// ICIDLost: the client went away without QUIT (the seed's example: "ICID
// 590052584 lost" between a failed TLS handshake and "ICID 590052584
// close").
func ICIDLost(icid int64) string {
	return fmt.Sprintf("ICID %d lost", icid)
}

// ICIDClose: the inbound connection ended.
func ICIDClose(icid int64) string {
	var a [32]byte
	return string(append(strconv.AppendInt(append(a[:0], "ICID "...), icid, 10), " close"...))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
