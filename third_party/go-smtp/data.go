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

	limited bool
	n       int64 // Maximum bytes remaining

	// esash patch: the first error reading the client's stream (not the
	// end of data, not the size limit). It is sticky: after a timeout or
	// a cut line nothing more is read, and the connection is closed.
	readErr error
}

func newDataReader(c *Conn) *dataReader {
	dr := &dataReader{
		r: c.text.R,
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
			i := 0
			for {
				j := bytes.IndexByte(buf[i:], '\r')
				if j < 0 {
					i = len(buf)
					break
				}
				i += j
				if i+2 >= len(buf) || buf[i+1] != '\n' || buf[i+2] == '.' || buf[i+2] == '\r' {
					break
				}
				i += 3
			}
			n += copy(b[n:], buf[:i])
			r.r.Discard(i)
			if n == len(b) {
				break
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
