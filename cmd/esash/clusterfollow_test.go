package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The membership follower has an owner: stop returns once the follower
// returned (closeCluster then closes the client it uses), except when the
// follower stops itself on its way out (a removed machine leaving), which
// must not wait for itself; and the follower never waits for the leaving
// lock once it is stopped (a session's leftCluster holds that lock while
// it waits for the follower).
func TestFollowerStop(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"stop waits for the follower", func(t *testing.T) {
			var finished atomic.Bool
			f := startFollower(func(ctx context.Context) {
				<-ctx.Done()
				time.Sleep(50 * time.Millisecond) // a call in flight ends
				finished.Store(true)
			})
			f.stop(context.Background())
			if !finished.Load() {
				t.Fatal("stop returned while the follower was still running")
			}
		}},
		{"the follower stops itself", func(t *testing.T) {
			f := startFollower(func(ctx context.Context) {
				ctx.Value(followerKey{}).(*follower).stop(ctx)
			})
			select {
			case <-f.done:
			case <-time.After(10 * time.Second):
				t.Fatal("a follower stopping itself waits for itself")
			}
		}},
		{"a nil follower", func(t *testing.T) {
			var f *follower
			f.stop(context.Background())
		}},
		{"the follower gives up the leaving lock when stopped", func(t *testing.T) {
			var leaving sync.Mutex
			leaving.Lock() // a session leaving
			got := make(chan bool, 1)
			f := startFollower(func(ctx context.Context) { got <- lockLeaving(ctx, &leaving) })
			f.stop(context.Background()) // what that session's closeCluster does
			if <-got {
				t.Fatal("the stopped follower took the lock")
			}
			leaving.Unlock()
			if !lockLeaving(context.Background(), &leaving) {
				t.Fatal("a free lock was not taken")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
