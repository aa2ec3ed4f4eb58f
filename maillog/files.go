package maillog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files lists the files of log <dir>/<name> as full paths, oldest to newest:
// rotated files in rotation order, then <prefix>.current if it exists.
// A missing log directory is an error that matches fs.ErrNotExist.
func Files(dir, name, prefix string) ([]string, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := validName(prefix); err != nil {
		return nil, err
	}
	logDir := filepath.Join(dir, name)
	syncOpen(logDir) // what this process logged is in the files it lists
	rot, err := listRotated(logDir, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rot)+1)
	for _, r := range rot {
		out = append(out, filepath.Join(logDir, r.name))
	}
	cur := filepath.Join(logDir, prefix+currentSuffix)
	switch _, err := os.Stat(cur); {
	case err == nil:
		out = append(out, cur)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("maillog: stat %s: %w", cur, err)
	}
	return out, nil
}

// openListed opens a file returned by Files. A file that vanished in between
// (pruned, or renamed by a concurrent rotation) reports ok=false rather than
// failing the whole read: readers race the writer by design.
func openListed(path string) (f *os.File, ok bool, err error) {
	f, err = os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("maillog: open %s: %w", path, err)
	}
	return f, true, nil
}
