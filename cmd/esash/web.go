package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"

	"esash/config"
	"esash/lifecycle"
	"esash/web"
)

// The HTTPS service's wiring: it runs in the daemon only, next to SSH,
// follows commits through the store's PrepareFunc, checks passwords with
// package accounts (as SSH and passwd do) and logs logins to the
// authentication log.

// webHook is the daemon's HTTPS service as commits see it: nothing in the
// in-process shell, and nothing until the daemon has started it.
type webHook struct {
	srv atomic.Pointer[web.Server]
}

func (h *webHook) prepare(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	if srv := h.srv.Load(); srv != nil {
		return srv.Prepare(ctx, cfg)
	}
	return func() {}, func() {}, nil
}

// startWeb brings up the HTTPS service on the committed configuration.
// Endpoints that cannot start are reported and left down; each later
// commit tries them again.
func (a *appliance) startWeb(stderr io.Writer) error {
	srv, err := web.New(web.Options{
		Revision: func() web.Revision {
			h := a.db.Head()
			return web.Revision{Rev: h.Rev, User: h.Meta.User, Source: h.Meta.Source, Comment: h.Meta.Comment, Time: h.Meta.Time,
				Config: h.Config}
		},
		LogDir: filepath.Join(a.dir, "logs"),
		ACME:   a.webACME(),
		Log: func(format string, args ...any) {
			if l := a.ssh.log; l != nil {
				l.Infof(format, args...)
			}
			a.webEvent(format, args...)
		},
		Access: a.webAccess,
	})
	if err != nil {
		return err
	}
	a.web.srv.Store(srv)
	// A commit made before the server was published did not reach it:
	// start again until the head it started with is the head.
	for {
		head := a.db.Head()
		if err := srv.Start(head.Config); err != nil {
			fmt.Fprintf(stderr, "esash: https: %v\n", err)
		}
		// SettledHead, not Head: a commit whose prepare ran before
		// the server was published is invisible to Head until done.
		if a.db.SettledHead().Rev == head.Rev {
			break
		}
	}
	for _, addr := range srv.Addrs() {
		fmt.Fprintf(stderr, "esash: web listening on %s\n", addr)
	}
	return a.services.Started("https", lifecycle.CloserFunc(a.stopWeb))
}

// stopWeb closes the HTTPS service and its connections (lifecycle.Closer).
func (a *appliance) stopWeb(ctx context.Context) error {
	if srv := a.web.srv.Swap(nil); srv != nil {
		return srv.Close(ctx)
	}
	return nil
}
