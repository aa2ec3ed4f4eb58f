package shell

import (
	"context"
	"testing"
)

// ClientContext is the client's connection context where the transport
// gave one (WithClient), else the session's own context.
func TestClientContext(t *testing.T) {
	daemon := context.Background()
	client, leave := context.WithCancel(context.Background())
	defer leave()
	cases := []struct {
		name string
		ctx  context.Context
		want context.Context
	}{
		{"console or script", daemon, daemon},
		{"ssh", WithClient(WithRole(daemon, "admin"), client), client},
		{"no client given", WithClient(daemon, nil), daemon},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Session{Ctx: c.ctx}
			if got := s.ClientContext(); got != c.want {
				t.Fatalf("ClientContext() = %v, want %v", got, c.want)
			}
		})
	}
	s := &Session{Ctx: WithClient(daemon, client)}
	leave()
	if s.ClientContext().Err() == nil || s.Ctx.Err() != nil {
		t.Fatal("leaving must end the client context only")
	}
}
