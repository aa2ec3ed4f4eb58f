package sshd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The legacy scp protocol (OpenSSH's `scp -O`, and every scp before 9.0):
// the client runs `scp -t TARGET` (upload) or `scp -f PATH...` (download)
// on the server and the two ends exchange header lines, file data and
// one-byte acknowledgements over the session's streams. No maintained Go
// library serves it (the few that exist run the host's scp binary or
// write where the header says), so this is a small implementation of its
// server side, on the jail of files.go:
//
//   - headers are parsed strictly (parseHeader, fuzzed): `C` mode size
//     name, `T` times (acknowledged, ignored), `D` (refused: no
//     subdirectories), `E`; anything else ends the session;
//   - a file's size is checked against the limit before any data is
//     accepted, and its data goes into an Upload committed only once all
//     of it and the client's final status byte have arrived;
//   - downloads accept a pattern in the last component (no remote shell
//     expands it) and -r on the directory itself.
//
// Status bytes: 0 ok, 1 a warning with a message line (the transfer goes
// on), 2 a fatal error.

// maxHeader bounds a header line (OpenSSH's own buffer is 2048 bytes).
const maxHeader = 4096

// scpCommand recognises an exec of scp.
func scpCommand(argv []string) bool { return len(argv) > 0 && argv[0] == "scp" }

// scpArgs are the options of `scp -t`/`scp -f`.
type scpArgs struct {
	sink, source bool // -t, -f
	recursive    bool // -r
	preserve     bool // -p: times are sent on download, ignored on upload
	dirTarget    bool // -d: the target must be a directory
	paths        []string
}

// parseSCPArgs reads the server side's command line as OpenSSH's client
// writes it ("scp -v -r -p -d -t -- PATH"), letters possibly grouped.
func parseSCPArgs(argv []string) (scpArgs, error) {
	var a scpArgs
	i := 1
	for ; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			i++
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			break
		}
		for _, c := range arg[1:] {
			switch c {
			case 't':
				a.sink = true
			case 'f':
				a.source = true
			case 'r':
				a.recursive = true
			case 'p':
				a.preserve = true
			case 'd':
				a.dirTarget = true
			case 'v', 'q':
			default:
				return a, fmt.Errorf("unsupported option -%c (this is the server side of scp: -t or -f)", c)
			}
		}
	}
	a.paths = argv[i:]
	switch {
	case a.sink == a.source:
		return a, errors.New("exactly one of -t (upload) and -f (download) is required")
	case a.sink && len(a.paths) != 1:
		return a, errors.New("an upload (-t) takes exactly one target")
	case a.source && len(a.paths) == 0:
		return a, errors.New("a download (-f) takes at least one path")
	}
	return a, nil
}

// header is one parsed control line.
type header struct {
	kind byte // 'C', 'D', 'E' or 'T'
	mode fs.FileMode
	size int64
	name string
}

// parseHeader parses a control line without its newline.
func parseHeader(line string) (header, error) {
	if line == "" {
		return header{}, errors.New("empty header")
	}
	h := header{kind: line[0]}
	switch h.kind {
	case 'E':
		if line != "E" {
			return h, errors.New("malformed E header")
		}
		return h, nil
	case 'T':
		f := strings.Split(line[1:], " ")
		if len(f) != 4 {
			return h, errors.New("malformed T header")
		}
		for _, v := range f {
			if !allDigits(v, 20) {
				return h, errors.New("malformed T header")
			}
		}
		return h, nil
	case 'C', 'D':
	default:
		return h, fmt.Errorf("unknown header type %q", h.kind)
	}
	// "C0644 1234 name": exactly four octal digits, as OpenSSH writes them.
	if len(line) < 8 || line[5] != ' ' {
		return h, errors.New("malformed file header")
	}
	for _, c := range line[1:5] {
		if c < '0' || c > '7' {
			return h, errors.New("malformed mode in file header")
		}
		h.mode = h.mode<<3 | fs.FileMode(c-'0')
	}
	size, name, ok := strings.Cut(line[6:], " ")
	// Canonical decimal, as OpenSSH writes it: no sign, no leading zero.
	if !ok || !allDigits(size, 19) || len(size) > 1 && size[0] == '0' {
		return h, errors.New("malformed size in file header")
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return h, errors.New("malformed size in file header")
	}
	h.size = n
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return h, fmt.Errorf("unacceptable file name %q in header", name)
	}
	h.name = name
	return h, nil
}

