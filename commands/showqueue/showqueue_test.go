package showqueue

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"esash/shell/shelltest"
)

// fakeQueue computes what the real queue keeps, the slow way.
type fakeQueue []Message

func (f fakeQueue) Summary(top int) Summary {
	s := Summary{Messages: len(f)}
	byName := map[string]*Domain{}
	var order []string
	for _, m := range f {
		s.Bytes += m.Size
		s.Recipients += len(m.To)
		seen := map[string]bool{}
		for _, r := range m.To {
			d := r[strings.LastIndexByte(r, '@')+1:]
			if byName[d] == nil {
				byName[d] = &Domain{Name: d}
				order = append(order, d)
			}
			byName[d].Recipients++
			if !seen[d] {
				seen[d] = true
				byName[d].Messages++
			}
		}
		if s.OldestMID == 0 || m.MID < s.OldestMID {
			s.OldestMID, s.OldestTime = m.MID, m.Time
		}
	}
	for _, d := range order {
		s.Domains = append(s.Domains, *byName[d])
	}
	sort.Slice(s.Domains, func(i, j int) bool {
		a, b := s.Domains[i], s.Domains[j]
		return a.Recipients > b.Recipients || a.Recipients == b.Recipients && a.Name < b.Name
	})
	s.DomainCount = len(s.Domains)
	s.Domains = s.Domains[:min(top, len(s.Domains))]
	return s
}

func (f fakeQueue) Overview(top, n int) (Summary, []Message) { return f.Summary(top), f.Next(n) }

// Next leaves Received out, as the real queue does; f is in due order.
func (f fakeQueue) Next(n int) []Message {
	out := append([]Message(nil), f[:min(n, len(f))]...)
	for i := range out {
		out[i].Received = ""
	}
	return out
}

func (f fakeQueue) Message(mid int64) (Message, bool) {
	for _, m := range f {
		if m.MID == mid {
			m.Received = ""
			return m, true
		}
	}
	return Message{}, false
}

func (f fakeQueue) Received(mid int64) string {
	for _, m := range f {
		if m.MID == mid {
			return m.Received
		}
	}
	return ""
}

// TestShowqueueBigGolden: a queue longer than the listing, over more
// domains than the summary shows, pinned in testdata/big.golden
// (re-record with ESASH_UPDATE=1).
func TestShowqueueBigGolden(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var q fakeQueue
	for mid := int64(100); mid < 130; mid++ {
		to := []string{fmt.Sprintf("r%d@unreachable.example", mid)}
		if mid%3 == 0 {
			to = append(to, fmt.Sprintf("x@d%d.example", mid%36))
		}
		q = append(q, Message{MID: mid, ICID: mid / 2, Time: at.Add(time.Duration(mid) * time.Minute), Size: 200 + mid,
			From: "sender@x.test", To: to, TLS: "TLSv1.3 TLS_AES_128_GCM_SHA256"})
	}
	out, _, _ := shelltest.RunSession(t, false, "showqueue\n", New(q))
	path := filepath.Join("testdata", "big.golden")
	if os.Getenv("ESASH_UPDATE") != "" {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (record with ESASH_UPDATE=1)", err)
	}
	if out != string(want) {
		t.Errorf("showqueue output differs from %s (re-record with ESASH_UPDATE=1):\n%s", path, out)
	}
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
		{"list", "showqueue\n", []string{"Messages in the queue: 2 (219 bytes)", "Recipients in the queue: 3", "Oldest message: MID 7, received Fri Nov 27 09:00:00 2026",
			"z.test                                            1          2", "<a@x.test>", "TLSv1.3", "[1]", "d@z.test"}, []string{"more are not listed"}},
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
