package shell

import (
	"sort"
	"sync"
	"time"

	"esash/config"
)

// The session list: who is logged in, from where, and how many changes
// each has staged. Drafts belong to their sessions' goroutines, so a
// session publishes its count after each command rather than letting
// others read its draft.

// SessionInfo describes one running session.
type SessionInfo struct {
	ID      int
	User    string
	Source  string // console, script, ssh:<ip>
	Role    config.Role
	Login   time.Time
	Active  time.Time // when its last command ended
	Changes int       // uncommitted changes after its last command
	Self    bool      // the session asking
}

type sessionEntry struct {
	info SessionInfo
}

// registry is the shell's list of running sessions; the zero value is
// ready to use.
type registry struct {
	mu   sync.Mutex
	next int
	m    map[*Session]*sessionEntry
}

// track lists s until the returned function is called.
func (r *registry) track(s *Session) func() {
	now := s.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[*Session]*sessionEntry{}
	}
	if _, ok := r.m[s]; ok {
		return func() {}
	}
	r.next++
	r.m[s] = &sessionEntry{info: SessionInfo{ID: r.next, User: s.User, Source: s.Source,
		Role: s.Role(), Login: now, Active: now}}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.m, s)
	}
}

// touch records the end of a command of s, when s is listed.
func (r *registry) touch(s *Session) {
	n := len(s.Draft.Changes())
	role := s.Role()
	now := s.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.m[s]; ok {
		e.info.Changes, e.info.Active, e.info.Role = n, now, role
	}
}

// Sessions lists the running sessions in login order; Self marks s.
func (s *Session) Sessions() []SessionInfo {
	own := len(s.Draft.Changes())
	r := &s.shell.sessions
	r.mu.Lock()
	out := make([]SessionInfo, 0, len(r.m))
	for k, e := range r.m {
		in := e.info
		if in.Self = k == s; in.Self {
			in.Changes = own
		}
		out = append(out, in)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Sessions lists the running sessions in login order.
func (sh *Shell) Sessions() []SessionInfo {
	r := &sh.sessions
	r.mu.Lock()
	out := make([]SessionInfo, 0, len(r.m))
	for _, e := range r.m {
		out = append(out, e.info)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
