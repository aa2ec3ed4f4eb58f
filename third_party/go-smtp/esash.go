package smtp

// esash patch: hooks and helpers added for esash (see ESASH-PATCH.md).
// Everything here is new code; conn.go and server.go call it at the points
// marked "esash patch".

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
)

// CommandChecker is an optional Backend interface, consulted before every
// command (including the first EHLO, before any Session exists). A non-nil
// error is written as the reply and the command is not run; a refused BDAT
// has its chunk discarded as RFC 3030 asks. esash uses it for the 530 of
// a TLS Required policy before STARTTLS (RFC 3207).
type CommandChecker interface {
	CheckCommand(c *Conn, cmd string) error
}

// AcceptReplier is an optional Session interface: the text of the 250
// reply to a message Data accepted (esash names the message's MID there,
// as AsyncOS does: "ok:  Message 1234 accepted").
type AcceptReplier interface {
	AcceptReply() string
}

// errUnsafeCommand answers a command line carrying NUL or a bare CR. Both
// are forbidden in SMTP commands (RFC 5321 4.1.1 and 2.3.8); a CR inside a
// line is also how command injections through naive parsers start.
var errUnsafeCommand = &SMTPError{
	Code:         501,
	EnhancedCode: EnhancedCode{5, 5, 2},
	Message:      "Syntax error: NUL or bare CR characters are not allowed in commands",
}

// unsafeCommand reports whether a command line (without its CRLF)
// carries NUL or CR.
func unsafeCommand(line string) bool {
	return strings.ContainsAny(line, "\x00\r")
}

// readErrorReply is the reply to a read that failed in the middle of a
// command or a message: the connection is in an unknown state and is
// closed after it.
func readErrorReply(err error) (int, EnhancedCode, string) {
	var ne net.Error
	switch {
	case errors.Is(err, ErrTooLongLine):
		return 500, EnhancedCode{5, 4, 0}, "Too long line, closing connection"
	case errors.As(err, &ne) && ne.Timeout():
		return 421, EnhancedCode{4, 4, 2}, "Timeout exceeded, closing connection"
	}
	return 421, EnhancedCode{4, 4, 0}, "Connection error, closing connection"
}

// closeAfterReadError writes a reply for a read error inside a command or a
// message and closes the connection: what the client sends after a stalled
// or cut line must never be parsed as commands. A backend reply of the 4xx
// or 5xx class is kept (it already explains the failure); otherwise the
// read error's own reply goes out.
func (c *Conn) closeAfterReadError(readErr, backendErr error) {
	code, ec, msg := readErrorReply(readErr)
	var se *SMTPError
	if errors.As(backendErr, &se) && se.Code >= 400 {
		code, ec, msg = se.Code, se.EnhancedCode, se.Message
	}
	if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF) && !errors.Is(readErr, net.ErrClosed) {
		c.writeResponse(code, ec, msg)
	}
	c.Close()
}

// errTrackingReader remembers the first error its reader returned other
// than io.EOF, so that BDAT can tell a client that stopped sending from a
// backend that stopped reading.
type errTrackingReader struct {
	r   io.Reader
	err error
}

