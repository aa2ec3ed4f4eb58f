package mta

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
)

// sessions are the connections the MTA accepted and has not closed yet,
// each with the configuration generation serving it. Close waits for
// them, whatever generation they began under, and when it cannot wait any
// longer it closes them and names them by generation.
type sessions struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]*generation
}

// add counts c, accepted while g serves.
func (t *sessions) add(c net.Conn, g *generation) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns == nil {
		t.conns = map[net.Conn]*generation{}
	}
	t.conns[c] = g
	t.wg.Add(1)
}

// assign records the generation whose listener took c.
func (t *sessions) assign(c net.Conn, g *generation) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.conns[c]; ok {
		t.conns[c] = g
	}
}

// done uncounts c; called exactly once per add.
func (t *sessions) done(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	t.wg.Done()
}

func (t *sessions) wait() { t.wg.Wait() }

// closeAll closes every open connection (their sessions then end with a
// read error) and counts them by generation.
func (t *sessions) closeAll() abandoned {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := abandoned{}
	for c, g := range t.conns {
		c.Close()
		out[g.num]++
	}
	return out
}

// abandoned counts the sessions Close cut, by generation number.
type abandoned map[int]int

func (a abandoned) String() string {
	nums := make([]int, 0, len(a))
	for n := range a {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	parts := make([]string, 0, len(nums))
	for _, n := range nums {
		noun := "sessions"
		if a[n] == 1 {
			noun = "session"
		}
		parts = append(parts, fmt.Sprintf("%d %s of generation %d", a[n], noun, n))
	}
	return "abandoned " + strings.Join(parts, ", ")
}
