package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestHATParamsTableCoversStruct(t *testing.T) {
	seen := map[string]bool{}
	for _, sp := range hatParams {
		if seen[sp.field] {
			t.Errorf("%s listed twice", sp.field)
		}
		seen[sp.field] = true
	}
	ty := reflect.TypeOf(HATParams{})
	for i := 0; i < ty.NumField(); i++ {
		if f := ty.Field(i); !seen[f.Name] {
			t.Errorf("HATParams.%s has no HAT text key: add it to hatParams", f.Name)
		}
		switch k := ty.Field(i).Type.Kind(); k {
		case reflect.String, reflect.Int, reflect.Int64:
		default:
			t.Errorf("HATParams.%s is a %s: only strings and integers keep zero = use default", ty.Field(i).Name, k)
		}
	}
}

func TestFormatHATFactory(t *testing.T) {
	got := FormatHAT(FactoryListener("IncomingMail", Public, "Management", 25))
	want := `$ACCEPTED
    ACCEPT
$BLOCKED
    REJECT
$THROTTLED
    ACCEPT {
        max_concurrency = 1
        max_msgs_per_session = 1
        max_rcpts_per_msg = 25
        use_rate_limit = "on"
        max_rcpts_per_hour = 20
    }
$TRUSTED
    ACCEPT {
        use_rate_limit = "off"
        spam_check = "off"  # (not active on this appliance)
    }
ALLOWED_LIST:
        $TRUSTED (My trusted senders have no anti-spam scanning or rate limiting)
BLOCKED_LIST:
        $BLOCKED (Spammers are rejected)
SUSPECTLIST:
        $THROTTLED (Suspicious senders are throttled)
UNKNOWNLIST:
        $ACCEPTED (Reviewed but undecided, continue normal acceptance)
ALL
        $ACCEPTED (Everyone else)
`
	if got != want {
		t.Errorf("FormatHAT(factory) =\n%s\nwant\n%s", got, want)
	}
}

func TestHATTextRoundTrip(t *testing.T) {
	for _, l := range []Listener{
		FactoryListener("IncomingMail", Public, "Management", 25),
		FactoryListener("OutgoingMail", Private, "Management", 26),
		hatListener(),
		bigHAT(),
		func() Listener {
			l := hatListener()
			l.Policies[0].Params = HATParams{BannerText: "Welcome\n\"friends\"", BannerCode: 220,
				TLS: TLSInPreferred, VerifyClientCert: "on", SMTPAuth: "required", RequireTLSForAuth: "on",
				MaxMessageSize: 5 << 20, SPFLevel: "sidf_strict", DHAPAction: "code", BannerHostname: "mx.example.com"}
			l.SenderGroups = append(l.SenderGroups, SenderGroup{Name: "EMPTY", Policy: "ACCEPTED"})
			return l
		}(),
	} {
		text := FormatHAT(l)
		ps, gs, err := ParseHAT(text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", l.Name, err, text)
		}
		back := l
		back.Policies, back.SenderGroups = ps, gs
		if !reflect.DeepEqual(normHAT(back), normHAT(l)) {
			t.Errorf("%s: round trip differs:\n%s\n--- reads back as ---\n%s", l.Name, text, FormatHAT(back))
		}
	}
}

// normHAT makes nil and empty host lists alike.
func normHAT(l Listener) Listener {
	for i := range l.SenderGroups {
		if len(l.SenderGroups[i].Hosts) == 0 {
			l.SenderGroups[i].Hosts = nil
		}
	}
	return l
}

func TestParseHATErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		msg        string
	}{
		{"empty", "\n# nothing\n", 1, "no mail flow policy"},
		{"no action", "$A\n$B\n    REJECT\n", 2, "has no action"},
		{"no action at end", "$A\n", 1, "has no action"},
		{"bad action", "$A\n    ALLOW\n", 2, `unknown action "ALLOW"`},
		{"unclosed", "$A\n    ACCEPT {\n        tls = \"off\"\nG:\n", 4, "missing }"},
		{"unclosed at end", "$A\n    ACCEPT {\n        tls = \"off\"\n", 3, "missing }"},
		{"unknown key", "$A\n    ACCEPT {\n        colour = \"red\"\n    }\n", 3, `unknown parameter "colour"`},
		{"unquoted", "$A\n    ACCEPT {\n        tls = off\n    }\n", 3, "must be quoted"},
		{"bad enum", "$A\n    ACCEPT {\n        tls = \"maybe\"\n    }\n", 3, `tls: The value must be one of`},
		{"bad number", "$A\n    ACCEPT {\n        max_concurrency = lots\n    }\n", 3, "must be a number"},
		{"out of range", "$A\n    ACCEPT {\n        max_concurrency = 0x10\n    }\n", 3, "must be a number"},
		{"too many", "$A\n    ACCEPT {\n        max_concurrency = 5000\n    }\n", 3, "from 1 to 1000"},
		{"twice", "$A\n    ACCEPT {\n        tls = \"off\"\n        tls = \"off\"\n    }\n", 4, "set twice"},
		{"dup policy", "$A\n    ACCEPT\n$A\n    REJECT\n", 3, "already defined on line 1"},
		{"dup group", "$A\n    ACCEPT\nG:\n    $A\nG:\n    $A\n", 5, "already defined on line 3"},
		{"bad host", "$A\n    ACCEPT\nG:\n    $A (c)\n    10.0.0.0/33\n", 5, "CIDR"},
		{"dup host", "$A\n    ACCEPT\nG:\n    $A\n    10.1.1.1, 10.1.1.1\n", 5, "already in the sender group"},
		{"missing policy", "$A\n    ACCEPT\nG:\n    $B (c)\n", 4, "$B, which the file does not define"},
		{"group without policy", "$A\n    ACCEPT\nG:\n    10.0.0.1\nH:\n    $A\n", 5, "has no $POLICY"},
		{"two policies", "$A\n    ACCEPT\nG:\n    $A\n    $A\n", 5, "already has a policy"},
		{"bad comment", "$A\n    ACCEPT\nG:\n    $A comment\n", 4, "in parentheses"},
		{"ALL members", "$A\n    ACCEPT\nALL\n    $A\n    10.0.0.1\n", 5, "takes no senders"},
		{"stray indent", "    $A\n", 1, "unexpected indented line"},
		{"stray word", "$A\n    ACCEPT\nhello\n", 3, "unexpected line"},
		{"bad group name", "$A\n    ACCEPT\nbad name:\n    $A\n", 3, "invalid sender group name"},
		{"bad policy name", "$1A\n    ACCEPT\n", 1, "invalid policy name"},
		{"control", "$A\n    ACCEPT\nG:\n    $A (a\x01b)\n", 4, "control character"},
		{"long", "$A\n    ACCEPT\n# " + strings.Repeat("x", MaxHATLine) + "\n", 3, "longer than"},
		{"garbage after action", "$A\n    ACCEPT now\n", 2, "after the action"},
	} {
		_, _, err := ParseHAT(tc.text)
		se, ok := err.(*HATSyntaxError)
		if !ok {
			t.Errorf("%s: err = %v, want a syntax error", tc.name, err)
			continue
		}
		if se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s: %v, want line %d: …%s…", tc.name, err, tc.line, tc.msg)
		}
	}
}

