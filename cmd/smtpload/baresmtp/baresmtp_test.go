package baresmtp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadDot(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name, in, id, rest string
	}{
		{"ID in the header", "Received: x\r\nX-Smtpload-ID: abc\r\n\r\nbody\r\n.\r\nQUIT\r\n", "abc", "QUIT\r\n"},
		{"ID header in the body is not looked at", "A: b\r\n\r\nX-Smtpload-ID: no\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
		{"a dot-stuffed line is not the end", "A: b\r\n\r\n..\r\n.x\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
		// A line longer than the reader's buffer arrives in pieces: a
		// piece that looks like the final dot is not at a line start.
		{"a long line ending in a dot line's bytes", "A: b\r\n\r\n" + long + ".\r\n" + long + "\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			id, err := readDot(r, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := r.ReadString(0)
			if id != tc.id || rest != tc.rest {
				t.Fatalf("id %q rest %q, want %q and %q", id, rest, tc.id, tc.rest)
			}
		})
	}
}

// TestJournal: the durable server answers 250 for a DATA and a BDAT
// message once each is in the journal, byte for byte, and a full file is
// replaced by the next and deleted.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	j, c, stop := journalServer(t, dir, 64)
	r := bufio.NewReader(c)
	expect := func(code string) {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, code) {
			t.Fatalf("reply %q (%v), want %s", line, err, code)
		}
	}
	expect("220")
	fmt.Fprintf(c, "HELO t\r\nMAIL FROM:<a@b>\r\n")
	expect("250")
	expect("250")
	fmt.Fprintf(c, "DATA\r\n")
	expect("354")
	fmt.Fprintf(c, "A: b\r\n\r\n%s\r\n.\r\n", strings.Repeat("x", 60))
	expect("250")
	// The first message filled the 64-byte file, the second (70 bytes
	// in two chunks) fills the next.
	body := strings.Repeat("y", 70)
	fmt.Fprintf(c, "BDAT 30\r\n%sBDAT 40 LAST\r\n%s", body[:30], body[30:])
	expect("250")
	expect("250")
	fmt.Fprintf(c, "DATA\r\n")
	expect("354")
	fmt.Fprintf(c, "..third\r\n.\r\nQUIT\r\n")
	expect("250")
	expect("221")
	stop()
	names, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	if len(names) != 1 || filepath.Base(names[0]) != "journal-00000003" {
		t.Fatalf("journal files %v, want only journal-00000003 (the full ones deleted)", names)
	}
	got, _ := os.ReadFile(names[0])
	want := append(binary.BigEndian.AppendUint64(nil, 9), "..third\r\n"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("journal holds %q, want %q", got, want)
	}
	if err := j.Append(Record(nil)); !errors.Is(err, ErrJournalClosed) {
		t.Fatalf("Append after Close: %v, want ErrJournalClosed", err)
	}
}

// A BDAT message that was given up after some chunks (RSET, a new MAIL
// or EHLO, which the bare server answers 250 as it does everything) is
// not part of the next message: the journal holds the next message's
// bytes only. A leftover record would make the durable ceiling write
// (and sync) bytes no message has.
func TestJournalAbandonedChunks(t *testing.T) {
	for _, tc := range []struct{ name, abandon string }{
		{"RSET after a chunk", "BDAT 5\r\nstaleRSET\r\nMAIL FROM:<a@b>\r\n"},
		{"MAIL after a chunk", "BDAT 5\r\nstaleMAIL FROM:<a@b>\r\n"},
		{"EHLO after a chunk", "BDAT 5\r\nstaleEHLO t\r\nMAIL FROM:<a@b>\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, c, stop := journalServer(t, dir, 1<<20)
			fmt.Fprintf(c, "HELO t\r\nMAIL FROM:<a@b>\r\n%sBDAT 3 LAST\r\nnewQUIT\r\n", tc.abandon)
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("no 221: %v", err)
				}
				if strings.HasPrefix(line, "221") {
					break
				}
			}
			stop()
			got, _ := os.ReadFile(filepath.Join(dir, "journal-00000001"))
			want := append(binary.BigEndian.AppendUint64(nil, 3), "new"...)
			if !bytes.Equal(got, want) {
				t.Fatalf("journal holds %q, want %q", got, want)
			}
		})
	}
}

// journalServer starts a durable server with its journal in dir and
// connects to it; stop stops the server and closes the journal.
func journalServer(t *testing.T, dir string, segment int64) (j *Journal, c net.Conn, stop func()) {
	t.Helper()
	j, err := OpenJournal(dir, segment)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- (&Server{Journal: j}).Serve(ln) }()
	c, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return j, c, func() {
		ln.Close()
		<-served
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
