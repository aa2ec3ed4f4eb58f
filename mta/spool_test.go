package mta

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"esash/config"

	"github.com/emersion/go-smtp"
)

func TestSpool(t *testing.T) {
	cases := []struct {
		name    string
		size    int
		spilled bool
	}{
		{"empty", 0, false},
		{"small", 100, false},
		{"exactly the threshold", spillAt, false},
		{"one byte over", spillAt + 1, true},
		{"three times over", 3 * spillAt, true},
	}
	fill := map[string]func(*spool, []byte) error{
		// Odd-sized writes cross the threshold in the middle of one.
		"Write": func(s *spool, b []byte) error {
			for len(b) > 0 {
				n := min(len(b), 7777)
				if _, err := s.Write(b[:n]); err != nil {
					return err
				}
				b = b[n:]
			}
			return nil
		},
		"ReadFrom after a header": func(s *spool, b []byte) error {
			h := min(len(b), 10)
			if _, err := s.Write(b[:h]); err != nil {
				return err
			}
			_, err := s.ReadFrom(iotest.HalfReader(bytes.NewReader(b[h:])))
			return err
		},
	}
	for _, tc := range cases {
		for how, f := range fill {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				spoolCase(t, tc.size, tc.spilled, f)
			})
		}
	}
}

func spoolCase(t *testing.T, size int, spilled bool, fill func(*spool, []byte) error) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	s := newSpool(dir)
	if err := fill(s, want); err != nil {
		t.Fatal(err)
	}
	if s.Spilled() != spilled || s.Len() != int64(size) {
		t.Fatalf("spilled %v len %d, want %v %d", s.Spilled(), s.Len(), spilled, size)
	}
	r, err := s.Reader()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("spool returned other bytes")
	}
	s.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("spool file left behind: %v", ents)
	}
}

func bigBody(size int) string {
	line := strings.Repeat("y", 76) + "\r\n"
	return "Subject: big\r\n\r\n" + strings.Repeat(line, size/len(line))
}

// A message over spillAt goes through a spool file, arrives whole in the
// queue, and leaves no file behind.
func TestLargeMessageSpooled(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	body := bigBody(4 * spillAt)
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, body); err != nil {
		t.Fatal(err)
	}
	l := s.Queue().List()
	if len(l) != 1 {
		t.Fatalf("%d messages queued", len(l))
	}
	got, err := s.Queue().Read(l[0].MID)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := s.Queue().Received(l[0].MID)
	if err != nil || !strings.HasPrefix(recv, "Received: from client.test") {
		t.Fatalf("Received header %q %v", recv, err)
	}
	if want := recv + "\r\n" + body; string(got) != want {
		t.Fatalf("queued %d bytes, want %d", len(got), len(want))
	}
	if ents, _ := os.ReadDir(spoolDir(dir)); len(ents) != 0 {
		t.Fatalf("spool not emptied: %v", ents)
	}
}

// A spool that cannot be written refuses the large message with 451 and
// queues nothing; small messages, kept in memory, still go through.
func TestSpoolFailureIs451(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	sp := spoolDir(dir)
	if err := os.RemoveAll(sp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, bigBody(2*spillAt))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("spool failure answered %v, want 451", err)
	}
	if n, _ := s.Queue().Len(); n != 0 {
		t.Fatal("a message was queued")
	}
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "small\r\n"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logLines(t, dir), "not queued: spool") {
		t.Fatal("spool failure not logged")
	}
}

// Files left in the spool by a crash were never acknowledged: they are
// removed at start.
func TestStaleSpoolCleared(t *testing.T) {
	dir := t.TempDir()
	sp := spoolDir(dir)
	if err := os.MkdirAll(sp, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(sp, "msg-123")
	if err := os.WriteFile(stale, []byte("half a message"), 0o600); err != nil {
		t.Fatal(err)
	}
	startMTA(t, dir, nil)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale spool file kept: %v", err)
	}
}
