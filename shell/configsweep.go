package shell

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// RemoveUploadTemps deletes the temporary files of uploads
// (UploadConfigFile) left in the configuration directory: a process that
// died mid-transfer never called Commit or Abort, and an Abort whose
// unlink failed left its file. The caller (package sshd) calls it only
// when no upload is in progress: at start, and after a failed transfer
// when it was the last one. Only regular files are removed (a link or a
// directory of that name is not the appliance's). It returns how many.
func (s *Session) RemoveUploadTemps() (int, error) {
	dfd, err := s.configDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, dirError("removing", err)
	}
	dir := os.NewFile(uintptr(dfd), "configuration")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return 0, &FileError{Op: "reading", Err: err}
	}
	removed := 0
	var errs []error
	for _, n := range names {
		if !strings.HasPrefix(n, uploadPrefix) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if err := unix.Unlinkat(dfd, n, 0); err != nil {
			errs = append(errs, &FileError{Op: "removing", Err: err})
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
