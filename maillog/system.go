package maillog

import "fmt"

// AlertSent: an alert email went out, e.g. class "System", severity
// "Warning". The subject is quoted verbatim (no escaping) as AsyncOS does;
// the Log escapes newlines when the line is written.
func AlertSent(class, severity, addr, subject string) string {
	return fmt.Sprintf("A %s/%s alert was sent to <%s> with subject \"%s\".", class, severity, addr, subject)
}
