package shell

import "context"

type clientKey struct{}

// WithClient marks a session's context with client, a context that is
// done when the client's connection closes (an SSH connection). The
// session's own context is the daemon's life, so that a commit started
// is not cut short; work done only for the client uses ClientContext.
func WithClient(ctx, client context.Context) context.Context {
	if client == nil {
		return ctx
	}
	return context.WithValue(ctx, clientKey{}, client)
}

// ClientContext is the context of work done only for this session's
// client, which should stop when the client leaves (issue 12 item 8: a
// hostile PKCS#12 import kept burning CPU after the SSH client left). It
// is the client's connection context where the transport has one (SSH),
// else the session's context: the console and scripts stop with their
// process or the daemon.
func (s *Session) ClientContext() context.Context {
	if c, ok := s.Ctx.Value(clientKey{}).(context.Context); ok {
		return c
	}
	return s.Ctx
}
