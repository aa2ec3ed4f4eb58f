package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// The destconfig IMPORT/EXPORT file, as the AsyncOS user guide describes
// it: INI-like, a [DEFAULT] section that sets every parameter (all are
// mandatory there except bounce_profile and dane) and one [domain] section
// per entry with only the parameters that entry sets itself:
//
//	# comment (also ";")
//	[DEFAULT]
//	ip_sort_pref = PREFER_V6
//	max_host_concurrency = 500
//	max_messages_per_connection = 50
//	recipient_minutes = 60
//	recipient_limit = 0          (0: no recipient limit; DEFAULT only)
//	limit_type = host            (0/host: whole domain, 1/MXIP: per MX IP)
//	limit_apply = system         (0/system, 1/VG: per Virtual Gateway)
//	tls = off                    (off, on, require, on_verify, require_verify)
//	dane = off                   (off, opportunistic, mandatory)
//	bounce_validation = off      (on, off)
//	bounce_profile = Default
//
//	[.example.com]
//	tls = require_verify
//
// A file with any problem is refused whole; the error names its line.

// Limits of destination controls.
const (
	MaxDestEntries     = 50000
	MaxHostConcurrency = 10000
	MaxMsgsPerConn     = 1000
	MaxRecipientLimit  = 1000000000
)

// FileLineError is a refused import file (destconfig, smtproutes): its
// first problem and the line it is on.
type FileLineError struct {
	Line int
	Msg  string
}

