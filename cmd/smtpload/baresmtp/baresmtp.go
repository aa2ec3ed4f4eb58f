// Package baresmtp is the benchmark's reference SMTP server: a minimal
// STARTTLS server on crypto/tls that reads every message into nothing (no
// queue, no log, no policy). It is the ceiling `make bench` measures esash
// against, and the receiving sink of the relay cells, so it uses the
// standard library only (and golang.org/x/sys/unix for the durable
// variant's writev, journal.go): nothing of esash is in it (deps_test.go
// does not see cmd/ packages, so keep it that way by hand).
//
// It reads DATA with a line-slice dot reader (bufio.Reader.ReadSlice), the
// fast reader of the perf anchors' Go ceiling, not net/textproto's
// byte-at-a-time DotReader. Replies are flushed only when no pipelined
// command is waiting in the read buffer (PIPELINING is offered: Postfix's
// smtp client uses it). Session tickets are off, as on esash's listeners,
// so both do the same handshake work.
package baresmtp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// IDHeader is the header the load tool numbers its messages with; the
// sink hands its value to OnMessage.
const IDHeader = "X-Smtpload-ID: "

// Server is one reference server. Set its fields before Serve.
type Server struct {
	// TLS offers STARTTLS when set.
	TLS *tls.Config
	// Hostname is said in the greeting and the EHLO reply.
	Hostname string
	// OnMessage, when set, is called once each message's 250 is written,
	// with the value of its IDHeader ("" when it has none).
	OnMessage func(id string)
	// Journal, when set, makes the server the durable ceiling: every
	// message is kept in memory as read and appended to it, and the 250
	// waits for its sync.
	Journal *Journal

	// Counters.
	Sessions, Handshakes, Messages atomic.Int64
}

// Serve accepts connections until ln is closed.
func (s *Server) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		go s.session(c)
	}
}

type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	msg []byte // with a Journal: the message being read, as a Record
}

// reply writes line; it flushes unless a pipelined command is already
// buffered.
func (c *conn) reply(line string) error {
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if c.r.Buffered() > 0 {
		return nil
	}
	return c.w.Flush()
}

func (s *Server) session(nc net.Conn) {
	defer nc.Close()
	s.Sessions.Add(1)
	c := &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 4<<10)}
	host := s.Hostname
	if host == "" {
		host = "bare.test"
	}
	if c.reply("220 "+host+" ESMTP bare") != nil {
		return
	}
	secure := false
	for {
		nc.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := line
		if i := bytes.IndexAny(line, " \r\n"); i >= 0 {
			verb = line[:i]
		}
		if equalFold(verb, "MAIL") || equalFold(verb, "RSET") || equalFold(verb, "EHLO") || equalFold(verb, "HELO") {
			c.msg = c.msg[:0] // a new transaction: the chunks of an abandoned BDAT message are not its
		}
		switch {
		case equalFold(verb, "EHLO"):
			ext := "250-" + host + "\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
			if s.TLS != nil && !secure {
				ext += "250-STARTTLS\r\n"
			}
			err = c.reply(ext + "250 SIZE 104857600")
		case equalFold(verb, "HELO"):
			err = c.reply("250 " + host)
		case equalFold(verb, "STARTTLS") && s.TLS != nil && !secure:
			if c.r.Buffered() > 0 { // no command may follow STARTTLS in its packet
				c.reply("503 5.5.1 pipelined STARTTLS")
				return
			}
			if c.reply("220 2.0.0 Ready to start TLS") != nil {
				return
			}
			tc := tls.Server(nc, s.TLS)
			tc.SetDeadline(time.Now().Add(30 * time.Second))
			if tc.Handshake() != nil {
				return
			}
			tc.SetDeadline(time.Time{})
			s.Handshakes.Add(1)
			secure = true
			c.r.Reset(tc)
			c.w.Reset(tc)
			nc = tc
		case equalFold(verb, "MAIL"), equalFold(verb, "RCPT"), equalFold(verb, "RSET"), equalFold(verb, "NOOP"):
			err = c.reply("250 2.0.0 OK")
		case equalFold(verb, "DATA"):
			if c.reply("354 End data with <CR><LF>.<CR><LF>") != nil {
				return
			}
			c.startMessage(s.Journal)
			id, rerr := readDot(c.r, s.OnMessage != nil, c.keep(s.Journal))
			if rerr != nil {
				return
			}
			err = s.delivered(c, id)
		case equalFold(verb, "BDAT"):
			err = s.bdat(c, line)
		case equalFold(verb, "QUIT"):
			c.reply("221 2.0.0 Bye")
			return
		default:
			err = c.reply("502 5.5.2 not implemented")
		}
		if err != nil {
			return
		}
	}
}

