package config

import (
	"net/netip"
	"strings"
)

// CheckHostname validates a fully-qualified host name as sethostname and
// interfaceconfig accept it, returning the AsyncOS-style reason or "".
func CheckHostname(h string) string {
	name := strings.TrimSuffix(h, ".") // the root's dot does not qualify a name
	switch {
	case h == "":
		return "A hostname must not be empty."
	case len(h) > 253:
		return "A hostname must be at most 253 characters long."
	case !strings.Contains(name, "."):
		return "A hostname must be fully qualified (for example mail.example.com)."
	}
	// Only digits, dots and colons can make an address; skipping the
	// parse for names keeps this free of allocations (the commit check
	// runs it for every destination entry).
	if strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":") {
		if _, err := netip.ParseAddr(h); err == nil {
			return "A hostname must be a name, not an IP address."
		}
	}
	var last string
	for rest := name; ; {
		l, more, found := strings.Cut(rest, ".")
		if r := checkLabel(l); r != "" {
			return r
		}
		if !found {
			last = l
			break
		}
		rest = more
	}
	if allDigits(last) {
		return "A hostname must not end in a numeric label."
	}
	return ""
}

func checkLabel(l string) string {
	switch {
	case l == "":
		return "A hostname must not contain empty labels (two dots in a row)."
	case len(l) > 63:
		return "A hostname must have labels of at most 63 characters."
	case l[0] == '-' || l[len(l)-1] == '-':
		return "A hostname must not have labels that begin or end with a hyphen."
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return "Invalid hostname format: valid characters are letters, digits, hyphens and dots."
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CheckDomain validates a destination domain: a host name, or a name with
// a leading dot that stands for every subdomain.
func CheckDomain(d string) string {
	name := strings.TrimPrefix(d, ".")
	if !strings.Contains(name, ".") && name != "" {
		// Single-label domains (a TLD, "localdomain") are legitimate destinations.
		return checkLabel(name)
	}
	if l, ok := strings.CutSuffix(name, "."); ok && l != "" && !strings.Contains(l, ".") {
		// The same made absolute ("localdomain."), as a host name would be.
		if r := checkLabel(l); r != "" {
			return r
		}
		if allDigits(l) {
			return "A hostname must not end in a numeric label."
		}
		return ""
	}
	return CheckHostname(name)
}
