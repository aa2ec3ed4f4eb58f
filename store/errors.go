package store

import (
	"errors"
	"fmt"
	"strings"

	"esash/config"
)

// Errors returned by the store.
var (
	// ErrNoChanges is a commit of a draft equal to the running configuration.
	ErrNoChanges = errors.New("there are no changes to commit")
	// ErrConflict is a commit whose changes clash with a commit made since
	// the draft began; the error is a *ConflictError.
	ErrConflict = errors.New("conflicting changes")
	// ErrInvalid is a candidate the commit check refused; see *InvalidError.
	ErrInvalid = errors.New("configuration is invalid")
	// ErrApply is a configuration the running services could not take.
	ErrApply = errors.New("cannot apply configuration")
	// ErrLocked is a database another process holds open.
	ErrLocked = errors.New("database is in use by another process")
	// ErrNotFound is a revision that history no longer holds.
	ErrNotFound = errors.New("no such revision")
	// ErrSchema is a database written by an incompatible version.
	ErrSchema = errors.New("unsupported database schema")
)

// ConflictError lists the settings two sessions changed differently.
type ConflictError struct {
	Conflicts []config.Conflict
	Who       map[string]string // path -> user who committed theirs
	Head      uint64
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d conflicting change(s) with revision %d", len(e.Conflicts), e.Head)
	for _, c := range e.Conflicts {
		fmt.Fprintf(&b, "; %s", c.Path)
	}
	return b.String()
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// InvalidError carries the commit check's findings.
type InvalidError struct{ Problems config.Problems }

func (e *InvalidError) Error() string {
	return "invalid configuration:\n" + e.Problems.Errors().Error()
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }
