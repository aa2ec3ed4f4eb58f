package delivernow

import (
	"strings"
	"testing"

	"esash/shell/shelltest"
)

type fakeRescheduler struct {
	calls []string
	n     int
}

func (f *fakeRescheduler) DeliverNow(domain string) int {
	f.calls = append(f.calls, domain)
	return f.n
}

func TestDelivernow(t *testing.T) {
	cases := []struct {
		name      string
		input     string
		n         int
		wantCalls []string // nil: no call
		want      []string
	}{
		{"by domain, interactive", "delivernow\n1\nExample.COM\n", 3, []string{"example.com"},
			[]string{"1. By recipient domain", "2. All messages", "Please enter the domain to schedule for immediate delivery.",
				"Rescheduling all messages to Example.COM for immediate delivery."}},
		{"all, interactive", "delivernow\n2\n", 1, []string{""}, []string{"Rescheduling all messages for immediate delivery."}},
		{"default is by domain", "delivernow\n\nb.test\n", 1, []string{"b.test"}, []string{"to b.test for"}},
		{"batch ALL", "delivernow all\n", 0, []string{""}, []string{"No message was waiting for a retry."}},
		{"batch domain", "delivernow c.test\n", 2, []string{"c.test"}, []string{"to c.test for"}},
		{"bad domain is refused with the field", "delivernow bad_domain!\n", 0, nil, []string{"domain"}},
		{"too many arguments", "delivernow a.test b.test\n", 0, nil, []string{"usage: delivernow [DOMAIN|ALL]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRescheduler{n: tc.n}
			out, _, _ := shelltest.RunSession(t, false, tc.input, New(f))
			if strings.Join(f.calls, ",") != strings.Join(tc.wantCalls, ",") || len(f.calls) != len(tc.wantCalls) {
				t.Errorf("calls %q, want %q", f.calls, tc.wantCalls)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
