package config

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func lookupTable() *Destinations {
	d := Factory(Certificate{}).Destinations
	d.Entries = []DestControl{
		{Domain: "example.com", TLS: TLSOutRequired, MaxConcurrency: 10},
		{Domain: ".example.com", TLS: TLSOutPreferredVerify, DANE: DANEOpportunistic},
		{Domain: ".sub.example.com", RecipientLimit: 100, RecipientMinutes: 30},
		{Domain: "plain.org", TLS: TLSOutNo, DANE: DANEMandatory},
		{Domain: "limit.net", RecipientLimit: 5},
	}
	return &d
}

func TestDestLookup(t *testing.T) {
	d := lookupTable()
	def := d.Default
	tests := []struct {
		domain string
		entry  string
		check  func(e DestControl) bool
	}{
		{"example.com", "example.com", func(e DestControl) bool {
			return e.TLS == TLSOutRequired && e.MaxConcurrency == 10 && e.MaxMsgsPerConn == def.MaxMsgsPerConn
		}},
		{"EXAMPLE.com.", "example.com", nil},
		{"mx.example.com", ".example.com", func(e DestControl) bool {
			return e.TLS == TLSOutPreferredVerify && e.DANE == DANEOpportunistic && e.MaxConcurrency == 500
		}},
		{"sub.example.com", ".example.com", nil}, // .sub.example.com is for its subdomains only
		{"a.b.sub.example.com", ".sub.example.com", func(e DestControl) bool {
			// The nearest entry wins whole; what it leaves unset comes from
			// DEFAULT, not from the .example.com entry.
			return e.TLS == def.TLS && e.RecipientLimit == 100 && e.RecipientMinutes == 30
		}},
		{"xexample.com", "DEFAULT", nil},
		{"other.org", "DEFAULT", func(e DestControl) bool { return e == def.Inherit(DestControl{}) }},
		{"plain.org", "plain.org", func(e DestControl) bool { return e.DANE == DANEOff }}, // no DANE without TLS
		{"limit.net", "limit.net", func(e DestControl) bool { return e.RecipientMinutes == 60 }},
		{"", "DEFAULT", nil},
		{".", "DEFAULT", nil},
		{"com", "DEFAULT", nil},
	}
	x := NewDestIndex(d)
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			e := d.Lookup(tc.domain)
			if e.Domain != tc.entry {
				t.Errorf("Lookup(%q) used entry %q, want %q", tc.domain, e.Domain, tc.entry)
			}
			if tc.check != nil && !tc.check(e) {
				t.Errorf("Lookup(%q) = %+v", tc.domain, e)
			}
			if xe := x.Lookup(tc.domain); xe != e {
				t.Errorf("DestIndex.Lookup(%q) = %+v, Destinations.Lookup = %+v", tc.domain, xe, e)
			}
		})
	}
}

// TestDestIndexAgrees compares the index with the scan on a large table
// and random names, some of which hit entries and some their subdomains.
func TestDestIndexAgrees(t *testing.T) {
	d := &withEntries(factory(t), 10000).Destinations
	x := NewDestIndex(d)
	if x.Len() != 10000 {
		t.Fatalf("Len = %d", x.Len())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		n := r.IntN(12000)
		var dom string
		switch i % 4 {
		case 0:
			dom = fmt.Sprintf("d%05d.example.com", n)
		case 1:
			dom = fmt.Sprintf("mx%d.subd%05d.example.com", i, n)
		case 2:
			dom = fmt.Sprintf("subd%05d.example.com", n)
		default:
			dom = fmt.Sprintf("host%d.example.org", n)
		}
		if a, b := d.Lookup(dom), x.Lookup(dom); a != b {
			t.Fatalf("%s: index %+v, scan %+v", dom, b, a)
		}
	}
}

func TestDestFileRoundTrip(t *testing.T) {
	for _, c := range []*Config{factory(t), withEntries(factory(t), 10000)} {
		d := c.Destinations
		d.Entries = append(d.Entries, DestControl{Domain: "all.example.net", MaxConcurrency: 7, RecipientLimit: 9,
			RecipientMinutes: 15, LimitType: LimitPerMXIP, LimitApply: LimitPerVG, MaxMsgsPerConn: 3,
			TLS: TLSOutRequiredVerify, DANE: DANEMandatory, BounceVerify: BounceVerifyOn, BounceProfile: "Slow",
			IPSort: IPRequireV4})
		file := FormatDestinations(&d)
		def, entries, err := ParseDestinations(file)
		if err != nil {
			t.Fatalf("ParseDestinations(FormatDestinations) = %v", err)
		}
		if def != d.Default {
			t.Errorf("default = %+v, want %+v", def, d.Default)
		}
		if !reflect.DeepEqual(entries, d.Entries) {
			t.Errorf("entries differ after a round trip (%d vs %d)", len(entries), len(d.Entries))
		}
		again := FormatDestinations(&Destinations{Default: def, Entries: entries})
		if string(again) != string(file) {
			t.Errorf("second export differs from the first")
		}
	}
}

