package maillog

import (
	"bytes"
	"fmt"
	"io"
	"slices"
)

// tailChunk is how much is read per step from the end of a file; Tail reads
// backwards so "tail -n 20" on a 10 MiB file touches a few KiB, not all of it.
const tailChunk = 32 << 10

// Tail returns the last n lines of the log across rotated files and the
// current file, oldest first, without trailing newlines. An unterminated last
// line (a crash mid-write) is returned as a line rather than hidden.
func Tail(dir, name, prefix string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	files, err := Files(dir, name, prefix)
	if err != nil {
		return nil, err
	}
	var out []string // newest file's lines first, then prepended
	for i := len(files) - 1; i >= 0 && len(out) < n; i-- {
		lines, err := lastLines(files[i], n-len(out))
		if err != nil {
			return nil, err
		}
		out = append(lines, out...)
	}
	return out, nil
}

// lastLines returns up to n trailing lines of one file.
func lastLines(path string, n int) ([]string, error) {
	f, ok, err := openListed(path)
	if err != nil || !ok {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("maillog: stat %s: %w", path, err)
	}
	data, atStart, err := readTail(f, st.Size(), n)
	if err != nil {
		return nil, fmt.Errorf("maillog: read %s: %w", path, err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	parts := bytes.Split(data, []byte("\n"))
	if !atStart {
		parts = parts[1:] // the first piece may start mid-line
	}
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	lines := make([]string, len(parts))
	for i, p := range parts {
		lines[i] = string(p)
	}
	return lines, nil
}

// readTail reads chunks backwards from size until it holds n complete lines
// or reaches the start. atStart reports whether the whole file was read.
func readTail(f io.ReaderAt, size int64, n int) (data []byte, atStart bool, err error) {
	var chunks [][]byte // newest first
	newlines := 0
	off := size
	for off > 0 {
		step := min(int64(tailChunk), off)
		off -= step
		buf := make([]byte, step)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, false, err
		}
		if off+step == size && bytes.HasSuffix(buf, []byte("\n")) {
			newlines-- // the final terminator does not start another line
		}
		newlines += bytes.Count(buf, []byte("\n"))
		chunks = append(chunks, buf)
		// k newlines before the end delimit k complete trailing lines.
		if newlines >= n {
			break
		}
	}
	slices.Reverse(chunks)
	return bytes.Join(chunks, nil), off == 0, nil
}
