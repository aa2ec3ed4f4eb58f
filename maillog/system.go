package maillog

import "fmt"

// AlertSent: an alert email went out, e.g. class "System", severity
// "Warning". The address is bare, without angle brackets, and the subject
// quoted verbatim (no escaping), as AsyncOS writes them (Elastic's
// cisco_esa test logs: `A System/Warning alert was sent to example.com
// with subject "Warning <System> cisco.esa: ..."`); the Log escapes
// newlines when the line is written.
func AlertSent(class, severity, addr, subject string) string {
	return fmt.Sprintf("A %s/%s alert was sent to %s with subject \"%s\".", class, severity, addr, subject)
}
