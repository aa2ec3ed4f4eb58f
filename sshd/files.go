package sshd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/gliderlabs/ssh"

	"esash/accounts"
	"esash/config"
)

// File transfer: the configuration directory over SFTP (sftp.go) and the
// legacy scp protocol (scp.go), for administrators only.
//
// What a client sees is a jail whose root is the configuration directory,
// with AsyncOS's path as an alias: "/", ".", "/configuration" and
// "configuration" are the directory; "x", "/x", "configuration/x" and
// "/configuration/x" all name its file x. There are no subdirectories,
// so any other path is refused, and a ".." is refused outright (SFTP
// paths arrive already cleaned lexically by pkg/sftp, which cannot
// escape either: the jail holds no directory and follows no link).
//
// The files themselves are reached only through ConfigFiles, which
// cmd/esash implements with the shell's helpers (shell/configfile.go,
// shell/configxfer.go): the directory opened with O_NOFOLLOW and each
// name relative to it, no symbolic link followed, uploads written to a
// temporary file and renamed in place on success, so that certconfig
// IMPORT and loadconfig find a complete file or none.
//
// The role is checked when the session opens and again at every file
// operation, so that a demotion committed meanwhile takes effect at once.
//
// Uploads are bounded as a whole, not only file by file: the directory
// holds at most MaxConfigFiles entries and MaxConfigBytes bytes (the
// files listed, plus the uploads in progress). An upload that would pass
// either limit is refused with an error naming the limit: a new name when
// the directory is full at its start; bytes as they arrive (scp announces
// its size, so it is refused before any data) and again at commit, which
// the server serializes so that two uploads cannot both take the last
// place. A file replaced by an upload of its name does not count twice.
//
// Temporary files of uploads (".upload-*") are never listed nor
// reachable by name (checkName). One is left behind when the process dies
// mid-transfer, or an Abort fails: the server removes them when it starts
// and after each failed upload that leaves no other in progress, through
// ConfigFiles' RemoveUploadTemps (UploadSweeper).

// ConfigFiles is the configuration directory. Names are single
// components; implementations validate them again and their errors are
// shown to the client as they are.
type ConfigFiles interface {
	// Open opens a regular file for reading, never through a link.
	Open(name string) (*os.File, error)
	// Create starts an upload; nothing appears under name before Commit.
	Create(name string) (Upload, error)
	// List lists the directory as lstat sees it.
	List() ([]fs.FileInfo, error)
	// Remove deletes a regular file.
	Remove(name string) error
}

// Upload is a file being received.
type Upload interface {
	io.Writer
	io.WriterAt
	// Commit puts the file under its name, replacing one of that name.
	Commit() error
	// Abort discards it.
	Abort() error
}

// UploadSweeper is a ConfigFiles that can remove the temporary files of
// uploads left behind (a crash, a failed Abort). It is called only when
// no upload is in progress on the server.
type UploadSweeper interface {
	RemoveUploadTemps() (int, error)
}

// MaxConfigFiles and MaxConfigBytes bound the configuration directory as
// uploads fill it: a thousand entries and 1 GiB (sixteen files of
// DefaultMaxFileSize), far above what certconfig IMPORT, loadconfig and
// the lists an administrator imports need, and below what would fill the
// disk the queue and logs share.
const (
	MaxConfigFiles = 1000
	MaxConfigBytes = 1 << 30
)

// DefaultMaxFileSize bounds an upload when Options.MaxFileSize is zero:
// the shell reads no larger file.
const DefaultMaxFileSize = 64 << 20

// maxOpenFiles bounds the handles (files and directory listings) one
// SFTP session holds open at once: an upload holds two descriptors and a
// temporary file until it is closed, a listing its copy, and pkg/sftp
// keeps a client's handles without limit. OpenSSH's clients open one file
// at a time.
const maxOpenFiles = 16

// target is what a client's path names.
type target struct {
	dir  bool   // the configuration directory itself
	name string // else a file in it
}

// display is the target as AsyncOS names it.
func (t target) display() string {
	if t.dir {
		return "/configuration"
	}
	return "/configuration/" + t.name
}

// resolve maps a client's path onto the jail.
func resolve(p string) (target, error) {
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return target{}, errDotDot
		}
		parts = append(parts, c)
	}
	if len(parts) > 0 && parts[0] == "configuration" {
		parts = parts[1:]
	}
	switch len(parts) {
	case 0:
		return target{dir: true}, nil
	case 1:
		if err := checkName(parts[0]); err != nil {
			return target{}, err
		}
		return target{name: parts[0]}, nil
	}
	return target{}, errOutside
}

// checkName refuses what the transfer protocols cannot carry safely or
// what is the appliance's own; the rest (length, '/', '..') is
// ConfigFiles' to check, with the shell's messages.
func checkName(name string) error {
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errBadName
		}
	}
	if strings.HasPrefix(name, ".upload-") || strings.HasPrefix(name, ".export-") {
		return errReserved
	}
	return nil
}

