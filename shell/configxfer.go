package shell

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// File transfer over SSH (package sshd, wired in cmd/esash) reaches the
// configuration directory through these helpers, on the same rules as
// configfile.go: one name component (CheckFileName), the directory
// opened with O_NOFOLLOW and everything else relative to it, no symbolic
// link followed. Uploads stream into a temporary file that only Commit
// renames under the final name, so that a transfer cut halfway never
// leaves half a file where certconfig IMPORT or loadconfig would read it.

// uploadPrefix starts the temporary names of uploads: ListConfigFiles
// leaves them (and exports' ".export-") out, they are not files yet.
const uploadPrefix = ".upload-"

// ConfigUpload is a file being written into the configuration directory:
// writes go to a temporary file; Commit puts it under its name, Abort
// removes it. One of them must be called.
type ConfigUpload struct {
	*os.File // the temporary file
	name     string
	dfd      int // the configuration directory, held until Commit or Abort
	tmp      string
	done     bool
}

// UploadConfigFile starts writing name into the configuration directory
// (made if missing). A name that is a symbolic link or not a regular file
// is refused now, before any data is sent. A bad name is refused with
// CheckFileName's message, any other failure with a *FileError.
func (s *Session) UploadConfigFile(name string, perm os.FileMode) (*ConfigUpload, error) {
	if msg := CheckFileName(name); msg != "" {
		return nil, errors.New(msg)
	}
	dfd, err := s.configDir(true)
	if err != nil {
		return nil, dirError("writing", err)
	}
	if err := checkReplaceable(dfd, name); err != nil {
		syscall.Close(dfd)
		return nil, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := uploadPrefix + hex.EncodeToString(rnd[:])
	fd, err := syscall.Openat(dfd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		syscall.Close(dfd)
		return nil, &FileError{Op: "writing", Err: err}
	}
	return &ConfigUpload{File: os.NewFile(uintptr(fd), tmp), name: name, dfd: dfd, tmp: tmp}, nil
}

// checkReplaceable refuses to upload over a symbolic link (not followed,
// and not silently replaced either) or anything but a regular file.
func checkReplaceable(dfd int, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return nil
	case err != nil:
		return &FileError{Op: "writing", Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return linkError("writing", name, syscall.ELOOP)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return &FileError{Op: "writing", Reason: fmt.Sprintf("%q is not a regular file", name)}
	}
	return nil
}

// Name is the name the upload will have.
func (u *ConfigUpload) Name() string { return u.name }

// Commit syncs the file and renames it under its name, replacing a file
// of that name.
func (u *ConfigUpload) Commit() error {
	if u.done {
		return errors.New("upload already finished")
	}
	u.done = true
	defer syscall.Close(u.dfd)
	defer syscall.Unlinkat(u.dfd, u.tmp) // a no-op once renamed
	err := u.File.Sync()
	if cerr := u.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkReplaceable(u.dfd, u.name)
	}
	if err == nil {
		err = syscall.Renameat(u.dfd, u.tmp, u.dfd, u.name)
	}
	var fe *FileError
	if err != nil && !errors.As(err, &fe) {
		err = &FileError{Op: "writing", Err: err}
	}
	return err
}

// Abort removes the temporary file; the name keeps what it had.
func (u *ConfigUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	defer syscall.Close(u.dfd)
	u.File.Close()
	if err := syscall.Unlinkat(u.dfd, u.tmp); err != nil {
		return &FileError{Op: "writing", Err: err}
	}
	return nil
}

// ConfigFileInfo describes an entry of the configuration directory, as
// lstat sees it (a link is a link).
type ConfigFileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (i ConfigFileInfo) Name() string       { return i.name }
func (i ConfigFileInfo) Size() int64        { return i.size }
func (i ConfigFileInfo) Mode() fs.FileMode  { return i.mode }
func (i ConfigFileInfo) ModTime() time.Time { return i.modTime }
func (i ConfigFileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i ConfigFileInfo) Sys() any           { return nil }

// ListConfigFiles lists the configuration directory, without following
// links and without uploads or exports still being written. A missing
// directory is empty.
func (s *Session) ListConfigFiles() ([]fs.FileInfo, error) {
	dfd, err := s.configDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, dirError("reading", err)
	}
	dir := os.NewFile(uintptr(dfd), "configuration")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, &FileError{Op: "reading", Err: err}
	}
	var out []fs.FileInfo
	for _, n := range names {
		if strings.HasPrefix(n, uploadPrefix) || strings.HasPrefix(n, ".export-") {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // removed since
		}
		out = append(out, ConfigFileInfo{name: n, size: st.Size, mode: fileMode(st.Mode),
			modTime: time.Unix(st.Mtim.Unix())})
	}
	return out, nil
}

// fileMode turns a stat mode into an fs.FileMode (type and permissions).
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}

// RemoveConfigFile deletes a regular file of the configuration directory;
// a symbolic link or anything else is refused.
func (s *Session) RemoveConfigFile(name string) error {
	if msg := CheckFileName(name); msg != "" {
		return errors.New(msg)
	}
	dfd, err := s.configDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return &FileError{Op: "removing", Reason: fmt.Sprintf("the file %q does not exist in the configuration directory", name), Err: fs.ErrNotExist}
	} else if err != nil {
		return dirError("removing", err)
	}
	defer syscall.Close(dfd)
	var st unix.Stat_t
	err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &FileError{Op: "removing", Reason: fmt.Sprintf("the file %q does not exist in the configuration directory", name), Err: fs.ErrNotExist}
	case err != nil:
		return &FileError{Op: "removing", Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return linkError("removing", name, syscall.ELOOP)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return &FileError{Op: "removing", Reason: fmt.Sprintf("%q is not a regular file", name)}
	}
	if err := unix.Unlinkat(dfd, name, 0); err != nil {
		return &FileError{Op: "removing", Err: err}
	}
	return nil
}
