package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// TestMemberBootOwned: the goroutine that starts the member at boot is
// the cluster hook's. closeCluster cancels a start still waiting for a
// quorum and returns only once it has given up (before, the goroutine
// went on for up to 24 h after the appliance had closed); a start that
// fails of itself is reported, a cancelled one is not.
func TestMemberBootOwned(t *testing.T) {
	tests := []struct {
		name       string
		start      func(ctx context.Context) (*embed.Etcd, error)
		wantReport string
	}{
		{"waiting for a quorum", func(ctx context.Context) (*embed.Etcd, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, ""},
		{"failing", func(ctx context.Context) (*embed.Etcd, error) {
			return nil, errors.New("etcd member m1: no such directory")
		}, "cluster: etcd member m1: no such directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &appliance{}
			var returned atomic.Bool
			reports := make(chan string, 4)
			a.cluster.bootMember(func(ctx context.Context) (*embed.Etcd, error) {
				defer returned.Store(true)
				return tt.start(ctx)
			}, func(format string, args ...any) { reports <- fmt.Sprintf(format, args...) })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			closed := make(chan error, 1)
			go func() { closed <- a.closeCluster(ctx) }()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("closeCluster did not return")
			}
			if !returned.Load() {
				t.Error("closeCluster returned before the member's start had")
			}
			close(reports)
			var got string
			for r := range reports {
				got += r
			}
			if got != tt.wantReport {
				t.Errorf("reported %q, want %q", got, tt.wantReport)
			}
		})
	}
}

// TestMemberBootTwoClosers: two closeClusters at once (a machine removed
// by another member while the appliance closes) both wait for the boot
// goroutine; before, the second found the goroutine already taken and
// returned while the member was still being stopped.
func TestMemberBootTwoClosers(t *testing.T) {
	a := &appliance{}
	cancelled, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	a.cluster.bootMember(func(ctx context.Context) (*embed.Etcd, error) {
		<-ctx.Done()
		close(cancelled)
		<-release // the member still stopping
		returned.Store(true)
		return nil, ctx.Err()
	}, func(string, ...any) {})
	ctx := context.Background()
	first := make(chan struct{})
	go func() { a.closeCluster(ctx); close(first) }()
	<-cancelled // the first closer is waiting
	second := make(chan bool, 1)
	go func() { a.closeCluster(ctx); second <- returned.Load() }()
	select {
	case early := <-second:
		t.Fatalf("the second closeCluster returned before the member's start had (returned %v)", early)
	case <-time.After(200 * time.Millisecond): // still waiting, as it should
	}
	close(release)
	<-first
	if !<-second {
		t.Error("the second closeCluster returned before the member's start had")
	}
}
