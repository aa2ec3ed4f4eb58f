package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

type EnhancedCode [3]int

// SMTPError specifies the error code, enhanced error code (if any) and
// message returned by the server.
type SMTPError struct {
	Code         int
	EnhancedCode EnhancedCode
	Message      string
}

// NoEnhancedCode is used to indicate that enhanced error code should not be
// included in response.
//
// Note that RFC 2034 requires an enhanced code to be included in all 2xx, 4xx
// and 5xx responses. This constant is exported for use by extensions, you
// should probably use EnhancedCodeNotSet instead.
var NoEnhancedCode = EnhancedCode{-1, -1, -1}

// EnhancedCodeNotSet is a nil value of EnhancedCode field in SMTPError, used
// to indicate that backend failed to provide enhanced status code. X.0.0 will
// be used (X is derived from error code).
var EnhancedCodeNotSet = EnhancedCode{0, 0, 0}

func (err *SMTPError) Error() string {
	s := fmt.Sprintf("SMTP error %03d", err.Code)
	if err.Message != "" {
		s += ": " + err.Message
	}
	return s
}

func (err *SMTPError) Temporary() bool {
	return err.Code/100 == 4
}

var ErrDataTooLarge = &SMTPError{
	Code:         552,
	EnhancedCode: EnhancedCode{5, 3, 4},
	Message:      "Maximum message size exceeded",
}

type dataReader struct {
	r     *bufio.Reader
	state int

	// esash patch: direct, when set, is the reader under r (the line
	// limiter, through a pushback). While r is empty and a line is in
	// progress, the body is read from it straight into the caller's
	// buffer (see readDirect).
	direct *pushbackReader

	limited bool
	n       int64 // Maximum bytes remaining

	// esash patch: the first error reading the client's stream (not the
	// end of data, not the size limit). It is sticky: after a timeout or
	// a cut line nothing more is read, and the connection is closed.
	readErr error
}

func newDataReader(c *Conn) *dataReader {
	dr := &dataReader{
		r:      c.text.R,
		direct: c.direct,
	}

	if c.server.MaxMessageBytes > 0 {
		dr.limited = true
		dr.n = int64(c.server.MaxMessageBytes)
	}

	return dr
}

