package sshd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
)

// SFTP (OpenSSH's sftp, and its scp by default since 9.0) is served by
// github.com/pkg/sftp v1.13.12's request server over handlers of our own,
// rather than by its Server, which maps paths onto the host's file
// system (a root jail there would still follow the links inside the
// directory and offer every operation of a real disk). The handlers see
// each operation with a path pkg/sftp has cleaned against "/", map it
// with resolve and do only what the configuration directory allows:
// read, upload (whole files, atomically), list, stat and remove. Modes
// and times a client sets are not kept: files are the appliance's, 0600.

// serveSFTP runs the sftp subsystem until the client leaves.
func (x *xfer) serveSFTP(sess ssh.Session) int {
	h := &sftpHandlers{x: x}
	rs := sftp.NewRequestServer(sess, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
	err := rs.Serve()
	if err != nil && !errors.Is(err, io.EOF) {
		x.s.opts.Log("The SFTP session of the user %s from %s ended: %v", x.user, x.addr, err)
		return 1
	}
	return 0
}

type sftpHandlers struct{ x *xfer }

// fxError is a refusal with its SFTP status code; its text is ours.
type fxError struct {
	err  error
	code error // one of sftp.ErrSSHFx*
}

func (e *fxError) Error() string { return e.err.Error() }
func (e *fxError) Unwrap() error { return e.code }

// status gives err the SFTP status code that says what happened.
func status(err error) error {
	code := sftp.ErrSSHFxFailure
	switch {
	case errors.Is(err, fs.ErrNotExist):
		code = sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, errNotAdmin), errors.Is(err, errOutside), errors.Is(err, errDotDot),
		errors.Is(err, errNoSubdirs), errors.Is(err, errNoLinks), errors.Is(err, syscall.ELOOP):
		code = sftp.ErrSSHFxPermissionDenied
	case errors.Is(err, errUnsupported):
		code = sftp.ErrSSHFxOpUnsupported
	}
	return &fxError{err: err, code: code}
}

var errUnsupported = errors.New("operation not supported")

// Fileread opens a file to download.
func (h *sftpHandlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	x := h.x
	t, err := x.open("reading", r.Filepath)
	if err != nil {
		return nil, status(err)
	}
	if t.dir {
		return nil, status(x.refused("reading", r.Filepath, errIsDir))
	}
	release, err := x.hold()
	if err != nil {
		return nil, status(x.refused("reading", r.Filepath, err))
	}
	f, err := x.files.Open(t.name)
	if err != nil {
		release()
		return nil, status(x.refused("reading", r.Filepath, err))
	}
	return &download{File: f, x: x, name: t.name, release: release}, nil
}

// download logs the file once the client closes it.
type download struct {
	*os.File
	x       *xfer
	name    string
	release func() // the session's open-file place
}

func (d *download) Close() error {
	defer d.release()
	if st, err := d.Stat(); err == nil {
		d.x.logDone("downloaded", d.name, st.Size())
	}
	return d.File.Close()
}

// Filewrite starts an upload: the whole file, from its start.
func (h *sftpHandlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	x := h.x
	t, err := x.open("writing", r.Filepath)
	if err != nil {
		return nil, status(err)
	}
	if t.dir {
		return nil, status(x.refused("writing", r.Filepath, errIsDir))
	}
	// An upload replaces the whole file: appending, or rewriting part of
	// an existing file (a resumed transfer), cannot be done atomically.
	fl := r.Pflags()
	partial := fl.Append
	if !fl.Trunc || fl.Excl {
		_, err := x.statFile(t.name)
		exists := err == nil
		if fl.Excl && exists {
			// No-clobber: the client asked to create the file only.
			return nil, status(x.refused("writing", r.Filepath,
				fmt.Errorf("the file %q already exists: %w", t.name, fs.ErrExist)))
		}
		partial = partial || exists && !fl.Trunc
	}
	if partial {
		return nil, status(x.refused("writing", r.Filepath,
			fmt.Errorf("appending or resuming: %w (an upload replaces the whole file)", errUnsupported)))
	}
	release, err := x.hold()
	if err != nil {
		return nil, status(x.refused("writing", r.Filepath, err))
	}
	up, err := x.create(t.name, -1)
	if err != nil {
		release()
		return nil, status(x.refused("writing", r.Filepath, err))
	}
	return &upload{up: up, x: x, name: t.name, release: release}, nil
}

// upload receives a file; Close commits it unless the transfer failed.
type upload struct {
	up      Upload
	x       *xfer
	name    string
	release func() // the session's open-file place

	mu     sync.Mutex
	size   int64  // the highest offset written
	ranges []span // what was written, sorted and merged: one from 0 to size, or a hole
	failed error
}

// span is a written range [from, to).
type span struct{ from, to int64 }

// maxSpans bounds the disjoint ranges an upload may have in flight: a
// client's pipelined writes arrive nearly in order, so a few suffice.
const maxSpans = 1024

