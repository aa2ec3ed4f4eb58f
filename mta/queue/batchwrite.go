package queue

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// batchWriter gathers what writeBatch appends to the segment file: the
// record headers and meta copied into buf, the message bytes a session
// holds in memory referenced where they are (PutBytes), and writes them
// with one writev(2) per flush. A 100 KiB message is thus copied once, by
// the kernel, where it was first copied into buf and then by write(2).
type batchWriter struct {
	f    *os.File
	buf  []byte   // copied bytes; iov points into it, so it never grows while it does
	mark int      // buf[:mark] is in iov already
	iov  [][]byte // what the next flush writes, in order
	n    int      // bytes pending (copied and referenced)
	err  error    // the first write failure; later writes are skipped
}

// room makes sure k more bytes can be copied into buf without moving it.
func (w *batchWriter) room(k int) {
	if len(w.buf)+k > cap(w.buf) {
		w.flush()
		if k > cap(w.buf) {
			w.buf = make([]byte, 0, k)
		}
	}
}

// copyIn appends p to buf and returns where it starts there; room(len(p))
// must have been called.
func (w *batchWriter) copyIn(p []byte) int {
	at := len(w.buf)
	w.buf = append(w.buf, p...)
	w.n += len(p)
	return at
}

// ref appends p to the batch without copying it; p must stay unchanged
// until the next flush.
func (w *batchWriter) ref(p []byte) {
	if len(w.buf) > w.mark {
		w.iov = append(w.iov, w.buf[w.mark:])
		w.mark = len(w.buf)
	}
	w.iov = append(w.iov, p)
	w.n += len(p)
}

// flush writes what is pending.
func (w *batchWriter) flush() {
	if len(w.buf) > w.mark {
		w.iov = append(w.iov, w.buf[w.mark:])
	}
	if w.err == nil && w.n > 0 {
		w.err = writev(w.f, w.iov)
	}
	clear(w.iov)
	w.iov, w.buf, w.mark, w.n = w.iov[:0], w.buf[:0], 0, 0
}

// writev writes every byte of iov to f, in as few writev(2) calls as the
// kernel's limits allow.
func writev(f *os.File, iov [][]byte) error {
	const iovMax = 1024
	fd := int(f.Fd())
	for len(iov) > 0 {
		part := iov[:min(len(iov), iovMax)]
		n, err := unix.Writev(fd, part)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "writev", Path: f.Name(), Err: err}
		}
		if n == 0 {
			return &os.PathError{Op: "writev", Path: f.Name(), Err: io.ErrShortWrite}
		}
		for n > 0 && len(iov) > 0 { // drop what was written
			if n >= len(iov[0]) {
				n -= len(iov[0])
				iov = iov[1:]
				continue
			}
			iov[0] = iov[0][n:]
			n = 0
		}
		for len(iov) > 0 && len(iov[0]) == 0 {
			iov = iov[1:]
		}
	}
	return nil
}
