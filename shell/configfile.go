package shell

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Files of the configuration directory are opened without following
// symbolic links (issue 12, item 9: an EXPORT through a link overwrote a
// file outside the data directory and changed its mode; imports read
// through links). A name is one component (CheckFileName), so it is
// enough that:
//
//   - the directory DataDir/configuration is opened with O_NOFOLLOW, so
//     that a link in its place is refused, and everything else is opened
//     relative to that descriptor (openat, renameat): the directory
//     cannot be swapped between check and use;
//   - the file itself is opened with O_NOFOLLOW: a link is refused, not
//     followed, wherever it points, inside or out;
//   - an export is written to a new temporary file (O_EXCL) and renamed
//     over the name: a link there is replaced, its target untouched.
//
// os.Root (Go 1.24+) was the other candidate; it refuses escapes but
// follows links that stay inside the root and ignores O_NOFOLLOW on the
// final component, which is not what is wanted here. openat2's
// RESOLVE_BENEATH adds nothing for a single component. The appliance runs
// on Linux only (the queue already uses Fdatasync), so the syscall
// package's openat is used directly.

// configDir opens DataDir/configuration, refusing a link in its place;
// create makes it when missing.
func (s *Session) configDir(create bool) (int, error) {
	dir := filepath.Join(s.DataDir, "configuration")
	if create {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return -1, err
		}
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// linkError is the refusal of a symbolic link.
func linkError(op, name string, err error) error {
	return &FileError{Op: op, Reason: fmt.Sprintf("%q is a symbolic link, which the configuration directory does not follow", name), Err: err}
}

// dirError describes a configuration directory that cannot be opened.
func dirError(op string, err error) error {
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
		return &FileError{Op: op, Reason: "the configuration directory is not a directory (a symbolic link is not followed)", Err: err}
	}
	return &FileError{Op: op, Err: err}
}

// OpenConfigFile opens a regular file of the configuration directory for
// reading, never through a symbolic link. A bad name is refused with
// CheckFileName's message, any other failure with a *FileError; both
// texts can be shown as they are.
func (s *Session) OpenConfigFile(name string) (*os.File, error) {
	if msg := CheckFileName(name); msg != "" {
		return nil, errors.New(msg)
	}
	fail := func(reason string, err error) error {
		return &FileError{Op: "reading", Reason: reason, Err: err}
	}
	dfd, err := s.configDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(fmt.Sprintf("the file %q does not exist in the configuration directory", name), err)
	} else if err != nil {
		return nil, dirError("reading", err)
	}
	defer syscall.Close(dfd)
	// O_NONBLOCK: a FIFO must not hang the session in open; it is
	// refused below as not regular.
	fd, err := syscall.Openat(dfd, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return nil, fail(fmt.Sprintf("the file %q does not exist in the configuration directory", name), fs.ErrNotExist)
	case errors.Is(err, syscall.ELOOP):
		return nil, linkError("reading", name, err)
	case err != nil:
		return nil, fail("", err)
	}
	f := os.NewFile(uintptr(fd), name)
	st, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, fail("", err)
	case !st.Mode().IsRegular():
		f.Close()
		return nil, fail(fmt.Sprintf("%q is not a regular file", name), nil)
	}
	return f, nil
}

// ReadConfigFile reads a file the administrator named from the
// configuration directory: a regular file of at most MaxConfigFile bytes,
// never through a symbolic link. A bad name is refused with
// CheckFileName's message, any other failure with a *FileError; both
// texts can be shown as they are.
func (s *Session) ReadConfigFile(name string) ([]byte, error) {
	f, err := s.OpenConfigFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooLarge := &FileError{Op: "reading", Reason: fmt.Sprintf("%q is larger than %d MB", name, MaxConfigFile>>20)}
	if st, err := f.Stat(); err == nil && st.Size() > MaxConfigFile {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigFile+1))
	if err != nil {
		return nil, &FileError{Op: "reading", Err: err}
	}
	if len(data) > MaxConfigFile { // it grew since Stat
		return nil, tooLarge
	}
	return data, nil
}

// WriteConfigFile writes a file into the configuration directory (made if
// missing) atomically: temporary file, fsync, rename, so an export
// interrupted half-way never leaves a truncated file under the final name,
// and a symbolic link under that name is replaced, never written through.
// A bad name is refused with CheckFileName's message, any other failure
// with a *FileError; both texts can be shown as they are.
func (s *Session) WriteConfigFile(name string, data []byte, perm os.FileMode) error {
	if msg := CheckFileName(name); msg != "" {
		return errors.New(msg)
	}
	dfd, err := s.configDir(true)
	if err != nil {
		return dirError("writing", err)
	}
	defer syscall.Close(dfd)
	var rnd [8]byte
	rand.Read(rnd[:])
	tmpName := ".export-" + hex.EncodeToString(rnd[:])
	fd, err := syscall.Openat(dfd, tmpName, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return &FileError{Op: "writing", Err: err}
	}
	tmp := os.NewFile(uintptr(fd), tmpName)
	defer syscall.Unlinkat(dfd, tmpName) // a no-op once renamed
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Renameat(dfd, tmpName, dfd, name)
	}
	if err != nil {
		return &FileError{Op: "writing", Err: err}
	}
	return nil
}

// CreateConfigFile creates a new file in the configuration directory
// (made if missing) for writing: an existing name, a link among them, is
// refused with an error that wraps fs.ErrExist. A bad name is refused with
// CheckFileName's message, any other failure with a *FileError.
func (s *Session) CreateConfigFile(name string, perm os.FileMode) (*os.File, error) {
	if msg := CheckFileName(name); msg != "" {
		return nil, errors.New(msg)
	}
	dfd, err := s.configDir(true)
	if err != nil {
		return nil, dirError("writing", err)
	}
	defer syscall.Close(dfd)
	fd, err := syscall.Openat(dfd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, uint32(perm.Perm()))
	if errors.Is(err, syscall.EEXIST) {
		return nil, &FileError{Op: "writing", Reason: fmt.Sprintf("the file %q already exists", name), Err: fs.ErrExist}
	}
	if err != nil {
		return nil, &FileError{Op: "writing", Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}