// addSpan records [from, to) as written.
func addSpan(spans []span, from, to int64) []span {
	out := make([]span, 0, len(spans)+1)
	i := 0
	for ; i < len(spans) && spans[i].to < from; i++ {
		out = append(out, spans[i])
	}
	for ; i < len(spans) && spans[i].from <= to; i++ {
		from, to = min(from, spans[i].from), max(to, spans[i].to)
	}
	out = append(out, span{from, to})
	return append(out, spans[i:]...)
}

func (u *upload) WriteAt(p []byte, off int64) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed != nil {
		return 0, status(u.failed)
	}
	end := off + int64(len(p))
	if off < 0 || end > u.x.max {
		u.failed = fmt.Errorf("%w (at most %d bytes)", errTooLarge, u.x.max)
		return 0, status(u.failed)
	}
	n, err := u.up.WriteAt(p, off)
	if err != nil {
		u.failed = err
		return n, status(err)
	}
	u.size = max(u.size, end)
	if n > 0 {
		u.ranges = addSpan(u.ranges, off, off+int64(n))
	}
	if len(u.ranges) > maxSpans {
		u.failed = fmt.Errorf("more than %d separate ranges written", maxSpans)
		return n, status(u.failed)
	}
	return n, nil
}

// TransferError is pkg/sftp telling that the session ended with the file
// still open: the client is gone, the file is incomplete.
func (u *upload) TransferError(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed == nil {
		u.failed = fmt.Errorf("the session ended during the upload: %w", err)
	}
}

func (u *upload) Close() error {
	defer u.release()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed == nil && u.size > 0 && (len(u.ranges) != 1 || u.ranges[0] != span{0, u.size}) {
		u.failed = fmt.Errorf("the %d bytes were not all written: the file has holes", u.size)
	}
	if u.failed != nil {
		u.up.Abort()
		u.x.refused("writing", "/configuration/"+u.name, fmt.Errorf("nothing written: %w", u.failed))
		return status(u.failed)
	}
	if err := u.up.Commit(); err != nil {
		return status(u.x.refused("writing", "/configuration/"+u.name, err))
	}
	u.x.logDone("uploaded", u.name, u.size)
	return nil
}

// Filecmd: remove; setstat is accepted and ignored (modes and times are
// the appliance's); the rest is refused.
func (h *sftpHandlers) Filecmd(r *sftp.Request) error {
	x := h.x
	op := map[string]string{"Remove": "removing", "Setstat": "changing"}[r.Method]
	if op == "" {
		err := errUnsupported
		switch r.Method {
		case "Mkdir", "Rmdir":
			err = errNoSubdirs
		case "Symlink", "Link":
			err = errNoLinks
		}
		return status(x.refused(r.Method, r.Filepath, err))
	}
	t, err := x.open(op, r.Filepath)
	if err != nil {
		return status(err)
	}
	switch {
	case r.Method == "Setstat":
		return nil
	case t.dir:
		return status(x.refused(op, r.Filepath, errIsDir))
	}
	if err := x.files.Remove(t.name); err != nil {
		return status(x.refused(op, r.Filepath, err))
	}
	x.s.opts.Log("The user %s removed /configuration/%s over SFTP from %s.", x.user, t.name, x.addr)
	return nil
}

// Filelist lists the directory and stats its files.
func (h *sftpHandlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	x := h.x
	if r.Method == "Readlink" {
		return nil, status(x.refused("reading the link", r.Filepath, errNoLinks))
	}
	t, err := x.open("listing", r.Filepath)
	if err != nil {
		return nil, status(err)
	}
	switch {
	case r.Method == "List" && t.dir:
		// A directory handle holds its listing until closed.
		release, err := x.hold()
		if err != nil {
			return nil, status(x.refused("listing", r.Filepath, err))
		}
		infos, err := x.files.List()
		if err != nil {
			release()
			return nil, status(x.refused("listing", r.Filepath, err))
		}
		return &dirHandle{listerAt: infos, release: release}, nil
	case r.Method == "List":
		return nil, status(x.refused("listing", r.Filepath, errOutside))
	case t.dir:
		return listerAt{dirInfo{}}, nil
	}
	fi, err := x.statFile(t.name)
	if err != nil {
		return nil, status(err)
	}
	return listerAt{fi}, nil
}

type listerAt []fs.FileInfo

// dirHandle is an open directory; pkg/sftp closes it with its handle.
type dirHandle struct {
	listerAt
	release func() // the session's open-file place
}

func (d *dirHandle) Close() error {
	d.release()
	return nil
}

func (l listerAt) ListAt(out []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// dirInfo is the configuration directory as stat shows it.
type dirInfo struct{}

func (dirInfo) Name() string       { return "configuration" }
func (dirInfo) Size() int64        { return 0 }
func (dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o700 }
func (dirInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (dirInfo) IsDir() bool        { return true }
func (dirInfo) Sys() any           { return nil }
