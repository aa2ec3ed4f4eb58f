package console

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// Attach runs a console session on conn: it sends hello, copies stdin in
// and the daemon's output out, and returns the session's exit status.
// resize, when not nil, delivers window size changes.
func Attach(conn net.Conn, h Hello, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]int) (int, error) {
	fw := NewWriter(conn)
	if err := SendHello(fw, h); err != nil {
		return 1, fmt.Errorf("console: %w", err)
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if fw.Frame(FrameStdin, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				_ = fw.Frame(FrameEOF, nil)
				return
			}
		}
	}()
	if resize != nil {
		go func() {
			for r := range resize {
				if fw.Frame(FrameResize, Resize(r[0], r[1])) != nil {
					return
				}
			}
		}()
	}
	for {
		typ, data, err := ReadFrame(conn)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 1, errors.New("console: the daemon closed the session")
			}
			return 1, fmt.Errorf("console: %w", err)
		}
		switch typ {
		case FrameStdout:
			stdout.Write(data)
		case FrameStderr:
			stderr.Write(data)
		case FrameExit:
			if len(data) != 4 {
				return 1, errors.New("console: bad exit frame")
			}
			return int(binary.BigEndian.Uint32(data)), nil
		}
	}
}
