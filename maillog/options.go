package maillog

import (
	"fmt"
	"time"
)

// Defaults match what AsyncOS ships for mail_logs: rollover at 10 MiB, ten
// old files kept.
const (
	DefaultMaxSize          int64 = 10 << 20
	DefaultMaxFiles               = 10
	DefaultSubscriberBuffer       = 1024
)

// Options tunes a Log. Zero values select the defaults.
type Options struct {
	// MaxSize rotates the current file before a line would push it past
	// this many bytes. A single line larger than MaxSize is still written
	// whole (into a fresh file) because splitting it would corrupt it.
	MaxSize int64
	// MaxFiles is how many rotated files are kept; older ones are deleted.
	MaxFiles int
	// SubscriberBuffer is the channel capacity handed out by Subscribe.
	SubscriberBuffer int
	// MaxLine caps a message at this many bytes after escaping (0: no
	// cap); the rest is replaced by "[cut: N bytes]", N the message's
	// length. cli_logs sets it: a pasted line must not fill the log.
	MaxLine int
	// WriteBehind, when positive, has the Log's own goroutine write the
	// lines logged, at most this long after the first of them, many in
	// one write(2) (writebehind.go); zero writes each event's lines
	// before the call returns.
	WriteBehind time.Duration
	// Now is the clock for line timestamps and rotated file names;
	// tests inject a fake one.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxSize < 0 || o.MaxFiles < 0 || o.SubscriberBuffer < 0 || o.MaxLine < 0 || o.WriteBehind < 0 {
		return o, fmt.Errorf("maillog: MaxSize %d, MaxFiles %d, SubscriberBuffer %d, MaxLine %d, WriteBehind %v (none may be negative): %w",
			o.MaxSize, o.MaxFiles, o.SubscriberBuffer, o.MaxLine, o.WriteBehind, ErrInvalidOption)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.SubscriberBuffer == 0 {
		o.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