// xfer is one file-transfer session.
type xfer struct {
	s     *Server
	user  string
	addr  string
	proto string // "SFTP" or "SCP", for the log
	files ConfigFiles
	max   int64

	mu   sync.Mutex
	held int // files open (SFTP), at most maxOpenFiles
}

// hold takes one of the session's maxOpenFiles places; the returned func
// gives it back (once, however often it is called).
func (x *xfer) hold() (release func(), err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.held >= maxOpenFiles {
		return nil, fmt.Errorf("%w (at most %d at once)", errTooManyOpen, maxOpenFiles)
	}
	x.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			x.mu.Lock()
			x.held--
			x.mu.Unlock()
		})
	}, nil
}

// uploadTracker is the server's uploads in progress: the limits of the
// directory count them, and leftovers are swept only when there are none.
type uploadTracker struct {
	mu       sync.Mutex
	active   map[*trackedUpload]struct{}
	maxFiles int   // MaxConfigFiles unless a test lowers it
	maxBytes int64 // MaxConfigBytes unless a test lowers it
}

func (t *uploadTracker) limits() (int, int64) {
	files, bytes := t.maxFiles, t.maxBytes
	if files <= 0 {
		files = MaxConfigFiles
	}
	if bytes <= 0 {
		bytes = MaxConfigBytes
	}
	return files, bytes
}

// sweepUploads removes the uploads' leftover temporary files when none is
// in progress (t.mu held); why is for the log.
func (s *Server) sweepUploads(why string) {
	sw, ok := s.opts.Files.(UploadSweeper)
	if !ok || len(s.uploads.active) > 0 {
		return
	}
	n, err := sw.RemoveUploadTemps()
	if n > 0 {
		s.opts.Log("Removed %d temporary file(s) of unfinished uploads from /configuration (%s).", n, why)
	}
	if err != nil {
		s.opts.Log("Temporary files of unfinished uploads not removed from /configuration (%s): %v", why, err)
	}
}

// startUploads sweeps the leftovers of the previous run (New).
func (s *Server) startUploads() {
	s.uploads.mu.Lock()
	defer s.uploads.mu.Unlock()
	s.sweepUploads("at start")
}

// listed is what the directory holds besides name: its entries and their
// bytes (as listed: temporaries are not); exists says name is listed.
func (x *xfer) listed(name string) (files int, bytes int64, exists bool, err error) {
	infos, err := x.files.List()
	if err != nil {
		return 0, 0, false, err
	}
	for _, fi := range infos {
		if fi.Name() == name {
			exists = true
			continue
		}
		files++
		if fi.Mode().IsRegular() {
			bytes += fi.Size()
		}
	}
	return files, bytes, exists, nil
}

// inFlight is the bytes of the uploads in progress but skip (uploads.mu
// held).
func (t *uploadTracker) inFlight(skip *trackedUpload) int64 {
	var n int64
	for u := range t.active {
		if u != skip {
			n += u.size
		}
	}
	return n
}

// checkRoom refuses an upload of size bytes under name that would pass a
// limit of the directory (uploads.mu held); base is the listed bytes
// besides name.
func (x *xfer) checkRoom(name string, size int64, self *trackedUpload) (base int64, err error) {
	maxFiles, _ := x.s.uploads.limits()
	files, base, exists, err := x.listed(name)
	if err != nil {
		return 0, err
	}
	if !exists && files >= maxFiles {
		return 0, fmt.Errorf("%w: at most %d files (MaxConfigFiles); remove one first", errDirFiles, maxFiles)
	}
	return base, x.s.uploads.checkBytes(base+x.s.uploads.inFlight(self), size)
}

// checkBytes refuses size more bytes on top of used (uploads.mu held).
func (t *uploadTracker) checkBytes(used, size int64) error {
	if _, maxBytes := t.limits(); used+size > maxBytes {
		return fmt.Errorf("%w: at most %d bytes in all (MaxConfigBytes), %d used; remove files first", errDirBytes, maxBytes, used)
	}
	return nil
}

// create starts an upload of name, of size bytes when the protocol says
// (scp; -1 for SFTP), within the directory's limits.
func (x *xfer) create(name string, size int64) (Upload, error) {
	t := &x.s.uploads
	t.mu.Lock()
	defer t.mu.Unlock()
	base, err := x.checkRoom(name, max(size, 0), nil)
	if err != nil {
		return nil, err
	}
	up, err := x.files.Create(name)
	if err != nil {
		return nil, err
	}
	u := &trackedUpload{Upload: up, x: x, name: name, base: base}
	if t.active == nil {
		t.active = map[*trackedUpload]struct{}{}
	}
	t.active[u] = struct{}{}
	return u, nil
}

// trackedUpload is an upload the server counts: its bytes against the
// directory's limit as they arrive, its commit checked and serialized,
// its failure followed by a sweep.
type trackedUpload struct {
	Upload
	x    *xfer
	name string
	base int64 // the directory's bytes besides name when it started
	size int64 // the highest offset written (uploads.mu)
	next int64 // Write's offset
	done bool
}

