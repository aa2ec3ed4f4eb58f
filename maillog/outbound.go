package maillog

import (
	"fmt"
	"strconv"
	"strings"
)

// Builders for the outbound (delivery side) mail_logs messages; see
// inbound.go for why they are plain strings.

// NewDCID: a delivery connection was opened from ifIP to ip:port.
func NewDCID(dcid int64, ifIP, ip string, port int) string {
	return fmt.Sprintf("New SMTP DCID %d interface %s address %s port %d", dcid, ifIP, ip, port)
}

// DCIDTLSSuccess: STARTTLS completed toward domain.
func DCIDTLSSuccess(dcid int64, proto, cipher, domain string) string {
	return fmt.Sprintf("DCID %d TLS success protocol %s cipher %s for %s", dcid, proto, cipher, domain)
}

// DCIDTLSFailed: an outbound TLS handshake failed.
func DCIDTLSFailed(dcid int64, reason string) string {
	return fmt.Sprintf("DCID %d TLS failed: %s", dcid, reason)
}

// DCIDTLSUnverified: a Preferred - Verify session whose certificate
// failed verification; the delivery goes on over the unverified session,
// so the line says so instead of "TLS success".
func DCIDTLSUnverified(dcid int64, reason, proto, cipher string) string {
	return fmt.Sprintf("DCID %d TLS failed: %s; delivering over TLS without verification (protocol %s cipher %s)", dcid, reason, proto, cipher)
}

// ReplyDetails renders an unexpected SMTP reply for the details of a
// Connection Error line, as the seed guide shows a 454 to STARTTLS:
// 454-'TLS not available due to temporary reason'.
func ReplyDetails(code int, text string) string {
	return fmt.Sprintf("%d-'%s'", code, strings.ReplaceAll(text, "\n", " "))
}

// DCIDTLSRequired: policy demanded TLS and it could not be negotiated.
func DCIDTLSRequired(dcid int64, ip string) string {
	return fmt.Sprintf("DCID %d IP %s TLS was required but could not be successfully negotiated", dcid, ip)
}

// DeliveryStart: recipients rids of mid are being sent on dcid.
func DeliveryStart(dcid, mid int64, rids []int) string {
	return fmt.Sprintf("Delivery start DCID %d MID %d to RID [%s]", dcid, mid, joinRIDs(rids))
}

// MessageDone: the remote accepted mid for rids.
func MessageDone(dcid, mid int64, rids []int) string {
	return fmt.Sprintf("Message done DCID %d MID %d to RID [%s]", dcid, mid, joinRIDs(rids))
}

// Delayed: a temporary (4.x.x) failure; the message stays queued.
func Delayed(dcid, mid int64, rids []int, code, text string) string {
	return fmt.Sprintf("Delayed: DCID %d MID %d to RID [%s] - %s - %s", dcid, mid, joinRIDs(rids), code, text)
}

// Bounced: a permanent (5.x.x) failure.
func Bounced(dcid, mid int64, rids []int, code, text string) string {
	return fmt.Sprintf("Bounced: DCID %d MID %d to RID [%s] - %s - %s", dcid, mid, joinRIDs(rids), code, text)
}

// ConnectionError: a delivery connection failed below SMTP.
func ConnectionError(dcid int64, domain, ip string, port int, details, ifIP, reason string) string {
	return fmt.Sprintf("Connection Error: DCID %d domain: %s IP: %s port: %d details: %s interface: %s reason: %s",
		dcid, domain, ip, port, details, ifIP, reason)
}

// DCIDClose: the delivery connection ended.
func DCIDClose(dcid int64) string {
	return fmt.Sprintf("DCID %d close", dcid)
}

// joinRIDs renders "0, 1, 2" as AsyncOS prints recipient lists.
func joinRIDs(rids []int) string {
	s := make([]string, len(rids))
	for i, r := range rids {
		s[i] = strconv.Itoa(r)
	}
	return strings.Join(s, ", ")
}