func allDigits(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// scpConn is the session's streams.
type scpConn struct {
	r *bufio.Reader
	w io.Writer
}

func (c *scpConn) ack() error { _, err := c.w.Write([]byte{0}); return err }

// warn sends a non-fatal error, which the client prints.
func (c *scpConn) warn(p string, err error) error {
	_, werr := fmt.Fprintf(c.w, "\x01scp: %s: %s\n", p, oneLine(err.Error()))
	return werr
}

// fatal sends an error that ends the transfer.
func (c *scpConn) fatal(err error) {
	fmt.Fprintf(c.w, "\x02scp: %s\n", oneLine(err.Error()))
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// readLine reads a header line, at most maxHeader bytes.
func (c *scpConn) readLine() (string, error) {
	var b []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxHeader {
			return "", errors.New("header line too long")
		}
		switch {
		case err == nil:
			return string(b[:len(b)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return "", err
		}
	}
}

// readAck reads the peer's status: nil for 0, an error with its message
// for 1 (warning) and 2 (fatal), io.EOF-like errors when it is gone.
func (c *scpConn) readAck() (fatal bool, err error) {
	b, err := c.r.ReadByte()
	if err != nil {
		return true, err
	}
	switch b {
	case 0:
		return false, nil
	case 1, 2:
		msg, err := c.readLine()
		if err != nil {
			return true, err
		}
		return b == 2, fmt.Errorf("the client reported: %s", strings.TrimSpace(msg))
	}
	return true, fmt.Errorf("protocol error: status byte %d", b)
}

// serveSCP runs `scp -t`/`scp -f`; the exit status is 0 when every file
// went through.
func (x *xfer) serveSCP(stdin io.Reader, stdout io.Writer, argv []string) int {
	c := &scpConn{r: bufio.NewReader(stdin), w: stdout}
	a, err := parseSCPArgs(argv)
	if err != nil {
		x.refused("running", strings.Join(argv, " "), err)
		c.fatal(err)
		return 1
	}
	if err := x.allowed(); err != nil {
		x.refused("running", strings.Join(argv, " "), err)
		c.fatal(err)
		return 1
	}
	if a.sink {
		return x.scpSink(c, a)
	}
	return x.scpSource(c, a)
}

// scpSink receives files into the target.
func (x *xfer) scpSink(c *scpConn, a scpArgs) int {
	p := a.paths[0]
	t, err := x.open("writing", p)
	if err == nil && a.dirTarget && !t.dir {
		err = x.refused("writing", p, errors.New("not a directory"))
	}
	if err != nil {
		c.warn(p, err)
		return 1
	}
	if c.ack() != nil {
		return 1
	}
	code := 0
	for {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			return code
		} else if err != nil {
			c.fatal(err)
			return 1
		}
		if line != "" && (line[0] == 1 || line[0] == 2) {
			// The client could not read a file: it says so and goes on.
			code = 1
			if line[0] == 2 {
				return 1
			}
			continue
		}
		h, err := parseHeader(line)
		if err != nil {
			x.refused("writing", p, fmt.Errorf("protocol error: %w", err))
			c.fatal(fmt.Errorf("protocol error: %w", err))
			return 1
		}
		switch h.kind {
		case 'T':
			err = c.ack()
		case 'D':
			code = 1
			err = c.warn(path.Join(p, h.name), x.refused("writing", path.Join(p, h.name), errNoSubdirs))
		case 'E':
			err = errors.New("protocol error: E without D")
			c.fatal(err)
			return 1
		case 'C':
			name := t.name
			if t.dir {
				name = h.name
			}
			var ok bool
			ok, err = x.scpReceive(c, "/configuration/"+name, name, h.size)
			if !ok {
				code = 1
			}
		}
		if err != nil {
			return 1
		}
	}
}

// scpReceive takes one file into name; shown is the path as the client
// sees it. ok is false when the file was refused; err ends the session
// (the peer is gone or broke the protocol).
func (x *xfer) scpReceive(c *scpConn, shown, name string, size int64) (ok bool, err error) {
	refuse := func(err error) (bool, error) { return false, c.warn(shown, x.refused("writing", shown, err)) }
	if err := x.allowed(); err != nil {
		return refuse(err)
	}
	if err := checkName(name); err != nil {
		return refuse(err)
	}
	if size > x.max {
		return refuse(fmt.Errorf("%w (at most %d bytes)", errTooLarge, x.max))
	}
	up, err := x.create(name, size)
	if err != nil {
		return refuse(err)
	}
	if err := c.ack(); err != nil {
		up.Abort()
		return false, err
	}
	// A write error must not desynchronise the stream: the data is read
	// to its end whatever happens to it.
	w := &stickyWriter{w: up}
	n, err := io.CopyN(w, c.r, size)
	if err != nil {
		// The client is gone mid-file: nothing appears under the name.
		up.Abort()
		x.refused("writing", shown, fmt.Errorf("nothing written: %d of %d bytes received: %v", n, size, err))
		return false, err
	}
	if fatal, err := c.readAck(); err != nil {
		// The client could not read its file to the end: it says so
		// instead of its final 0 and, like OpenSSH's sink, we answer.
		up.Abort()
		if fatal {
			x.refused("writing", shown, fmt.Errorf("nothing written: %w", err))
			return false, err
		}
		return refuse(fmt.Errorf("nothing written: %w", err))
	}
	if w.err != nil {
		up.Abort()
		return refuse(w.err)
	}
	if err := up.Commit(); err != nil {
		return refuse(err)
	}
	x.logDone("uploaded", name, size)
	return true, c.ack()
}

// stickyWriter keeps the first write error and swallows the rest of the
// data.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

// scpSource sends the files the paths name.
func (x *xfer) scpSource(c *scpConn, a scpArgs) int {
	if fatal, err := c.readAck(); err != nil || fatal {
		return 1
	}
	code := 0
	for _, p := range a.paths {
		names, err := x.scpSources(p, a.recursive)
		if err != nil {
			code = 1
			if c.warn(p, err) != nil {
				return 1
			}
			continue
		}
		if t, _ := resolve(p); t.dir {
			if ok, err := x.scpSendDir(c, names, a.preserve); err != nil {
				return 1
			} else if !ok {
				code = 1
			}
			continue
		}
		for _, n := range names {
			ok, err := x.scpSend(c, n, a.preserve)
			if err != nil {
				return 1
			}
			if !ok {
				code = 1
			}
		}
	}
	return code
}

// scpSources lists the files a download path names: one file, the
// matches of a pattern in its last component, or the directory's
// regular files (with -r).
func (x *xfer) scpSources(p string, recursive bool) ([]string, error) {
	dir, last := path.Split(p)
	pattern := strings.ContainsAny(last, "*?[")
	t, err := x.open("reading", p)
	if pattern {
		t, err = x.open("reading", dir)
		if err == nil && !t.dir {
			err = x.refused("reading", p, errOutside)
		}
	}
	if err != nil {
		return nil, err
	}
	if !pattern && !t.dir {
		return []string{t.name}, nil
	}
	if t.dir && !pattern && !recursive {
		return nil, x.refused("reading", p, fmt.Errorf("%w (use -r)", errIsDir))
	}
	infos, err := x.files.List()
	if err != nil {
		return nil, x.refused("reading", p, err)
	}
	var names []string
	for _, fi := range infos {
		if !fi.Mode().IsRegular() || checkName(fi.Name()) != nil {
			continue
		}
		if ok, err := path.Match(last, fi.Name()); pattern && (err != nil || !ok) {
			continue
		}
		names = append(names, fi.Name())
	}
	sort.Strings(names)
	if pattern && len(names) == 0 {
		return nil, x.refused("reading", p, fmt.Errorf("no file matches: %w", fs.ErrNotExist))
	}
	return names, nil
}

// scpSendDir sends the directory itself (-r): D, its files, E.
func (x *xfer) scpSendDir(c *scpConn, names []string, preserve bool) (ok bool, err error) {
	if _, err := fmt.Fprintf(c.w, "D0700 0 configuration\n"); err != nil {
		return false, err
	}
	if fatal, err := c.readAck(); err != nil {
		if fatal {
			return false, err
		}
		return false, nil
	}
	ok = true
	for _, n := range names {
		sent, err := x.scpSend(c, n, preserve)
		if err != nil {
			return false, err
		}
		ok = ok && sent
	}
	if _, err := io.WriteString(c.w, "E\n"); err != nil {
		return false, err
	}
	if fatal, err := c.readAck(); err != nil && fatal {
		return false, err
	}
	return ok, nil
}

// scpSend sends one file. ok is false when it could not be sent; err
// ends the session.
func (x *xfer) scpSend(c *scpConn, name string, preserve bool) (ok bool, err error) {
	shown := "/configuration/" + name
	if err := x.allowed(); err != nil {
		return false, c.warn(shown, x.refused("reading", shown, err))
	}
	f, err := x.files.Open(name)
	if err != nil {
		return false, c.warn(shown, x.refused("reading", shown, err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, c.warn(shown, x.refused("reading", shown, err))
	}
	size := st.Size()
	if preserve {
		mt := st.ModTime().Unix()
		if _, err := fmt.Fprintf(c.w, "T%d 0 %d 0\n", mt, mt); err != nil {
			return false, err
		}
		if fatal, err := c.readAck(); err != nil {
			return false, errIf(fatal, err)
		}
	}
	if _, err := fmt.Fprintf(c.w, "C%04o %d %s\n", st.Mode().Perm(), size, name); err != nil {
		return false, err
	}
	if fatal, err := c.readAck(); err != nil {
		return false, errIf(fatal, err)
	}
	n, err := io.CopyN(c.w, f, size)
	if err != nil && n < size {
		// The file shrank while being sent: pad to the announced size,
		// as the protocol requires, and report it instead of success.
		if _, werr := io.CopyN(c.w, zeros{}, size-n); werr != nil {
			return false, werr
		}
		if err := c.warn(shown, x.refused("reading", shown, fmt.Errorf("read %d of %d bytes: %v", n, size, err))); err != nil {
			return false, err
		}
	} else if err := c.ack(); err != nil {
		return false, err
	}
	if fatal, err := c.readAck(); err != nil {
		return false, errIf(fatal, err)
	}
	x.logDone("downloaded", name, size)
	return true, nil
}

// errIf is err when it ends the session, else nil.
func errIf(fatal bool, err error) error {
	if fatal {
		return err
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
