package config

import "errors"

// Errors returned by this package.
var (
	// ErrBadPath is a malformed setting path or one naming no field.
	ErrBadPath = errors.New("bad setting path")
	// ErrNotFound is a path naming a list item that does not exist.
	ErrNotFound = errors.New("no such item")
)
