package sshd

import (
	"context"
	"io"

	"esash/config"
)

// Session is one logged-in SSH session as the function that runs it
// (Options.Run) sees it: who, from where, and the channel's streams.
type Session struct {
	// Ctx is Options.Ctx: the daemon's life, not the connection's.
	Ctx context.Context
	// Client is done when the client's connection closes (or the server
	// closes it): work done only for this client, such as a costly
	// certificate import, stops then. Commits keep to Ctx.
	Client context.Context
	// User and Role are the account that logged in, as the running
	// configuration had it when the session opened.
	User string
	Role config.Role
	// Source is "ssh:<client address>".
	Source string
	Stdin  io.ReadCloser // Close leaves the channel open for the exit status
	Stdout io.Writer
	Stderr io.Writer // Stdout itself with a pty, so that output stays in order
	// Terminal is a session with a pty; Width, Height and OnResize follow
	// its window.
	Terminal bool
	Width    func() int
	Height   func() int
	OnResize func(func())
	// Command is what the client asked to run (ssh esa 'cmd1; cmd2'), nil
	// for an interactive session or a script on standard input.
	Command *string
}
