package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The host access table as text: what listenerconfig > HOSTACCESS > PRINT
// shows and EXPORT writes, and what IMPORT reads back. It follows the
// AsyncOS layout, with one addition: a parameter esash stores only for
// script compatibility (spam_check ...) is followed by the comment
// "# (not active on this appliance)", which IMPORT skips:
//
//	$THROTTLED
//	    ACCEPT {
//	        max_concurrency = 1
//	        use_rate_limit = "on"
//	    }
//	$BLOCKED
//	    REJECT
//	ALLOWED_LIST:
//	        $TRUSTED (My trusted senders have no anti-spam scanning or rate limiting)
//	        10.1.1.0/24
//	        .partner.example.com
//	ALL
//	        $ACCEPTED (Everyone else)
//
// Mail flow policies first ($NAME, then the action and, when the policy
// sets any, its parameters in the order of the HAT dialog), then the
// sender groups in table order: NAME:, the policy line with the comment
// in parentheses, one sender per line. The ALL entry is written as in
// AsyncOS, without a colon. Lines starting with # are comments. The
// listener's default policy parameters are not part of the table.

// FormatHAT writes a listener's host access table as text.
func FormatHAT(l Listener) string {
	var b strings.Builder
	for _, p := range l.Policies {
		b.WriteString("$" + p.Name + "\n")
		lines := paramLines(p.Params)
		if len(lines) == 0 {
			b.WriteString("    " + string(p.Action) + "\n")
			continue
		}
		b.WriteString("    " + string(p.Action) + " {\n")
		for _, ln := range lines {
			b.WriteString("        " + ln + "\n")
		}
		b.WriteString("    }\n")
	}
	for _, g := range l.SenderGroups {
		if g.Name == "ALL" && len(g.Hosts) == 1 && g.Hosts[0] == "ALL" {
			b.WriteString("ALL\n")
		} else {
			b.WriteString(g.Name + ":\n")
		}
		b.WriteString("        $" + g.Policy)
		if g.Comment != "" {
			b.WriteString(" (" + g.Comment + ")")
		}
		b.WriteString("\n")
		if g.Name == "ALL" && len(g.Hosts) == 1 && g.Hosts[0] == "ALL" {
			continue
		}
		for _, h := range g.Hosts {
			b.WriteString("        " + h + "\n")
		}
	}
	return b.String()
}

// paramLines are the `key = value` lines of the parameters a policy sets.
func paramLines(p HATParams) []string {
	var out []string
	v := reflect.ValueOf(p)
	for i := range hatParams {
		sp := &hatParams[i]
		f := v.Field(sp.index)
		if f.IsZero() {
			continue
		}
		var ln string
		if f.Kind() == reflect.String {
			ln = sp.key + " = " + strconv.Quote(f.String())
		} else {
			ln = fmt.Sprintf("%s = %d", sp.key, f.Int())
		}
		if HATParamInactive(sp.key) {
			ln += "  # " + InactiveNote
		}
		out = append(out, ln)
	}
	return out
}

// stripComment removes a "# ..." comment after a parameter's value (PRINT
// and EXPORT mark the parameters esash stores only for compatibility so).
func stripComment(val string) string {
	if strings.HasPrefix(val, `"`) {
		q, err := strconv.QuotedPrefix(val)
		if err != nil {
			return val
		}
		if rest := strings.TrimSpace(val[len(q):]); strings.HasPrefix(rest, "#") {
			return q
		}
		return val
	}
	if i := strings.Index(val, "#"); i >= 0 {
		return strings.TrimSpace(val[:i])
	}
	return val
}

// HATSyntaxError is a host access table text that cannot be imported: the
// first problem, with its line.
type HATSyntaxError struct {
	Line int
	Msg  string
}

