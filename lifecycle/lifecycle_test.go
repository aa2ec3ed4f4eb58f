package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// The supervisor closes in reverse start order, goes on past a failure,
// joins the errors and logs each.
func TestSupervisorClosesInReverseOrder(t *testing.T) {
	var order, logged []string
	sup := NewSupervisor(func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) })
	abandoned := errors.New("sshd: close: abandoned 1 session: context deadline exceeded")
	for _, name := range []string{"mta", "ssh", "https", "console"} {
		sup.Started(name, CloserFunc(func(context.Context) error {
			order = append(order, name)
			if name == "ssh" {
				return abandoned
			}
			return nil
		}))
	}
	err := sup.Close(context.Background())
	if want := []string{"console", "https", "ssh", "mta"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("closed %v, want %v", order, want)
	}
	if !errors.Is(err, abandoned) || err.Error() != "sshd: close: abandoned 1 session: context deadline exceeded" {
		t.Fatalf("Close: %v", err)
	}
	if want := []string{"shutdown of ssh: sshd: close: abandoned 1 session: context deadline exceeded"}; !reflect.DeepEqual(logged, want) {
		t.Fatalf("logged %q, want %q", logged, want)
	}
	if err := sup.Close(context.Background()); err != nil || len(order) != 4 {
		t.Fatalf("second Close: %v, closed %v", err, order)
	}
	late := false
	if err := sup.Started("late", CloserFunc(func(context.Context) error { late = true; return nil })); !errors.Is(err, ErrClosed) || !late {
		t.Fatalf("Started after Close: %v, closed %v", err, late)
	}
}
