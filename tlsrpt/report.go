// Package tlsrpt is SMTP TLS Reporting (RFC 8460) for the sending side:
// the per-domain record of TLS sessions (successes, failures by the RFC's
// result types), the _smtp._tls TXT record, and the aggregate report: the
// RFC's JSON, gzipped (application/tlsrpt+gzip), as a mail message
// (§5.3) or an HTTPS POST body (§5.4).
//
// Decisions:
//
//   - Sessions are recorded for every MX delivery that negotiated or
//     required TLS; a report goes only to domains that publish a
//     _smtp._tls record (looked up when the report is due). A domain's
//     policy in a report is the one in force for the session: "tlsa" when
//     DANE authenticated it, "sts" under an MTA-STS policy, else
//     "no-policy-found".
//   - The counts are kept in memory and saved in DATA/tlsrpt/pending.json
//     at shutdown, so a restart within the day keeps them; at most
//     MaxDomains domains and MaxDetails failure rows per policy are kept
//     (a flood of domains cannot exhaust memory; what is dropped is
//     counted in the summary all the same).
//   - A report goes to the first MaxRUA (5) usable rua of the record
//     only: the RFC sets no limit, and each address is a message or a
//     POST a day wherever the domain's owner points it.
//   - The report's organization-name and contact are the appliance's host
//     name and postmaster@ it (the RFC asks for the sending organization;
//     esash has no other name for it).
//
// The package imports no other package of esash: the MTA uses it.
package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Result types of RFC 8460 §4.3.
const (
	StartTLSNotSupported    = "starttls-not-supported"
	CertificateHostMismatch = "certificate-host-mismatch"
	CertificateExpired      = "certificate-expired"
	CertificateNotTrusted   = "certificate-not-trusted"
	ValidationFailure       = "validation-failure"
	TLSAInvalid             = "tlsa-invalid"
	DNSSECInvalid           = "dnssec-invalid"
	DANERequired            = "dane-required"
	STSPolicyFetchError     = "sts-policy-fetch-error"
	STSPolicyInvalid        = "sts-policy-invalid"
	STSWebPKIInvalid        = "sts-webpki-invalid"
)

// Policy types of §4.4.
const (
	PolicySTS      = "sts"
	PolicyTLSA     = "tlsa"
	PolicyNotFound = "no-policy-found"
)

// MediaType is the report's media type when gzipped (§5.3, §6.4).
const MediaType = "application/tlsrpt+gzip"

// Limits of what is kept between reports.
const (
	MaxDomains = 10000
	MaxDetails = 100
	// MaxInfo bounds a row's additional-information, which quotes the
	// peer (a certificate's names): longer is cut, "..." at the end.
	MaxInfo = 512
	// MaxRUA bounds the addresses a report goes to (the first ones of
	// the record): each is a message or POST a day, wherever the
	// domain's owner points them.
	MaxRUA = 5
)

// Policy identifies the policy a session ran under.
type Policy struct {
	Type   string   // PolicySTS, PolicyTLSA, PolicyNotFound
	Domain string   // the recipient domain
	String []string // the policy's lines (sts: the policy file; tlsa: the records)
	MX     []string // sts: the mx patterns
}

func (p Policy) key() string {
	return p.Type + "\x00" + strings.Join(p.String, "\n")
}

// Session is the outcome of one TLS session (or attempt).
type Session struct {
	Policy      Policy
	Result      string // "" for success, else a result type
	SendingIP   string
	MXHost      string
	ReceivingIP string
	Info        string // additional-information
}

