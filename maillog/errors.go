package maillog

import "errors"

// Sentinel errors; callers match them with errors.Is because the returned
// errors wrap them with context (file names, values).
var (
	// ErrClosed is returned (or kept in Err) when a Log or Counter is used after Close.
	ErrClosed = errors.New("maillog: closed")
	// ErrInvalidName rejects log names and prefixes that would escape the log directory.
	ErrInvalidName = errors.New("maillog: invalid log name or prefix")
	// ErrInvalidOption rejects negative sizes, counts and block lengths.
	ErrInvalidOption = errors.New("maillog: invalid option")
	// ErrBadLevel is returned by ParseLevel for an unknown level word.
	ErrBadLevel = errors.New("maillog: unknown level")
	// ErrBadLine is returned by ParseLine for text not in the AsyncOS line format.
	ErrBadLine = errors.New("maillog: malformed log line")
	// ErrCorruptCounter means the counter file exists but does not hold a
	// high-water mark; we refuse to guess because restarting from 1 would
	// reuse ids.
	ErrCorruptCounter = errors.New("maillog: corrupt counter file")
	// ErrExhausted means the counter would overflow int64.
	ErrExhausted = errors.New("maillog: counter exhausted")
)
