package mtasts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Policy
		err  string
	}{
		{name: "RFC 8461 example", text: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: 604800}},
		{name: "LF, spaces, unknown key, upper-case mx", text: "version: STSv1\nmode:testing\n  extension : x\nmx:  MX1.Example.TEST. \nmax_age: 86400",
			want: Policy{Mode: ModeTesting, MX: []string{"mx1.example.test"}, MaxAge: 86400}},
		{name: "none needs no mx", text: "version: STSv1\nmode: none\nmax_age: 0\n", want: Policy{Mode: ModeNone, MaxAge: 0}},
		{name: "version not first", text: "mode: enforce\nversion: STSv1\nmx: a.test\nmax_age: 1\n", err: "first field"},
		{name: "bad version", text: "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", err: "version"},
		{name: "bad mode", text: "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", err: "mode"},
		{name: "no mx in enforce", text: "version: STSv1\nmode: enforce\nmax_age: 1\n", err: "no mx"},
		{name: "no max_age", text: "version: STSv1\nmode: enforce\nmx: a.test\n", err: "no max_age"},
		{name: "max_age too large", text: "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", err: "max_age"},
		{name: "negative max_age", text: "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", err: "max_age"},
		{name: "bad mx", text: "version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n", err: "mx"},
		{name: "wildcard inside", text: "version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n", err: "mx"},
		{name: "line without colon", text: "version: STSv1\nmode enforce\n", err: "colon"},
		{name: "empty", text: "", err: "no version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.text)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse = %+v, %v; want an ErrPolicy naming %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestMatchMX(t *testing.T) {
	p := Policy{MX: []string{"mail.example.com", "*.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.example.com.", true},
		{"mx.mail.example.com", false},
		{"a.example.net", true},
		{"a.b.example.net", false}, // the wildcard is one label (§4.1)
		{"example.net", false},
		{"other.test", false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if got := p.MatchMX(tc.host); got != tc.want {
				t.Fatalf("MatchMX(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		id      string
	}{
		{name: "RFC example", records: []string{"v=STSv1; id=20160831085700Z;"}, id: "20160831085700Z"},
		{name: "other records ignored", records: []string{"v=spf1 -all", "v=STSv1;id=abc"}, id: "abc"},
		{name: "extension field", records: []string{"v=STSv1; ext=1; id=X1"}, id: "X1"},
		{name: "none", records: []string{"v=spf1 -all"}},
		{name: "two records", records: []string{"v=STSv1; id=a", "v=STSv1; id=b"}},
		{name: "no id", records: []string{"v=STSv1;"}},
		{name: "id too long", records: []string{"v=STSv1; id=" + strings.Repeat("a", 33)}},
		{name: "id with punctuation", records: []string{"v=STSv1; id=a-b"}},
		{name: "v not first", records: []string{"v=STSv1x; id=a"}},
		// §3.1: "Records that do not begin with "v=STSv1;" are discarded":
		// another version's record is not an invalid STSv1 one.
		{name: "other version discarded", records: []string{"v=STSv10; id=a", "v=STSv1; id=b"}, id: "b"},
		{name: "space before the delimiter", records: []string{"v=STSv1 ; id=c"}, id: "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseRecord(tc.records)
			if tc.id == "" {
				if err == nil || !errors.Is(err, ErrNoRecord) {
					t.Fatalf("ParseRecord = %q, %v; want ErrNoRecord", id, err)
				}
				return
			}
			if err != nil || id != tc.id {
				t.Fatalf("ParseRecord = %q, %v; want %q", id, err, tc.id)
			}
		})
	}
}

// FuzzParse: no input panics the parser, and a policy it accepts, written
// out again, parses to the same policy with patterns MatchMX accepts.
func FuzzParse(f *testing.F) {
	f.Add("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
	f.Add("version: STSv1\nmode: none\nmax_age: 0\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString("version: STSv1\nmode: " + string(p.Mode) + "\n")
		for _, mx := range p.MX {
			b.WriteString("mx: " + mx + "\n")
			if !strings.HasPrefix(mx, "*.") && !p.MatchMX(mx) {
				t.Fatalf("pattern %q does not match itself", mx)
			}
		}
		b.WriteString("max_age: " + itoa(p.MaxAge) + "\n")
		q, err := Parse(b.String())
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip of %+v: %+v, %v", p, q, err)
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
			t.Fatalf("max_age %d out of range", p.MaxAge)
		}
	})
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