// Report is the JSON of §4.4.
type Report struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        DateRange      `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []PolicyReport `json:"policies"`
}

// DateRange is the report's period.
type DateRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// PolicyReport is one policy's part of a report.
type PolicyReport struct {
	Policy         PolicyDesc      `json:"policy"`
	Summary        Summary         `json:"summary"`
	FailureDetails []FailureDetail `json:"failure-details,omitempty"`
}

// PolicyDesc is the "policy" object.
type PolicyDesc struct {
	Type   string   `json:"policy-type"`
	String []string `json:"policy-string,omitempty"`
	Domain string   `json:"policy-domain"`
	MXHost []string `json:"mx-host,omitempty"`
}

// Summary counts the sessions.
type Summary struct {
	Successful int `json:"total-successful-session-count"`
	Failed     int `json:"total-failure-session-count"`
}

// FailureDetail is one row of "failure-details".
type FailureDetail struct {
	ResultType  string `json:"result-type"`
	SendingIP   string `json:"sending-mta-ip,omitempty"`
	MXHost      string `json:"receiving-mx-hostname,omitempty"`
	ReceivingIP string `json:"receiving-ip,omitempty"`
	Count       int    `json:"failed-session-count"`
	Info        string `json:"additional-information,omitempty"`
}

// Recorder aggregates sessions per domain between two reports. Safe for
// concurrent use.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	domains map[string]map[string]*PolicyReport // domain -> policy key -> part
}

// NewRecorder starts a period at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, domains: map[string]map[string]*PolicyReport{}}
}

// Record counts one session.
func (r *Recorder) Record(s Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dom := s.Policy.Domain
	parts := r.domains[dom]
	if parts == nil {
		if len(r.domains) >= MaxDomains {
			return
		}
		parts = map[string]*PolicyReport{}
		r.domains[dom] = parts
	}
	k := s.Policy.key()
	pr := parts[k]
	if pr == nil {
		pr = &PolicyReport{Policy: PolicyDesc{Type: s.Policy.Type, String: s.Policy.String, Domain: dom, MXHost: s.Policy.MX}}
		parts[k] = pr
	}
	if s.Result == "" {
		pr.Summary.Successful++
		return
	}
	pr.Summary.Failed++
	pr.addDetail(FailureDetail{ResultType: s.Result, SendingIP: s.SendingIP,
		MXHost: s.MXHost, ReceivingIP: s.ReceivingIP, Count: 1, Info: capInfo(s.Info)})
}

// capInfo cuts info to MaxInfo bytes, at a character boundary.
func capInfo(info string) string {
	if len(info) <= MaxInfo {
		return info
	}
	cut := MaxInfo - len("...")
	for cut > 0 && !utf8.RuneStart(info[cut]) {
		cut--
	}
	return info[:cut] + "..." // a new string: the long one is not kept
}

// addDetail counts fd's sessions in the row of the same failure, or a new
// row while there are fewer than MaxDetails.
func (pr *PolicyReport) addDetail(fd FailureDetail) {
	for i := range pr.FailureDetails {
		d := &pr.FailureDetails[i]
		if d.ResultType == fd.ResultType && d.SendingIP == fd.SendingIP && d.MXHost == fd.MXHost && d.ReceivingIP == fd.ReceivingIP {
			d.Count += fd.Count
			return
		}
	}
	if len(pr.FailureDetails) < MaxDetails {
		pr.FailureDetails = append(pr.FailureDetails, fd)
	}
}

// Period is what a recorder holds at the end of a period: a report per
// domain (without organization, contact and id).
type Period struct {
	Start, End time.Time
	Domains    map[string][]PolicyReport
}

// Take ends the period at end and starts the next one.
func (r *Recorder) Take(end time.Time) Period {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Period{Start: r.start, End: end, Domains: map[string][]PolicyReport{}}
	for dom, parts := range r.domains {
		var list []PolicyReport
		for _, pr := range parts {
			list = append(list, *pr)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Policy.Type < list[j].Policy.Type })
		p.Domains[dom] = list
	}
	r.start, r.domains = end, map[string]map[string]*PolicyReport{}
	return p
}

// Restore merges a saved period (pending.json, or the domains a stopped
// report run did not send) into the current one: counts of a policy the
// current period has too are added.
func (r *Recorder) Restore(p Period) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.Start.IsZero() && p.Start.Before(r.start) {
		r.start = p.Start
	}
	for dom, list := range p.Domains {
		if len(r.domains) >= MaxDomains {
			return
		}
		parts := r.domains[dom]
		if parts == nil {
			parts = map[string]*PolicyReport{}
			r.domains[dom] = parts
		}
		for _, pr := range list {
			pr := pr
			k := Policy{Type: pr.Policy.Type, String: pr.Policy.String}.key()
			cur := parts[k]
			if cur == nil {
				parts[k] = &pr
				continue
			}
			cur.Summary.Successful += pr.Summary.Successful
			cur.Summary.Failed += pr.Summary.Failed
			for _, fd := range pr.FailureDetails {
				cur.addDetail(fd)
			}
		}
	}
}

// Build makes the report of one domain.
func Build(org, contact, id string, p Period, parts []PolicyReport) Report {
	return Report{OrganizationName: org, ContactInfo: contact, ReportID: id,
		DateRange: DateRange{Start: p.Start.UTC().Truncate(time.Second), End: p.End.UTC().Truncate(time.Second)}, Policies: parts}
}

// Gzip is the report's JSON, gzipped.
func (rep Report) Gzip() ([]byte, error) {
	js, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrNoRecord: the domain publishes no (single, valid) _smtp._tls record.
var ErrNoRecord = errors.New("no TLS-RPT record")

// ParseRecord reads the _smtp._tls TXT records (§3) and returns the rua
// URIs (mailto: and https: only; others are ignored, §3).
func ParseRecord(records []string) ([]string, error) {
	var found []string
	n := 0
	for _, r := range records {
		rest, ok := strings.CutPrefix(r, "v=TLSRPTv1")
		if !ok || rest != "" && rest[0] != ';' && rest[0] != ' ' && rest[0] != '\t' {
			continue // another version's (v=TLSRPTv10), or not TLS-RPT's
		}
		n++
		found = nil
		for i, f := range strings.Split(r, ";") {
			f = strings.TrimSpace(f)
			k, v, ok := strings.Cut(f, "=")
			if i == 0 {
				if !ok || k != "v" || strings.TrimSpace(v) != "TLSRPTv1" {
					return nil, fmt.Errorf("%w: the record does not start with v=TLSRPTv1", ErrNoRecord)
				}
				continue
			}
			if !ok || strings.TrimSpace(k) != "rua" {
				continue
			}
			for _, u := range strings.Split(v, ",") {
				u = strings.TrimSpace(u)
				if strings.HasPrefix(u, "mailto:") && strings.Contains(u, "@") || strings.HasPrefix(u, "https://") {
					found = append(found, u)
				}
			}
		}
	}
	if n != 1 || len(found) == 0 {
		return nil, fmt.Errorf("%w: %d TLSRPTv1 records, %d usable rua", ErrNoRecord, n, len(found))
	}
	return found[:min(len(found), MaxRUA)], nil
}