// startMessage starts a message's record when the server is durable.
func (c *conn) startMessage(j *Journal) {
	if j != nil {
		c.msg = Record(c.msg)
	}
}

// keep returns where the message's bytes go: its record, or nowhere.
func (c *conn) keep(j *Journal) *[]byte {
	if j == nil {
		return nil
	}
	return &c.msg
}

// delivered answers the end of a message and reports it; with a Journal
// the 250 waits for the message to be on disk.
func (s *Server) delivered(c *conn, id string) error {
	if s.Journal != nil {
		err := s.Journal.Append(c.msg)
		c.msg = c.msg[:0] // the message is done, kept or not
		if err != nil {
			return c.reply("451 4.3.0 " + err.Error())
		}
	}
	c.w.WriteString("250 2.0.0 Ok: queued\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	s.Messages.Add(1)
	if s.OnMessage != nil {
		s.OnMessage(id)
	}
	return nil
}

// bdat reads one BDAT chunk (the ID header is not looked for: the relay
// cells' senders use DATA).
func (s *Server) bdat(c *conn, line []byte) error {
	f := bytes.Fields(line)
	if len(f) < 2 {
		return c.reply("501 5.5.4 BDAT size")
	}
	n, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || n < 0 {
		return c.reply("501 5.5.4 BDAT size")
	}
	last := len(f) > 2 && equalFold(f[2], "LAST")
	if s.Journal != nil && len(c.msg) == 0 {
		c.startMessage(s.Journal)
	}
	if err := readChunk(c.r, n, c.keep(s.Journal)); err != nil {
		return err
	}
	if last {
		return s.delivered(c, "")
	}
	return c.reply("250 2.0.0 chunk")
}

// readChunk reads a BDAT chunk of n bytes, appending them to *keep when
// keep is not nil.
func readChunk(r *bufio.Reader, n int64, keep *[]byte) error {
	if keep == nil {
		_, err := io.CopyN(io.Discard, r, n)
		return err
	}
	start := len(*keep)
	*keep = slices.Grow(*keep, int(n))[:start+int(n)]
	_, err := io.ReadFull(r, (*keep)[start:])
	return err
}

// readDot reads a message up to its final dot line, appending its lines
// (still dot-stuffed) to *keep when keep is not nil. With wantID it
// returns the value of the IDHeader among the header lines.
func readDot(r *bufio.Reader, wantID bool, keep *[]byte) (string, error) {
	bol, inHeader, inID, id := true, wantID, false, ""
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
		if bol && len(line) == 3 && line[0] == '.' && line[1] == '\r' && line[2] == '\n' {
			return id, nil
		}
		if keep != nil {
			*keep = append(*keep, line...)
		}
		switch {
		case inID: // the rest of an ID line longer than the buffer
			id += string(bytes.TrimRight(line, "\r\n"))
		case inHeader && bol && len(line) <= 2: // the blank line ending the header
			inHeader = false
		case inHeader && bol && bytes.HasPrefix(line, []byte(IDHeader)):
			id = string(bytes.TrimRight(line[len(IDHeader):], "\r\n"))
			inID = true
		}
		bol = err == nil
		inID = inID && !bol
	}
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}
