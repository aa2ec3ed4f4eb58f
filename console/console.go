// Package console is the local console protocol: how `esash` attaches to
// the `esash serve` daemon that owns a data directory, over the unix
// socket DIR/esash.sock. A session's terminal bytes, window size changes
// and exit status travel as small frames on one connection.
package console

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Frame types.
const (
	FrameHello  byte = 'H' // client → daemon: Hello as JSON, first frame
	FrameStdin  byte = 'I' // client → daemon: input bytes
	FrameEOF    byte = 'E' // client → daemon: end of input
	FrameResize byte = 'W' // client → daemon: columns, rows (2 × uint16)
	FrameStdout byte = 'O' // daemon → client
	FrameStderr byte = 'R' // daemon → client
	FrameExit   byte = 'X' // daemon → client: exit status (uint32), last frame
)

// MaxFrame bounds a frame's payload: a peer cannot make us allocate more.
const MaxFrame = 1 << 20

// ErrFrameTooLarge is a frame over MaxFrame.
var ErrFrameTooLarge = errors.New("console frame too large")

// Hello opens a session.
type Hello struct {
	Terminal bool   `json:"terminal"`
	Cols     int    `json:"cols"`
	Rows     int    `json:"rows"`
	Batch    string `json:"batch,omitempty"`
	HasBatch bool   `json:"has_batch,omitempty"`
	User     string `json:"user"`
}

// Writer writes frames; it is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter frames onto w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Frame writes one frame.
func (fw *Writer) Frame(typ byte, data []byte) error {
	if len(data) > MaxFrame {
		return ErrFrameTooLarge
	}
	hdr := make([]byte, 5, 5+len(data))
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(data)))
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err := fw.w.Write(append(hdr, data...))
	return err
}

// Stream returns an io.Writer that sends its bytes as frames of typ.
func (fw *Writer) Stream(typ byte) io.Writer { return streamWriter{fw, typ} }

type streamWriter struct {
	fw  *Writer
	typ byte
}

func (s streamWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += MaxFrame {
		end := min(off+MaxFrame, len(p))
		if err := s.fw.Frame(s.typ, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFrame {
		return 0, nil, ErrFrameTooLarge
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return hdr[0], data, nil
}

// SendHello writes the first frame.
func SendHello(fw *Writer, h Hello) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return fw.Frame(FrameHello, raw)
}

// Resize encodes a window size.
func Resize(cols, rows int) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, uint16(cols))
	binary.BigEndian.PutUint16(b[2:], uint16(rows))
	return b
}

// ExitCode encodes an exit status.
func ExitCode(code int) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(code))
	return b
}
