package maillog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
)

// Grep streams matching lines of the log, oldest file first, to fn with the
// file's base name and the line (without newline). It stops early, returning
// nil, when fn returns false.
//
// filePattern is a glob on the base name, like AsyncOS "grep -f"; "" means
// "*". A nil re matches every line. Lines are read one at a time, so memory
// does not grow with the log size.
func Grep(dir, name, prefix string, re *regexp.Regexp, filePattern string, fn func(file, line string) bool) error {
	if filePattern == "" {
		filePattern = "*"
	}
	// Validate up front: path.Match only reports a bad pattern when it
	// reaches the broken part, which depends on the file name.
	if _, err := path.Match(filePattern, ""); err != nil {
		return fmt.Errorf("maillog: grep file pattern %q: %w", filePattern, err)
	}
	files, err := Files(dir, name, prefix)
	if err != nil {
		return err
	}
	for _, p := range files {
		base := filepath.Base(p)
		if ok, _ := path.Match(filePattern, base); !ok {
			continue
		}
		more, err := grepFile(p, base, re, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// grepFile reports more=false when fn asked to stop.
func grepFile(p, base string, re *regexp.Regexp, fn func(file, line string) bool) (more bool, err error) {
	f, ok, err := openListed(p)
	if err != nil || !ok {
		return true, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		// ReadBytes rather than bufio.Scanner: Scanner fails on lines over
		// its limit, and a log line has no upper bound.
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte("\n"))
			if re == nil || re.Match(b) {
				if !fn(base, string(b)) {
					return false, nil
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("maillog: read %s: %w", p, err)
		}
	}
}