func TestParseDestinations(t *testing.T) {
	const def = "[DEFAULT]\nip_sort_pref = PREFER_V6\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\n" +
		"recipient_minutes = 60\nrecipient_limit = 0\nlimit_type = host\nlimit_apply = system\ntls = off\nbounce_validation = off\n"
	t.Run("accepts", func(t *testing.T) {
		file := "\ufeff# comment\n; other comment\n" + def + "\n[Example.COM.]\nTLS = Require_Verify\nlimit_type = 1\nlimit_apply = 0\n" +
			"[.example.net]\nrecipient_limit = 10\nrecipient_minutes = 5\nbounce_validation = 1\n"
		d, es, err := ParseDestinations([]byte(file))
		if err != nil {
			t.Fatal(err)
		}
		if d.Domain != DefaultDomain || d.DANE != DANEOff || d.BounceProfile != DefaultBounceProfile || d.RecipientMinutes != 0 {
			t.Errorf("default = %+v", d)
		}
		want := []DestControl{
			{Domain: "example.com", TLS: TLSOutRequiredVerify, LimitType: LimitPerMXIP, LimitApply: LimitSystem},
			{Domain: ".example.net", RecipientLimit: 10, RecipientMinutes: 5, BounceVerify: BounceVerifyOn},
		}
		if !reflect.DeepEqual(es, want) {
			t.Errorf("entries = %+v, want %+v", es, want)
		}
	})
	tests := []struct {
		name string
		file string
		line int
		msg  string
	}{
		{"empty", "", 0, "no [DEFAULT] section"},
		{"no default", "[example.com]\ntls = on\n", 2, "no [DEFAULT] section"},
		{"default incomplete", "[DEFAULT]\ntls = on\n", 1, "[DEFAULT] must set ip_sort_pref"},
		{"parameter before section", "tls = on\n" + def, 1, "before any section"},
		{"not key = value", def + "[example.com]\ntls on\n", 12, "name, '=' and a value"},
		{"unclosed header", def + "[example.com\n", 11, "square brackets"},
		{"bad domain", def + "[bad_domain.example.com]\n", 11, "valid characters"},
		{"reserved name", def + "[ALL]\n", 11, "reserved"},
		{"duplicate section", def + "[a.example.com]\n[A.example.com]\n", 12, "already defined on line 11"},
		{"duplicate default", def + def, 11, "already defined on line 1"},
		{"duplicate key", def + "[a.example.com]\ntls = on\ntls = off\n", 13, "already set on line 12"},
		{"unknown key", def + "[a.example.com]\nspeed = fast\n", 12, `Unknown parameter "speed"`},
		{"bad tls", def + "[a.example.com]\ntls = maybe\n", 12, "must be one of off, on, require"},
		{"concurrency range", def + "[a.example.com]\nmax_host_concurrency = 0\n", 12, "from 1 to 10000"},
		{"not a number", def + "[a.example.com]\nmax_messages_per_connection = ten\n", 12, "integer from 1 to 1000"},
		{"minutes range", def + "[a.example.com]\nrecipient_minutes = 61\nrecipient_limit = 5\n", 12, "from 1 to 60"},
		{"limit without minutes", def + "[a.example.com]\nrecipient_limit = 5\n", 11, "set together"},
		{"entry limit zero", def + "[a.example.com]\nrecipient_limit = 0\n", 12, "from 1 to"},
		{"bounce profile", def + "[a.example.com]\nbounce_profile = 9lives\n", 12, "bounce profile name must start with"},
		{"ip sort", def + "[a.example.com]\nip_sort_pref = IPV6\n", 12, "PREFER_V4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseDestinations([]byte(tc.file))
			var fe *FileLineError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FileLineError", err)
			}
			if fe.Line != tc.line || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("err = %v, want line %d and %q", err, tc.line, tc.msg)
			}
		})
	}
}

func FuzzParseDestinations(f *testing.F) {
	f.Add(FormatDestinations(lookupTable()))
	f.Add([]byte("[DEFAULT]\ntls = on\n[x.example.com]\nrecipient_limit = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, es, err := ParseDestinations(data)
		if err != nil {
			var fe *FileLineError
			if !errors.As(err, &fe) || fe.Line < 0 || fe.Line > strings.Count(string(data), "\n")+1 {
				t.Fatalf("error %v is not a FileLineError with a line of the file", err)
			}
			return
		}
		d := Destinations{Default: def, Entries: es}
		// What was accepted passes the commit check's destination rules
		// and exports to a file that imports to the same table.
		c := &checker{}
		c.destControls(&Config{Destinations: d, CAs: TrustedCAs{SystemEnabled: true}})
		if len(c.ps) > 0 {
			t.Fatalf("accepted a table the commit check refuses: %v", c.ps)
		}
		out := FormatDestinations(&d)
		def2, es2, err := ParseDestinations(out)
		if err != nil {
			t.Fatalf("export of an imported table does not import: %v\n%s", err, out)
		}
		if def2 != def || !reflect.DeepEqual(es2, es) {
			t.Fatalf("round trip changed the table:\n%s", out)
		}
	})
}

// BenchmarkDestLookup: the effective entry for a domain among 10,000
// entries, as the MTA asks it for every message: with the index (exact
// entry, a subdomain of a .domain entry, no entry), with the scan, and the
// cost of building the index once per configuration.
func BenchmarkDestLookup(b *testing.B) {
	d := &withEntries(Factory(Certificate{}), 10000).Destinations
	x := NewDestIndex(d)
	for _, tc := range []struct{ name, domain string }{
		{"index-exact", "d04321.example.com"},
		{"index-parent", "mx1.subd07003.example.com"},
		{"index-default", "unlisted.example.org"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x.Lookup(tc.domain)
			}
		})
	}
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Lookup("mx1.subd07003.example.com")
		}
	})
	b.Run("build-index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewDestIndex(d)
		}
	})
}

func BenchmarkParseDestinations10k(b *testing.B) {
	d := &withEntries(Factory(Certificate{}), 10000).Destinations
	file := FormatDestinations(d)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseDestinations(file); err != nil {
			b.Fatal(err)
		}
	}
}
