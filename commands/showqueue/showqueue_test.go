package showqueue

import (
	"strings"
	"testing"
	"time"

	"esash/shell/shelltest"
)

type fakeQueue []Message

// Messages leaves Received out, as the real queue does.
func (f fakeQueue) Messages() []Message {
	out := append([]Message(nil), f...)
	for i := range out {
		out[i].Received = ""
	}
	return out
}

func (f fakeQueue) Received(mid int64) string {
	for _, m := range f {
		if m.MID == mid {
			return m.Received
		}
	}
	return ""
}

func TestShowqueue(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	q := fakeQueue{
		{MID: 7, ICID: 3, Time: at, Size: 120, From: "a@x.test", To: []string{"b@y.test"}, Listener: "IncomingMail",
			RemoteIP: "127.0.0.9", HELO: "client.test", TLS: "TLSv1.3 TLS_AES_128_GCM_SHA256", Received: "Received: from client.test"},
		{MID: 8, ICID: 4, Time: at, Size: 99, From: "c@x.test", To: []string{"d@z.test", "e@z.test"}, Listener: "IncomingMail",
			RemoteIP: "127.0.0.9", HELO: "client.test", Attempts: 2, NextTry: at.Add(2 * time.Hour)},
	}
	cases := []struct {
		name, input string
		want, not   []string
	}{
		{"list", "showqueue\n", []string{"Messages in the queue: 2 (219 bytes)", "<a@x.test>", "TLSv1.3", "[1]", "d@z.test"}, nil},
		{"fresh message has no attempts row", "showqueue 7\n", []string{"MID:", "TLSv1.3 TLS_AES_128_GCM_SHA256", "Received: from client.test"}, []string{"Attempts:"}},
		{"deferred message shows its schedule", "showqueue 8\n", []string{"Attempts:      2 deferred; next attempt Fri Nov 27 11:00:00 2026", "TLS:           none"}, nil},
		{"unknown MID", "showqueue 99\n", []string{"MID 99 is not in the queue"}, nil},
		{"bad argument names what is accepted", "showqueue x\n", []string{"give a message ID (MID)"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, _ := shelltest.RunSession(t, false, tc.input, New(q))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}
