package mtastsconfig

import (
	"reflect"
	"testing"
)

// TestParseLists: the answers to the domains and mx questions, normalized
// (lower case, no trailing dot, no repeats), with the message that names
// what is accepted.
func TestParseLists(t *testing.T) {
	tests := []struct {
		name    string
		mx      bool
		mode    string
		in      string
		want    []string
		wantMsg string
	}{
		{name: "domains", in: "Example.COM., example.org, example.com", want: []string{"example.com", "example.org"}},
		{name: "subdomain form", in: ".example.com", wantMsg: "The value must be a list of domain names separated by commas; .example.com is not one."},
		{name: "no domain", in: " , ", wantMsg: "You must enter at least one domain."},
		{name: "mx", mx: true, mode: "enforce", in: "Mail.example.com, *.mx.example.com", want: []string{"mail.example.com", "*.mx.example.com"}},
		{name: "mx wildcard inside", mx: true, mode: "testing", in: "mail.*.example.com", wantMsg: "mail.*.example.com: The value must be a host name or *.domain (a wildcard only as the whole first label)."},
		{name: "mx NONE enforce", mx: true, mode: "enforce", in: "none", wantMsg: "A policy in mode enforce needs at least one MX host name."},
		{name: "mx NONE none", mx: true, mode: "none", in: "NONE"},
		{name: "mx empty", mx: true, mode: "none", in: ",", wantMsg: "You must enter an MX host name or NONE."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var msg string
			if tc.mx {
				got, msg = parseMX(tc.in, tc.mode)
			} else {
				got, msg = parseDomains(tc.in)
			}
			if msg != tc.wantMsg || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("= %q, %q; want %q, %q", got, msg, tc.want, tc.wantMsg)
			}
		})
	}
}