// grow records end as written and refuses it past the limit.
func (u *trackedUpload) grow(end int64) error {
	t := &u.x.s.uploads
	t.mu.Lock()
	defer t.mu.Unlock()
	if end <= u.size {
		return nil
	}
	// The listing of the start, not a new one per write: Commit checks
	// the directory as it is then.
	if err := t.checkBytes(u.base+t.inFlight(u), end); err != nil {
		return err
	}
	u.size = end
	return nil
}

func (u *trackedUpload) Write(p []byte) (int, error) {
	if err := u.grow(u.next + int64(len(p))); err != nil {
		return 0, err
	}
	n, err := u.Upload.Write(p)
	u.next += int64(n)
	return n, err
}

func (u *trackedUpload) WriteAt(p []byte, off int64) (int, error) {
	if err := u.grow(off + int64(len(p))); err != nil {
		return 0, err
	}
	return u.Upload.WriteAt(p, off)
}

// Commit checks the limits again with the directory as it is now and
// commits, both under the server's lock: concurrent uploads cannot both
// take the last place.
func (u *trackedUpload) Commit() error {
	t := &u.x.s.uploads
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.done {
		return errors.New("upload already finished")
	}
	u.done = true
	delete(t.active, u)
	if _, err := u.x.checkRoom(u.name, u.size, u); err != nil {
		u.Upload.Abort()
		u.x.s.sweepUploads("after a refused upload")
		return err
	}
	if err := u.Upload.Commit(); err != nil {
		u.x.s.sweepUploads("after a failed upload")
		return err
	}
	return nil
}

// Abort discards the upload, then sweeps leftovers if it was the last.
func (u *trackedUpload) Abort() error {
	t := &u.x.s.uploads
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	delete(t.active, u)
	err := u.Upload.Abort()
	u.x.s.sweepUploads("after a failed upload")
	return err
}

func (s *Server) newXfer(user, addr, proto string) *xfer {
	max := s.opts.MaxFileSize
	if max <= 0 {
		max = DefaultMaxFileSize
	}
	return &xfer{s: s, user: user, addr: addr, proto: proto, files: s.opts.Files, max: max}
}

// allowed checks, against the running configuration, that the account
// still exists and is an administrator.
func (x *xfer) allowed() error {
	if x.files == nil {
		return errNoFiles
	}
	u := accounts.FindUser(x.s.opts.Head(), x.user)
	switch {
	case u == nil:
		return accounts.ErrNoAccount
	case u.Role != config.RoleAdmin:
		return fmt.Errorf("%w (the account %s has the %s role)", errNotAdmin, x.user, u.Role)
	}
	return nil
}

// refused logs a refusal and returns err.
func (x *xfer) refused(op, path string, err error) error {
	x.s.opts.Log("The user %s from %s was refused %s %q over %s: %v", x.user, x.addr, op, path, x.proto, err)
	return err
}

// logDone records a completed transfer.
func (x *xfer) logDone(verb, name string, size int64) {
	x.s.opts.Log("The user %s %s /configuration/%s (%d bytes) over %s from %s.", x.user, verb, name, size, x.proto, x.addr)
}

// open resolves path for op and checks the role: the common start of
// every operation.
func (x *xfer) open(op, path string) (target, error) {
	if err := x.allowed(); err != nil {
		return target{}, x.refused(op, path, err)
	}
	t, err := resolve(path)
	if err != nil {
		return target{}, x.refused(op, path, err)
	}
	return t, nil
}

// statFile finds name in the listing (lstat: a link is reported as one).
func (x *xfer) statFile(name string) (fs.FileInfo, error) {
	infos, err := x.files.List()
	if err != nil {
		return nil, err
	}
	for _, fi := range infos {
		if fi.Name() == name {
			return fi, nil
		}
	}
	return nil, fmt.Errorf("the file %q does not exist in the configuration directory: %w", name, fs.ErrNotExist)
}

// transfer runs a session that is a file transfer (the sftp subsystem, an
// exec of scp); ok is false for any other session.
func (s *Server) transfer(sess ssh.Session, user, addr string) (code int, ok bool) {
	proto := ""
	switch {
	case sess.Subsystem() == "sftp":
		proto = "SFTP"
	case sess.Subsystem() == "":
		if scpCommand(sess.Command()) {
			proto = "SCP"
		}
	}
	if proto == "" {
		return 0, false
	}
	x := s.newXfer(user, addr, proto)
	if _, _, isPty := sess.Pty(); isPty {
		// gliderlabs turns "\n" into "\r\n" on a pty: binary data would
		// arrive altered. OpenSSH's clients never ask for one.
		x.refused("opening", proto, errPty)
		fmt.Fprintf(sess.Stderr(), "esash: %v\n", errPty)
		return 1, true
	}
	if proto == "SCP" {
		// Refusals go through the protocol, which the client prints.
		return x.serveSCP(sess, sess, sess.Command()), true
	}
	if err := x.allowed(); err != nil {
		x.refused("opening", "sftp", err)
		fmt.Fprintf(sess.Stderr(), "esash: %v\n", err)
		return 1, true
	}
	return x.serveSFTP(sess), true
}