func (r *dataReader) Read(b []byte) (n int, err error) {
	if r.readErr != nil {
		return 0, r.readErr
	}
	defer func() {
		if err != nil && err != io.EOF && err != ErrDataTooLarge {
			r.readErr = err
		}
	}()
	if r.limited {
		if r.n <= 0 {
			return 0, ErrDataTooLarge
		}
		if int64(len(b)) > r.n {
			b = b[0:r.n]
		}
	}

	// Code below is taken from net/textproto with only one modification to
	// not rewrite CRLF -> LF.

	// Run data through a simple state machine to
	// elide leading dots and detect End-of-Data (<CR><LF>.<CR><LF>) line.
	const (
		stateBeginLine = iota // beginning of line; initial state; must be zero
		stateDot              // read . at beginning of line
		stateDotCR            // read .\r at beginning of line
		stateCR               // read \r (possibly at end of line)
		stateData             // reading data in middle of line
		stateEOF              // reached .\r\n end marker line
	)
	for n < len(b) && r.state != stateEOF {
		if r.state == stateData && r.canDirect(len(b)-n) {
			var k int
			k, err = r.readDirect(b[n:])
			n += k
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				break
			}
			continue
		}
		if r.state == stateData {
			// esash patch: inside a line only CR changes the state, so
			// the bytes before the next CR are copied in one go instead
			// of one ReadByte and one switch each (most of the CPU a
			// DATA body cost). A CR LF followed by a byte that is
			// neither '.' nor CR takes the state machine from data back
			// to data, so such line ends are copied in the same go; the
			// byte-wise code below sees only dots and CRs at line start.
			var buf []byte
			buf, err = r.buffered()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				break
			}
			if len(buf) > len(b)-n {
				buf = buf[:len(b)-n]
			}
			i := plainPrefix(buf)
			n += copy(b[n:], buf[:i])
			r.r.Discard(i)
			if n == len(b) {
				break
			}
			if r.canDirect(len(b) - n) {
				continue // a line end cut by the buffer's end: read on directly
			}
		}
		var c byte
		c, err = r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch r.state {
		case stateBeginLine:
			if c == '.' {
				r.state = stateDot
				continue
			}
			if c == '\r' {
				r.state = stateCR
				break
			}
			r.state = stateData
		case stateDot:
			if c == '\r' {
				r.state = stateDotCR
				continue
			}
			r.state = stateData
		case stateDotCR:
			if c == '\n' {
				r.state = stateEOF
				continue
			}
			// esash patch: "." then a bare CR at the start of a line: the
			// dot was stuffing, the CR ends the line (below). Never an
			// end of data: only CR LF . CR LF is.
			r.r.UnreadByte()
			c = '\r'
			r.state = stateCR
		case stateCR:
			if c == '\n' {
				r.state = stateBeginLine
				break
			}
			// esash patch: a bare CR is a line end and becomes CR LF, as
			// AsyncOS's "clean" CR and LF handling does; the byte after it
			// is read again as line content, so "\r.\r\n" is stored as
			// "\r\n.\r\n" (a line holding a dot, stuffed again when
			// relayed) and never relayed with a bare CR a next hop could
			// take for the end of data (SMTP smuggling).
			r.r.UnreadByte()
			c = '\n'
			r.state = stateData
		case stateData:
			if c == '\r' {
				r.state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && r.state == stateEOF {
		err = io.EOF
	}

	if r.limited {
		r.n -= int64(n)
	}
	return
}

// buffered returns the bytes already in the buffer, reading more only
// when it is empty, so that a Read never waits for bytes the client has
// not sent yet.
func (r *dataReader) buffered() ([]byte, error) {
	if r.r.Buffered() == 0 {
		if _, err := r.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return r.r.Peek(r.r.Buffered())
}

// plainPrefix is how many bytes at the start of buf, read in the middle
// of a line (stateData), the state machine would copy unchanged and end
// in stateData again: up to the first CR that is not a CR LF followed by
// a byte other than '.' and CR (esash patch).
func plainPrefix(buf []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(buf[i:], '\r')
		if j < 0 {
			return len(buf)
		}
		i += j
		if i+2 >= len(buf) || buf[i+1] != '\n' || buf[i+2] == '.' || buf[i+2] == '\r' {
			return i
		}
		i += 3
	}
}

// directMin is the room a Read needs for a direct read: less goes
// through the command reader's buffer as before.
var directMin = 4 << 10 // a variable for BenchmarkServerData

// canDirect reports whether a Read with room bytes left may read
// directly (readDirect): in stateData, which the caller checks.
func (r *dataReader) canDirect(room int) bool {
	return r.direct != nil && room >= directMin && r.direct.err == nil && r.r.Buffered()+len(r.direct.pending) < 5
}

// readDirect (esash patch) reads the body from under the command
// reader's 4 KiB buffer straight into b, in the pieces the connection
// hands out (a TLS record, up to 16 KiB), where the buffered path copied
// every byte once more and refilled the buffer four times a record. The
// few bytes still buffered (a line end cut by the end of the last read)
// come first. The plain prefix of it all is the message's as it is; the
// rest, from the first byte the state machine must see (a dot or a CR at
// the start of a line, a bare CR, a line end cut by the read, the end of
// data and whatever the client sent after it), is pushed back under the
// buffer, which the byte-wise path then reads first: the bytes and their
// order are those of the buffered path.
//
// Called in stateData with fewer than 5 bytes buffered (command buffer
// and pushback): too few to hold the end of data (CR LF . CR LF), so the
// client has more to send and reading the connection cannot wait for
// bytes that will not come.
func (r *dataReader) readDirect(b []byte) (int, error) {
	h := 0
	if m := r.r.Buffered(); m > 0 {
		p, _ := r.r.Peek(m)
		h = copy(b, p)
		r.r.Discard(h)
	}
	h += copy(b[h:], r.direct.pending)
	r.direct.pending = nil
	k, err := r.direct.R.Read(b[h:])
	if k < 0 {
		k = 0
	}
	if k == 0 && err == nil {
		err = io.ErrNoProgress
	}
	k += h
	i := plainPrefix(b[:k])
	if i < k {
		// The read's error comes after the bytes pushed back, as
		// bufio's after its buffered bytes.
		r.direct.unread(b[i:k])
		r.direct.err, err = err, nil
	}
	return i, err
}

// pushbackReader (esash patch) is the reader under a connection's
// command buffer: the bytes a direct DATA read took ahead of the state
// machine come out of it first, then the line limiter's. It lives and
// dies with the buffer above it (Conn.init), so nothing pushed back
// crosses a STARTTLS.
type pushbackReader struct {
	R       io.Reader
	pending []byte
	buf     []byte
	err     error // returned once pending is read, by the next Read
}

func (p *pushbackReader) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	if err := p.err; err != nil {
		p.err = nil
		return 0, err
	}
	// Bytes and an error together: the bytes now, the error next. The
	// buffer above keeps an error it was handed with bytes and reads
	// nothing more, not even what a direct read pushes back meanwhile.
	n, err := p.R.Read(b)
	if n > 0 && err != nil {
		p.err, err = err, nil
	}
	return n, err
}

// unread makes b the next bytes read (pending is empty or was consumed
// into b).
func (p *pushbackReader) unread(b []byte) {
	p.buf = append(p.buf[:0], b...)
	p.pending = p.buf
}