func TestParseHATTolerates(t *testing.T) {
	text := "# exported\r\n$A\r\n\tACCEPT {}\r\n$B\n    relay {\n    # a comment\n    max_rcpts_per_hour = -1\n" +
		"    dhap_limit = 5  # (not active on this appliance)\n    spam_check = \"on\" # x\n    smtp_banner_text = \"a # b\"\n}\n" +
		"G :\n    10.0.0.1, .example.com\n        $A ( spaced )\n\nALL\n  $B\n"
	ps, gs, err := ParseHAT(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Action != Relay || ps[1].Params.RateLimit != "off" || ps[1].Params.DHAPLimit != 5 ||
		ps[1].Params.SpamCheck != "on" || ps[1].Params.BannerText != "a # b" {
		t.Errorf("policies = %+v", ps)
	}
	if len(gs) != 2 || gs[0].Name != "G" || gs[0].Comment != "spaced" || len(gs[0].Hosts) != 2 ||
		gs[1].Name != "ALL" || gs[1].Hosts[0] != "ALL" || gs[1].Policy != "B" {
		t.Errorf("groups = %+v", gs)
	}
}

// FuzzParseHAT: any text is either refused with a line inside the text, or
// accepted as a table that validates, prints, and reads back the same.
func FuzzParseHAT(f *testing.F) {
	f.Add(FormatHAT(FactoryListener("IncomingMail", Public, "Management", 25)))
	f.Add(FormatHAT(hatListener()))
	f.Fuzz(func(t *testing.T, text string) {
		ps, gs, err := ParseHAT(text)
		if err != nil {
			se, ok := err.(*HATSyntaxError)
			if !ok {
				t.Fatalf("error %v is not a *HATSyntaxError", err)
			}
			if n := strings.Count(text, "\n") + 1; se.Line < 1 || se.Line > n {
				t.Fatalf("line %d outside the text's %d lines", se.Line, n)
			}
			return
		}
		l := FactoryListener("L", Public, "Management", 25)
		l.Policies, l.SenderGroups = ps, gs
		c := &checker{}
		c.hat("listeners[L]", l)
		c.hatDetails("listeners[L]", l)
		if errs := c.ps.Errors(); len(errs) > 0 {
			t.Fatalf("accepted a table the commit check refuses: %v\n%q", errs, text)
		}
		out := FormatHAT(l)
		ps2, gs2, err := ParseHAT(out)
		if err != nil {
			t.Fatalf("printed table does not read back: %v\n%s", err, out)
		}
		l2 := l
		l2.Policies, l2.SenderGroups = ps2, gs2
		if !reflect.DeepEqual(normHAT(l2), normHAT(l)) {
			t.Fatalf("round trip differs:\n%s\n---\n%s", out, FormatHAT(l2))
		}
		NewHATMatcher(l).Match(netip.MustParseAddr("10.0.0.1"), "a.example.com")
	})
}

// FuzzHostPattern: the sender group pattern parser agrees with
// CheckHostPattern, and a parsed pattern holds what it says it holds.
func FuzzHostPattern(f *testing.F) {
	for _, s := range []string{"ALL", "10.1.1.1", "10.1.1.0/24", "10.1.1.1-50", "10.1.1.1-10.1.2.1",
		"2001:db8::/32", "2001:db8::1-2001:db8::ff", "::ffff:10.0.0.1", ".example.com", "mx.example.com", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseHostPattern(s)
		check := CheckHostPattern(s)
		if err != nil {
			return
		}
		if check != "" {
			t.Fatalf("ParseHostPattern accepts %q, CheckHostPattern says %s", s, check)
		}
		switch p.Kind {
		case PatternRange:
			if !p.Lo.IsValid() || !p.Hi.IsValid() || p.Lo.Is4() != p.Hi.Is4() || p.Hi.Less(p.Lo) || p.Lo.Is4In6() {
				t.Fatalf("%q: bad range %s-%s", s, p.Lo, p.Hi)
			}
			if !p.Contains(p.Lo, "") || !p.Contains(p.Hi, "") {
				t.Fatalf("%q does not contain its own ends", s)
			}
			if n := p.Hi.Next(); n.IsValid() && p.Contains(n, "") {
				t.Fatalf("%q contains %s after its end", s, n)
			}
			if n := p.Lo.Prev(); n.IsValid() && p.Contains(n, "") {
				t.Fatalf("%q contains %s before its start", s, n)
			}
		case PatternHost, PatternDomain:
			probe := strings.TrimPrefix(p.Name, ".")
			if p.Kind == PatternDomain {
				probe = "x." + probe
			}
			if !p.Contains(netip.IPv4Unspecified(), strings.ToUpper(probe)+".") {
				t.Fatalf("%q does not match %q", s, probe)
			}
			if p.Contains(netip.IPv4Unspecified(), "") {
				t.Fatalf("%q matches a host without a name", s)
			}
		}
	})
}
