package tlsrpt

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MailtoAddress is the address of a mailto: rua ("" when it has none):
// percent-decoded, without a query (RFC 6068).
func MailtoAddress(u string) string {
	a, ok := strings.CutPrefix(u, "mailto:")
	if !ok {
		return ""
	}
	a, _, _ = strings.Cut(a, "?")
	if d, err := url.PathUnescape(a); err == nil {
		a = d
	}
	if strings.ContainsAny(a, "<>,") || !strings.Contains(a, "@") {
		return ""
	}
	for i := 0; i < len(a); i++ {
		if a[i] <= ' ' || a[i] == 0x7f { // decoded: an envelope address and a header
			return ""
		}
	}
	return a
}

// FileName is the attachment's name (§5.3):
// submitter!policy-domain!begin!end!id.json.gz, times in Unix seconds.
func FileName(rep Report, domain string) string {
	return fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", rep.OrganizationName, domain,
		rep.DateRange.Start.Unix(), rep.DateRange.End.Unix(), rep.ReportID)
}

// Mail is the report as a message (§5.3): multipart/report with
// report-type "tlsrpt", a short text and the gzipped JSON as an
// application/tlsrpt+gzip attachment, the TLS-Report-Domain and
// TLS-Report-Submitter headers.
func Mail(from, to, domain string, rep Report, gz []byte, now time.Time) []byte {
	boundary := "tlsrpt-" + rep.ReportID
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", "<"+from+">")
	h("To", "<"+to+">")
	h("Date", now.Format(time.RFC1123Z))
	h("Subject", fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, rep.OrganizationName, rep.ReportID))
	h("Message-ID", "<"+rep.ReportID+"@"+rep.OrganizationName+">")
	h("TLS-Report-Domain", domain)
	h("TLS-Report-Submitter", rep.OrganizationName)
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/report; report-type="tlsrpt"; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	fmt.Fprintf(&b, "This is an aggregate TLS report (RFC 8460) from %s for %s.\r\n", rep.OrganizationName, domain)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: " + MediaType + "\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	b.WriteString(`Content-Disposition: attachment; filename="` + FileName(rep, domain) + "\"\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// Post sends the gzipped report to an https: rua (§5.4); any 2xx is
// success. Redirects are not followed (the client is copied): the
// report would go again to where the domain's owner says, plain http or
// a service of the appliance's own network included.
func Post(ctx context.Context, client *http.Client, uri string, gz []byte) error {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", MediaType)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		return fmt.Errorf("HTTP status %d (redirects are not followed)", resp.StatusCode)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	return nil
}