func (e *HATSyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxHATLine is the longest line ParseHAT reads.
const MaxHATLine = 8192

// ParseHAT reads a host access table written by FormatHAT (or by hand, in
// the same layout). It returns the whole table or, at the first problem,
// a *HATSyntaxError and nothing else: an import is all or nothing. Every
// name, sender and parameter is checked as the commit check would, and
// every sender group must use a policy the file defines.
func ParseHAT(text string) ([]MailFlowPolicy, []SenderGroup, error) {
	p := hatParser{policyLine: map[string]int{}, groupLine: map[string]int{}}
	lines := strings.Split(text, "\n")
	last := 1 // the last line with content: where a missing end is reported
	for i, raw := range lines {
		p.line = i + 1
		if err := p.feed(raw); err != nil {
			return nil, nil, err
		}
		if strings.TrimSpace(raw) != "" {
			last = p.line
		}
	}
	p.line = last
	if err := p.end(); err != nil {
		return nil, nil, err
	}
	for i, g := range p.groups {
		if _, ok := p.policyLine[g.Policy]; !ok {
			return nil, nil, &HATSyntaxError{Line: p.groupPolicyAt[i],
				Msg: fmt.Sprintf("sender group %s uses the policy $%s, which the file does not define", g.Name, g.Policy)}
		}
	}
	if len(p.policies) == 0 && len(p.groups) == 0 {
		return nil, nil, &HATSyntaxError{Line: 1, Msg: "the file holds no mail flow policy and no sender group"}
	}
	return p.policies, p.groups, nil
}

type hatState int

const (
	stTop       hatState = iota
	stAction             // after $NAME: the action line
	stParams             // inside { }
	stGroup              // after NAME: or ALL: policy line and senders
	stAllMember          // after the ALL entry's policy line: no senders
)

type hatParser struct {
	line          int
	state         hatState
	policies      []MailFlowPolicy
	groups        []SenderGroup
	policyLine    map[string]int
	groupLine     map[string]int
	groupPolicyAt []int // per group: the line of its $POLICY
	seenKey       map[string]bool
	seenHost      map[string]bool
	isAll         bool
	hasPolicy     bool
}

func (p *hatParser) errf(format string, args ...any) error {
	return &HATSyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *hatParser) feed(raw string) error {
	raw = strings.TrimSuffix(raw, "\r")
	if len(raw) > MaxHATLine {
		return p.errf("the line is longer than %d characters", MaxHATLine)
	}
	t := strings.TrimSpace(raw)
	if t == "" || strings.HasPrefix(t, "#") {
		return nil
	}
	for _, r := range t {
		if r < ' ' && r != '\t' || r == 0x7f {
			return p.errf("the line holds a control character")
		}
	}
	indented := raw[0] == ' ' || raw[0] == '\t'
	switch p.state {
	case stAction:
		if !indented {
			return p.errf("the policy $%s has no action (ACCEPT, REJECT, TCPREFUSE, RELAY or CONTINUE)", p.curPolicy().Name)
		}
		return p.action(t)
	case stParams:
		if t == "}" {
			p.state = stTop
			return nil
		}
		if !indented {
			return p.errf("missing } after the parameters of $%s", p.curPolicy().Name)
		}
		return p.param(t)
	case stGroup:
		if indented {
			return p.groupLineIn(t)
		}
		if err := p.endGroup(); err != nil {
			return err
		}
	case stAllMember:
		if indented {
			return p.errf("the ALL entry takes no senders; put %q in a sender group", t)
		}
		p.state = stTop
	case stTop:
		if indented {
			return p.errf("unexpected indented line %q: expected $POLICY, SENDERGROUP: or ALL", t)
		}
	}
	return p.top(t)
}

func (p *hatParser) end() error {
	switch p.state {
	case stAction:
		return p.errf("the policy $%s has no action (ACCEPT, REJECT, TCPREFUSE, RELAY or CONTINUE)", p.curPolicy().Name)
	case stParams:
		return p.errf("missing } after the parameters of $%s", p.curPolicy().Name)
	case stGroup:
		return p.endGroup()
	}
	return nil
}

func (p *hatParser) curPolicy() *MailFlowPolicy { return &p.policies[len(p.policies)-1] }
func (p *hatParser) curGroup() *SenderGroup     { return &p.groups[len(p.groups)-1] }

func (p *hatParser) top(t string) error {
	switch {
	case strings.HasPrefix(t, "$"):
		name := t[1:]
		if r := CheckName(name); r != "" {
			return p.errf("invalid policy name %q: %s", name, r)
		}
		if at, dup := p.policyLine[name]; dup {
			return p.errf("the policy $%s is already defined on line %d", name, at)
		}
		p.policyLine[name] = p.line
		p.policies = append(p.policies, MailFlowPolicy{Name: name})
		p.state = stAction
		return nil
	case t == "ALL":
		return p.startGroup("ALL", true)
	case strings.HasSuffix(t, ":"):
		name := strings.TrimSpace(strings.TrimSuffix(t, ":"))
		if r := CheckName(name); r != "" {
			return p.errf("invalid sender group name %q: %s", name, r)
		}
		return p.startGroup(name, false)
	}
	return p.errf("unexpected line %q: expected $POLICY, SENDERGROUP: or ALL", t)
}

func (p *hatParser) startGroup(name string, all bool) error {
	if at, dup := p.groupLine[name]; dup {
		return p.errf("the sender group %s is already defined on line %d", name, at)
	}
	p.groupLine[name] = p.line
	g := SenderGroup{Name: name}
	if all {
		g.Hosts = []string{"ALL"}
	}
	p.groups = append(p.groups, g)
	p.groupPolicyAt = append(p.groupPolicyAt, 0)
	p.isAll, p.hasPolicy, p.seenHost = all, false, map[string]bool{}
	p.state = stGroup
	return nil
}

func (p *hatParser) endGroup() error {
	if !p.hasPolicy {
		return p.errf("the sender group %s has no $POLICY line", p.curGroup().Name)
	}
	p.state = stTop
	return nil
}

func (p *hatParser) action(t string) error {
	word, rest, _ := strings.Cut(t, " ")
	rest = strings.TrimSpace(rest)
	a := Action(strings.ToUpper(word))
	switch a {
	case Accept, Reject, TCPRefuse, Relay, Continue:
	default:
		return p.errf("unknown action %q: expected ACCEPT, REJECT, TCPREFUSE, RELAY or CONTINUE", word)
	}
	p.curPolicy().Action = a
	p.seenKey = map[string]bool{}
	switch rest {
	case "":
		p.state = stTop
	case "{":
		p.state = stParams
	case "{}", "{ }":
		p.state = stTop
	default:
		return p.errf("unexpected %q after the action: expected { or the end of the line", rest)
	}
	return nil
}

func (p *hatParser) param(t string) error {
	key, val, ok := strings.Cut(t, "=")
	key, val = strings.TrimSpace(key), stripComment(strings.TrimSpace(val))
	if !ok || key == "" || val == "" {
		return p.errf("expected key = value, not %q", t)
	}
	sp := paramByKey[key]
	if sp == nil {
		return p.errf("unknown parameter %q", key)
	}
	if p.seenKey[key] {
		return p.errf("the parameter %s is set twice", key)
	}
	p.seenKey[key] = true
	pp := &p.curPolicy().Params
	f := reflect.ValueOf(pp).Elem().Field(sp.index)
	if f.Kind() == reflect.String {
		if !strings.HasPrefix(val, `"`) {
			return p.errf("the value of %s must be quoted: %s = \"...\"", key, key)
		}
		s, err := strconv.Unquote(val)
		if err != nil {
			return p.errf("the value of %s is not a valid quoted string", key)
		}
		f.SetString(s)
	} else {
		n, err := strconv.ParseInt(val, 10, 64)
		switch {
		case err != nil:
			return p.errf("the value of %s must be a number, not %s", key, val)
		case key == "max_rcpts_per_hour" && n == -1:
			// AsyncOS writes a disabled rate limit as -1.
			pp.RateLimit, n = Off, 0
		}
		f.SetInt(n)
	}
	if msg := sp.check(f); msg != "" {
		return p.errf("%s: %s", key, msg)
	}
	return nil
}

func (p *hatParser) groupLineIn(t string) error {
	g := p.curGroup()
	if strings.HasPrefix(t, "$") {
		if p.hasPolicy {
			return p.errf("the sender group %s already has a policy", g.Name)
		}
		name, comment, err := splitPolicyLine(t[1:])
		if err != "" {
			return p.errf("%s", err)
		}
		g.Policy, g.Comment = name, comment
		p.hasPolicy = true
		p.groupPolicyAt[len(p.groupPolicyAt)-1] = p.line
		if p.isAll {
			p.state = stAllMember
		}
		return nil
	}
	if p.isAll {
		return p.errf("the ALL entry takes no senders; put %q in a sender group", t)
	}
	for _, h := range strings.Split(t, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if r := CheckHostPattern(h); r != "" {
			return p.errf("%q: %s", h, r)
		}
		if _, err := ParseHostPattern(h); err != nil {
			return p.errf("%q: %s", h, err)
		}
		if p.seenHost[h] {
			return p.errf("%q is already in the sender group %s", h, g.Name)
		}
		p.seenHost[h] = true
		g.Hosts = append(g.Hosts, h)
	}
	return nil
}

// splitPolicyLine splits "NAME (comment)" into its parts.
func splitPolicyLine(s string) (name, comment, problem string) {
	name, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	if r := CheckName(name); r != "" {
		return "", "", fmt.Sprintf("invalid policy name %q: %s", name, r)
	}
	if rest == "" {
		return name, "", ""
	}
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", "", fmt.Sprintf("the comment after $%s must be in parentheses", name)
	}
	return name, strings.TrimSpace(rest[1 : len(rest)-1]), ""
}
