package maillog

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	currentSuffix = ".current"
	// stampLayout is the AsyncOS rotated-file stamp, e.g. mail.@20261126T210000.s.
	stampLayout = "20060102T150405"
)

// rotated is a parsed rotated file name. Seq disambiguates rotations within
// the same second (and after the clock stepped back): "<prefix>.@<stamp>.<seq>.s".
type rotated struct {
	name  string
	stamp string
	seq   int
}

// rotatedName builds the file name; seq 0 gives the plain AsyncOS name.
func rotatedName(prefix, stamp string, seq int) string {
	if seq == 0 {
		return prefix + ".@" + stamp + ".s"
	}
	return prefix + ".@" + stamp + "." + strconv.Itoa(seq) + ".s"
}

// parseRotated recognises names built by rotatedName for this prefix.
func parseRotated(prefix, name string) (rotated, bool) {
	rest, ok := strings.CutPrefix(name, prefix+".@")
	if !ok {
		return rotated{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".s")
	if !ok || len(rest) < len(stampLayout) {
		return rotated{}, false
	}
	stamp, tail := rest[:len(stampLayout)], rest[len(stampLayout):]
	if _, err := time.Parse(stampLayout, stamp); err != nil {
		return rotated{}, false
	}
	seq := 0
	if tail != "" {
		digits, ok := strings.CutPrefix(tail, ".")
		if !ok || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
			return rotated{}, false
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			return rotated{}, false
		}
		seq = n
	}
	return rotated{name: name, stamp: stamp, seq: seq}, true
}

// compareRotated orders by stamp then seq. Stamps are fixed width digits so
// string order is time order; seq must compare numerically (".10" after ".9"),
// which is why names are parsed instead of sorted as strings.
func compareRotated(a, b rotated) int {
	return cmp.Or(strings.Compare(a.stamp, b.stamp), cmp.Compare(a.seq, b.seq))
}

// listRotated returns this prefix's rotated files in dir, oldest first.
func listRotated(dir, prefix string) ([]rotated, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("maillog: list %s: %w", dir, err)
	}
	var out []rotated
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if r, ok := parseRotated(prefix, e.Name()); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, compareRotated)
	return out, nil
}

// rotate renames the current file to a stamped name, reopens a fresh current
// file and prunes old files. Callers hold mu. On a rename failure the old
// file stays open so logging continues (oversized) rather than stopping.
func (l *Log) rotate(now time.Time) error {
	if !l.ownsCurrent() {
		// Another process rotated, or someone deleted the file: follow
		// the path instead of rotating again, otherwise we would keep
		// writing into an unlinked or already rotated file forever.
		l.f.Close()
		l.f = nil
		return l.openCurrent()
	}
	existing, err := listRotated(l.dir, l.prefix)
	if err != nil {
		return err
	}
	next := rotated{stamp: now.UTC().Format(stampLayout)}
	// UTC stamps avoid DST repeats; bumping past the newest existing file
	// keeps names in write order even when the clock steps backwards.
	if n := len(existing); n > 0 && compareRotated(next, existing[n-1]) <= 0 {
		next = rotated{stamp: existing[n-1].stamp, seq: existing[n-1].seq + 1}
	}
	next.name = rotatedName(l.prefix, next.stamp, next.seq)

	if err := os.Rename(l.currentPath(), filepath.Join(l.dir, next.name)); err != nil {
		return fmt.Errorf("maillog: rotate %s: %w", l.currentPath(), err)
	}
	closeErr := l.f.Close()
	l.f = nil
	if err := l.openCurrent(); err != nil {
		return err
	}
	pruneErr := l.prune(append(existing, next))
	if closeErr != nil {
		closeErr = fmt.Errorf("maillog: close rotated %s: %w", next.name, closeErr)
	}
	return errors.Join(closeErr, pruneErr)
}

// prune deletes the oldest rotated files beyond MaxFiles. files is oldest first.
func (l *Log) prune(files []rotated) error {
	var errs []error
	for len(files) > l.opts.MaxFiles {
		p := filepath.Join(l.dir, files[0].name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("maillog: prune %s: %w", p, err))
		}
		files = files[1:]
	}
	return errors.Join(errs...)
}

// ownsCurrent reports whether <prefix>.current is still the file we hold open.
// On a stat error other than "missing" it answers true so rotation proceeds
// and reports the real problem.
func (l *Log) ownsCurrent() bool {
	pst, err := os.Stat(l.currentPath())
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	fst, ferr := l.f.Stat()
	if err != nil || ferr != nil {
		return true
	}
	return os.SameFile(pst, fst)
}
