package maillog

import (
	"testing"
	"time"
)

func TestSubscribeStreamsLines(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{Now: newClock(0).Now})
	l.Infof("before") // not delivered: subscription starts later
	ch, cancel := l.Subscribe()
	defer cancel()
	l.Infof("one")
	l.Warningf("two")
	for _, want := range []string{
		"Thu Nov 26 21:00:00 2026 Info: one",
		"Thu Nov 26 21:00:00 2026 Warning: two",
	} {
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("got %q want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timeout")
		}
	}
}

func TestSlowSubscriberDropsNotBlocks(t *testing.T) {
	tests := []struct {
		name   string
		buffer int
		lines  int
	}{
		{"buffer one", 1, 10},
		{"buffer four", 4, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), Options{SubscriberBuffer: tt.buffer})
			ch, cancel := l.Subscribe()
			fast, cancelFast := l.Subscribe()
			defer cancelFast()
			done := make(chan struct{})
			go func() {
				for i := 0; i < tt.lines; i++ {
					l.Infof("line %d", i)
				}
				close(done)
			}()
			// Drain the fast subscriber while the slow one never reads.
			got := 0
			for got < tt.buffer {
				<-fast
				got++
			}
			go func() {
				for range fast {
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("writer blocked on a slow subscriber")
			}
			if len(ch) != tt.buffer {
				t.Fatalf("slow channel holds %d, want %d", len(ch), tt.buffer)
			}
			if l.Dropped() < uint64(tt.lines-tt.buffer) {
				t.Fatalf("Dropped = %d, want >= %d", l.Dropped(), tt.lines-tt.buffer)
			}
			cancel()
			cancel() // idempotent
			for range ch {
			} // closed after draining
		})
	}
}

func TestCloseClosesSubscribers(t *testing.T) {
	l, err := Open(t.TempDir(), "mail_logs", "mail", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := l.Subscribe()
	l.Close()
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after Close")
	}
	cancel() // after Close: no double close panic
	late, cancelLate := l.Subscribe()
	if _, ok := <-late; ok {
		t.Fatal("Subscribe after Close returned an open channel")
	}
	cancelLate()
}
