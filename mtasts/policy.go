package mtasts

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// The policy modes.
const (
	ModeEnforce Mode = "enforce"
	ModeTesting Mode = "testing"
	ModeNone    Mode = "none"
)

// MaxMaxAge is the largest max_age a policy may give (§3.2: 31557600 s,
// about a year).
const MaxMaxAge = 31557600

// Policy is a parsed STSv1 policy file.
type Policy struct {
	Mode   Mode     `json:"mode"`
	MX     []string `json:"mx"`      // patterns, lower case: "mail.example.com", "*.example.net"
	MaxAge int64    `json:"max_age"` // seconds
}

// Parse reads a policy file (§3.2): "key: value" lines separated by CRLF
// or LF; version (first, "STSv1"), mode and max_age are required, mx is
// required unless the mode is none and may repeat; unknown keys are
// ignored (§3.2: "additional key/value pairs ... MUST be ignored").
func Parse(text string) (Policy, error) {
	var p Policy
	var sawVersion, sawMode, sawAge bool
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for n, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return Policy{}, fmt.Errorf("%w: line %d has no colon", ErrPolicy, n+1)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !sawVersion && key != "version" {
			return Policy{}, fmt.Errorf("%w: the first field is %q, not version", ErrPolicy, key)
		}
		switch key {
		case "version":
			if sawVersion || val != "STSv1" {
				return Policy{}, fmt.Errorf("%w: version %q (STSv1 expected, once)", ErrPolicy, val)
			}
			sawVersion = true
		case "mode":
			if sawMode {
				return Policy{}, fmt.Errorf("%w: mode given twice", ErrPolicy)
			}
			switch Mode(val) {
			case ModeEnforce, ModeTesting, ModeNone:
			default:
				return Policy{}, fmt.Errorf("%w: mode %q (enforce, testing or none expected)", ErrPolicy, val)
			}
			p.Mode, sawMode = Mode(val), true
		case "max_age":
			if sawAge {
				return Policy{}, fmt.Errorf("%w: max_age given twice", ErrPolicy)
			}
			age, err := strconv.ParseInt(val, 10, 64)
			if err != nil || age < 0 || age > MaxMaxAge || len(val) > 10 || strings.HasPrefix(val, "+") {
				return Policy{}, fmt.Errorf("%w: max_age %q (0 to %d seconds expected)", ErrPolicy, val, MaxMaxAge)
			}
			p.MaxAge, sawAge = age, true
		case "mx":
			if !validPattern(val) {
				return Policy{}, fmt.Errorf("%w: mx %q is not a host name or *.domain", ErrPolicy, val)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(val, ".")))
		}
	}
	switch {
	case !sawVersion:
		return Policy{}, fmt.Errorf("%w: no version field", ErrPolicy)
	case !sawMode:
		return Policy{}, fmt.Errorf("%w: no mode field", ErrPolicy)
	case !sawAge:
		return Policy{}, fmt.Errorf("%w: no max_age field", ErrPolicy)
	case len(p.MX) == 0 && p.Mode != ModeNone:
		return Policy{}, fmt.Errorf("%w: no mx field", ErrPolicy)
	}
	return p, nil
}

// validPattern reports an mx value: a host name, or "*." and a domain.
func validPattern(v string) bool {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "*."), ".")
	if v == "" || len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// MatchMX reports whether the MX host name matches one of the policy's
// patterns (§4.1): exactly, or "*.example.net" for a name with exactly one
// more label ("mail.example.net", not "a.b.example.net" nor
// "example.net"). host may end with a dot; case is ignored.
func (p *Policy) MatchMX(host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			i := strings.IndexByte(host, '.')
			if i > 0 && strings.EqualFold(host[i+1:], rest) {
				return true
			}
			continue
		}
		if strings.EqualFold(host, pat) {
			return true
		}
	}
	return false
}

// String is the policy as one line for mail_logs and the CLI.
func (p *Policy) String() string {
	return fmt.Sprintf("mode %s, mx %s, max_age %d", p.Mode, strings.Join(p.MX, " "), p.MaxAge)
}

// ParseRecord reads the _mta-sts TXT records of a domain (§3.1) and returns
// the policy id. Records not starting with "v=STSv1" are someone else's
// and ignored; none, or more than one, is ErrNoRecord ("If the number of
// resulting records is not one, or if the resulting record is
// syntactically invalid, senders MUST assume the recipient domain does not
// have an available MTA-STS policy").
func ParseRecord(records []string) (string, error) {
	var id string
	n := 0
	for _, r := range records {
		rest, ok := strings.CutPrefix(r, "v=STSv1")
		if !ok || rest != "" && rest[0] != ';' && rest[0] != ' ' && rest[0] != '\t' {
			continue // another version's, or not MTA-STS's (v=STSv10)
		}
		n++
		var err error
		if id, err = recordID(r); err != nil {
			return "", err
		}
	}
	if n != 1 {
		return "", fmt.Errorf("%w: %d STSv1 records", ErrNoRecord, n)
	}
	return id, nil
}

func recordID(r string) (string, error) {
	var id string
	for i, field := range strings.Split(r, ";") {
		field = strings.Trim(field, " \t")
		if field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return "", fmt.Errorf("%w: field %q has no =", ErrNoRecord, field)
		}
		if i == 0 && (k != "v" || v != "STSv1") {
			return "", fmt.Errorf("%w: the record does not start with v=STSv1", ErrNoRecord)
		}
		if k == "id" {
			if id != "" || !validID(v) {
				return "", fmt.Errorf("%w: id %q (1 to 32 letters and digits, once)", ErrNoRecord, v)
			}
			id = v
		}
	}
	if id == "" {
		return "", fmt.Errorf("%w: the record has no id", ErrNoRecord)
	}
	return id, nil
}

func validID(v string) bool {
	if v == "" || len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
