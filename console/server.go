package console

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Session is the daemon's side of an attached console.
type Session struct {
	Hello  Hello
	Stdin  io.ReadCloser
	Stdout io.Writer
	Stderr io.Writer

	fw       *Writer
	cols     atomic.Int32
	rows     atomic.Int32
	mu       sync.Mutex // guards onResize
	onResize []func()
}

// Width is the client's terminal width.
func (s *Session) Width() int { return int(s.cols.Load()) }

// Height is the client's terminal height.
func (s *Session) Height() int { return int(s.rows.Load()) }

// OnResize registers a callback for window size changes.
func (s *Session) OnResize(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onResize = append(s.onResize, f)
}

// Accept reads a client's Hello and starts demultiplexing its input.
// The caller runs the session and then calls Exit.
func Accept(conn net.Conn) (*Session, error) {
	typ, data, err := ReadFrame(conn)
	if err != nil {
		return nil, fmt.Errorf("console hello: %w", err)
	}
	if typ != FrameHello {
		return nil, fmt.Errorf("console hello: unexpected frame %q", typ)
	}
	s := &Session{fw: NewWriter(conn)}
	if err := json.Unmarshal(data, &s.Hello); err != nil {
		return nil, fmt.Errorf("console hello: %w", err)
	}
	s.cols.Store(int32(s.Hello.Cols))
	s.rows.Store(int32(s.Hello.Rows))
	out, err2 := s.fw.Stream(FrameStdout), s.fw.Stream(FrameStderr)
	if s.Hello.Terminal {
		// The client's terminal is raw: there is no line discipline to
		// turn a newline into a carriage return and a newline.
		out, err2 = crlf{out}, crlf{err2}
	}
	s.Stdout, s.Stderr = out, err2
	pr, pw := io.Pipe()
	s.Stdin = pr
	go s.demux(conn, pw)
	return s, nil
}

func (s *Session) demux(conn net.Conn, pw *io.PipeWriter) {
	for {
		typ, data, err := ReadFrame(conn)
		if err != nil {
			pw.CloseWithError(io.EOF)
			return
		}
		switch typ {
		case FrameStdin:
			if _, err := pw.Write(data); err != nil {
				return
			}
		case FrameEOF:
			pw.Close()
		case FrameResize:
			if len(data) == 4 {
				s.cols.Store(int32(binary.BigEndian.Uint16(data)))
				s.rows.Store(int32(binary.BigEndian.Uint16(data[2:])))
				s.mu.Lock()
				fs := append([]func(){}, s.onResize...)
				s.mu.Unlock()
				for _, f := range fs {
					f()
				}
			}
		}
	}
}

// Exit sends the session's exit status.
func (s *Session) Exit(code int) error { return s.fw.Frame(FrameExit, ExitCode(code)) }

type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+8)
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