func (e *FileLineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// destKeys are the file's parameters in the order EXPORT writes them.
var destKeys = [...]string{
	"ip_sort_pref", "max_host_concurrency", "max_messages_per_connection",
	"recipient_minutes", "recipient_limit", "limit_type", "limit_apply",
	"tls", "dane", "bounce_validation", "bounce_profile",
}

// CheckBounceProfile validates a bounce profile name.
func CheckBounceProfile(n string) string {
	if r := CheckName(n); r != "" {
		if n == "" {
			return "Invalid profile name: you must enter a name."
		}
		return "The bounce profile name must start with a letter and contain only letters, digits, '-', '_' and '.' (at most 64 characters)."
	}
	return ""
}

// FormatDestinations writes the destination table (the DEFAULT entry and
// every entry, in table order) as the IMPORT/EXPORT file.
func FormatDestinations(d *Destinations) []byte {
	var b bytes.Buffer
	b.Grow(64 + 48*len(d.Entries))
	b.WriteString("# Destination controls: [DEFAULT] applies to every domain without an entry.\n")
	b.WriteString("[DEFAULT]\n")
	writeDest(&b, d.Default, true)
	for _, e := range d.Entries {
		b.WriteString("\n[")
		b.WriteString(e.Domain)
		b.WriteString("]\n")
		writeDest(&b, e, false)
	}
	return b.Bytes()
}

func writeDest(b *bytes.Buffer, e DestControl, all bool) {
	put := func(k, v string) {
		b.WriteString(k)
		b.WriteString(" = ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	num := func(k string, n int) {
		if n != 0 || all {
			put(k, strconv.Itoa(n))
		}
	}
	str := func(k, v string) {
		if v != "" || all {
			put(k, v)
		}
	}
	str("ip_sort_pref", e.IPSort)
	num("max_host_concurrency", e.MaxConcurrency)
	num("max_messages_per_connection", e.MaxMsgsPerConn)
	switch {
	case e.RecipientLimit != 0:
		num("recipient_minutes", e.RecipientMinutes)
	case all:
		put("recipient_minutes", "60") // mandatory in DEFAULT; unused without a limit
	}
	num("recipient_limit", e.RecipientLimit)
	str("limit_type", e.LimitType)
	str("limit_apply", e.LimitApply)
	str("tls", string(e.TLS))
	str("dane", e.DANE)
	str("bounce_validation", string(e.BounceVerify))
	if e.BounceProfile != "" {
		put("bounce_profile", e.BounceProfile)
	}
}

// destSection is one section while a file is parsed.
type destSection struct {
	line int
	e    DestControl
	seen [len(destKeys)]int // line of each of destKeys, 0 when not set
}

func destKeyIndex(k string) int {
	for i, dk := range destKeys {
		if dk == k {
			return i
		}
	}
	return -1
}

// destParser is the state of ParseDestinations between lines.
type destParser struct {
	def     *destSection   // the [DEFAULT] section, nil until it is read
	entries []*destSection // the domain sections in file order
	cur     *destSection   // the section the next parameter line belongs to
	names   map[string]int // line of each section name read, [DEFAULT] included
}

// destLineError is the *FileLineError for line.
func destLineError(line int, format string, args ...any) error {
	return &FileLineError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ParseDestinations reads an IMPORT file. It returns the DEFAULT entry and
// the entries in file order, or an *FileLineError for the first problem.
func ParseDestinations(data []byte) (DestControl, []DestControl, error) {
	sections := min(bytes.Count(data, []byte("\n["))+1, MaxDestEntries)
	p := destParser{
		entries: make([]*destSection, 0, sections),
		names:   make(map[string]int, sections),
	}
	n := 0
	for len(data) > 0 {
		n++
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		line := strings.TrimSpace(string(raw))
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if err := p.parseLine(n, line); err != nil {
			return DestControl{}, nil, err
		}
	}
	def, err := p.defaultEntry(n)
	if err != nil {
		return DestControl{}, nil, err
	}
	entries, err := p.domainEntries()
	if err != nil {
		return DestControl{}, nil, err
	}
	return def, entries, nil
}

// parseLine reads line n of the file, already trimmed.
func (p *destParser) parseLine(n int, line string) error {
	switch {
	case line == "" || line[0] == '#' || line[0] == ';':
		return nil
	case line[0] == '[':
		return p.parseSectionHeader(n, line)
	default:
		return p.parseParamLine(n, line)
	}
}

// parseSectionHeader starts the section [name] on line n.
func (p *destParser) parseSectionHeader(n int, line string) error {
	if !strings.HasSuffix(line, "]") {
		return destLineError(n, "A section header is a name in square brackets: [example.com].")
	}
	name := strings.TrimSpace(line[1 : len(line)-1])
	p.cur = &destSection{line: n}
	if strings.EqualFold(name, DefaultDomain) {
		name = DefaultDomain
	} else {
		if r := CheckDestDomain(name); r != "" {
			return destLineError(n, "[%s]: %s", name, r)
		}
		name = NormalizeDomain(name)
	}
	if first, dup := p.names[name]; dup {
		return destLineError(n, "The section [%s] is already defined on line %d.", name, first)
	}
	p.names[name] = n
	p.cur.e.Domain = name
	if name == DefaultDomain {
		p.def = p.cur
		return nil
	}
	if len(p.entries) == MaxDestEntries {
		return destLineError(n, "There is a maximum of %d destination entries.", MaxDestEntries)
	}
	p.entries = append(p.entries, p.cur)
	return nil
}

// parseParamLine sets the parameter "name = value" of line n in the
// current section.
func (p *destParser) parseParamLine(n int, line string) error {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return destLineError(n, "A parameter line is a name, '=' and a value: tls = require.")
	}
	k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
	if p.cur == nil {
		return destLineError(n, "The parameter %s comes before any section; the file must begin with [DEFAULT] or a [domain] section.", k)
	}
	ki := destKeyIndex(k)
	if ki >= 0 && p.cur.seen[ki] != 0 {
		return destLineError(n, "The parameter %s is already set on line %d of this section.", k, p.cur.seen[ki])
	}
	if ki >= 0 {
		p.cur.seen[ki] = n
	}
	if msg := setDestParam(&p.cur.e, k, v, p.cur == p.def); msg != "" {
		return destLineError(n, "%s", msg)
	}
	return nil
}

// defaultEntry checks that [DEFAULT] sets every mandatory parameter and
// returns it completed; lastLine is where a missing [DEFAULT] is reported.
func (p *destParser) defaultEntry(lastLine int) (DestControl, error) {
	if p.def == nil {
		return DestControl{}, destLineError(lastLine, "The file has no [DEFAULT] section; it must set every parameter of the default entry.")
	}
	for i, k := range destKeys {
		if p.def.seen[i] == 0 && k != "bounce_profile" && k != "dane" {
			return DestControl{}, destLineError(p.def.line, "[DEFAULT] must set %s.", k)
		}
	}
	def := p.def.e
	if def.RecipientLimit == 0 {
		def.RecipientMinutes = 0
	}
	if def.DANE == "" {
		def.DANE = DANEOff
	}
	if def.BounceProfile == "" {
		def.BounceProfile = DefaultBounceProfile
	}
	return def, nil
}

// domainEntries checks that each domain section sets recipient_limit and
// recipient_minutes together and returns their entries in file order.
func (p *destParser) domainEntries() ([]DestControl, error) {
	out := make([]DestControl, len(p.entries))
	for i, s := range p.entries {
		lim := s.seen[destKeyIndex("recipient_limit")] != 0
		mins := s.seen[destKeyIndex("recipient_minutes")] != 0
		if lim != mins {
			return nil, destLineError(s.line, "[%s]: recipient_limit and recipient_minutes must be set together.", s.e.Domain)
		}
		out[i] = s.e
	}
	return out, nil
}

// setDestParam sets one parameter and returns "" or what is wrong.
func setDestParam(e *DestControl, k, v string, isDefault bool) string {
	intIn := func(lo, hi int) (int, string) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Sprintf("The value of %s must be an integer from %d to %d, not %q.", k, lo, hi, v)
		}
		return n, ""
	}
	oneOf := func(choices ...string) (string, string) {
		for _, c := range choices {
			if strings.EqualFold(v, c) {
				return c, ""
			}
		}
		return "", fmt.Sprintf("The value of %s must be one of %s, not %q.", k, strings.Join(choices, ", "), v)
	}
	var msg string
	switch k {
	case "ip_sort_pref":
		e.IPSort, msg = oneOf(IPSortChoices...)
	case "max_host_concurrency":
		e.MaxConcurrency, msg = intIn(1, MaxHostConcurrency)
	case "max_messages_per_connection":
		e.MaxMsgsPerConn, msg = intIn(1, MaxMsgsPerConn)
	case "recipient_minutes":
		e.RecipientMinutes, msg = intIn(1, 60)
	case "recipient_limit":
		lo := 1
		if isDefault {
			lo = 0
		}
		e.RecipientLimit, msg = intIn(lo, MaxRecipientLimit)
	case "limit_type":
		switch v {
		case "0":
			v = LimitPerDomain
		case "1":
			v = LimitPerMXIP
		}
		e.LimitType, msg = oneOf(LimitPerDomain, LimitPerMXIP)
	case "limit_apply":
		switch v {
		case "0":
			v = LimitSystem
		case "1":
			v = LimitPerVG
		}
		e.LimitApply, msg = oneOf(LimitSystem, LimitPerVG)
	case "tls":
		var t string
		t, msg = oneOf(string(TLSOutNo), string(TLSOutPreferred), string(TLSOutRequired), string(TLSOutPreferredVerify), string(TLSOutRequiredVerify))
		e.TLS = TLSOut(t)
	case "dane":
		e.DANE, msg = oneOf(DANEChoices...)
	case "bounce_validation":
		switch v {
		case "1":
			v = string(BounceVerifyOn)
		case "0":
			v = string(BounceVerifyOff)
		}
		var bv string
		bv, msg = oneOf(string(BounceVerifyOn), string(BounceVerifyOff))
		e.BounceVerify = OnOff(bv)
	case "bounce_profile":
		if msg = CheckBounceProfile(v); msg == "" {
			e.BounceProfile = v
		}
	default:
		msg = fmt.Sprintf("Unknown parameter %q; the parameters are %s.", k, strings.Join(destKeys[:], ", "))
	}
	return msg
}