func (t *errTrackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// checkCommand runs the Backend's CommandChecker, if any, and answers a
// refusal. It reports whether the command may run.
func (c *Conn) checkCommand(cmd, arg string) bool {
	cc, ok := c.server.Backend.(CommandChecker)
	if !ok {
		return true
	}
	err := cc.CheckCommand(c, cmd)
	if err == nil {
		return true
	}
	c.writeError(503, EnhancedCode{5, 5, 1}, err)
	if cmd == "BDAT" {
		// The chunk follows the command even when it is refused; if its
		// size cannot be read, its end cannot be found either.
		f := strings.Fields(arg)
		size, perr := uint64(0), error(nil)
		if len(f) > 0 {
			size, perr = strconv.ParseUint(f[0], 10, 32)
		}
		if len(f) == 0 || perr != nil {
			c.Close()
			return false
		}
		c.discardChunk(int64(size))
	}
	return false
}

// discardChunk reads and drops a BDAT chunk that is not passed to the
// backend; a read error closes the connection.
func (c *Conn) discardChunk(size int64) bool {
	defer c.chunkLineLimit()()
	tr := &errTrackingReader{r: c.text.R}
	if n, _ := io.Copy(io.Discard, io.LimitReader(tr, size)); n < size {
		err := tr.err
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		c.closeAfterReadError(err, nil)
		return false
	}
	return true
}

// chunkLineLimit turns the line limit off for a BDAT chunk (its bytes
// are not lines) and returns what turns it on again after the chunk. The
// chunk's end starts the count of a new line: the bytes of the chunk read
// with its BDAT line were counted as a line, and upstream kept that count,
// so a short command after a chunk that ended inside a long line was
// refused as too long and the connection closed.
func (c *Conn) chunkLineLimit() func() {
	c.lineLimitReader.LineLimit = 0
	return func() {
		c.lineLimitReader.LineLimit = c.server.MaxLineLength
		c.lineLimitReader.curLineLength = 1 // as after a line's LF
	}
}

// chunkReader reads one BDAT chunk of n bytes through an
// errTrackingReader. The stream's end before the chunk's is a read error
// (io.ErrUnexpectedEOF, kept in the tracker too), never the end of the
// message: upstream's io.LimitReader let a client that hung up inside
// its LAST chunk have the cut message accepted.
type chunkReader struct {
	tr *errTrackingReader
	n  int64
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.tr.Read(p)
	c.n -= int64(n)
	if err == io.EOF && c.n > 0 {
		err = io.ErrUnexpectedEOF
		c.tr.err = err
	}
	if err == io.EOF {
		err = nil // the chunk's end is the next call's
	}
	return n, err
}

// bdatSingle reads a message sent as a single chunk (BDAT n LAST with no
// chunk before it) by calling Data on the connection's own goroutine, as
// DATA does: upstream's pipe cost a goroutine, a 32 KiB copy buffer, a
// second copy and two goroutine switches per piece of every message, the
// common case of BDAT (issue 17). Replies, errors and the close after a
// read error are the pipe path's.
func (c *Conn) bdatSingle(size int64) {
	defer c.chunkLineLimit()()
	defer c.reset()
	tr := &errTrackingReader{r: c.text.R}
	chunk := &chunkReader{tr: tr, n: size}
	dataErr := c.Session().Data(chunk)
	if tr.err == nil {
		io.Copy(io.Discard, chunk) // what Data left unread
	}
	if tr.err != nil {
		c.closeAfterReadError(tr.err, dataErr)
		return
	}
	c.bytesReceived += size
	code, ec, msg := dataErrorToStatus(dataErr)
	if dataErr == nil {
		msg = c.acceptReply(msg)
	}
	c.writeResponse(code, ec, msg)
}

// isClosed reports whether Close was called: the command loop stops then,
// even if more input is buffered.
func (c *Conn) isClosed() bool {
	c.locker.Lock()
	defer c.locker.Unlock()
	return c.closed
}

// greetName is the first line of the EHLO reply and the HELO reply: the
// server's own name, as RFC 5321 4.1.1.1 puts it there ("Hello <client>"
// upstream, only when no Domain is set).
func (c *Conn) greetName(client string) string {
	if c.server.Domain != "" {
		return c.server.Domain
	}
	return "Hello " + client
}

// readFullLine reads one line that ends with LF and returns it without
// its line end (LF or CR LF, as textproto's ReadLine). A line cut by an
// error or a timeout is never returned: only the error is.
func (c *Conn) readFullLine() (string, error) {
	var line []byte
	for {
		frag, err := c.text.R.ReadSlice('\n')
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	n := len(line) - 1
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return string(line[:n]), nil
}

// abandonChunks ends a chunked message that RSET, a new greeting or a
// failed chunk cut short: it closes the pipe and waits for Data to
// return before the session is reset. Upstream reset at once and left
// Data running beside the next transaction: on the session's state,
// with its result sent to whichever channel the next message had made.
// Data returns promptly, its reader failing with ErrDataReset. The wait
// is outside the lock: Data's goroutine takes it (Session) as it starts.
func (c *Conn) abandonChunks() {
	c.locker.Lock()
	pipe, result := c.bdatPipe, c.dataResult
	c.bdatPipe, c.dataResult = nil, nil
	c.locker.Unlock()
	if pipe != nil {
		pipe.CloseWithError(ErrDataReset)
	}
	if result != nil {
		<-result
	}
}
