package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLILogCapsLongLine (issue 12, item 11): cli_logs records the start
// of a very long command line and its length, not all of it.
func TestCLILogCapsLongLine(t *testing.T) {
	t.Setenv("ESASH_FACTORY_IP", nextLoopback())
	dir := filepath.Join(t.TempDir(), "data")
	long := "whoami " + strings.Repeat("x", 50_000)
	var out bytes.Buffer
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	run(context.Background(), []string{"--data", dir, "-c", long}, null, &out, &out)
	b, err := os.ReadFile(filepath.Join(dir, "logs", "cli_logs", "cli.current"))
	if err != nil {
		t.Fatalf("cli_logs: %v\n%s", err, out.String())
	}
	if !strings.Contains(string(b), "ran: whoami xxx") {
		t.Fatalf("the command is not in cli_logs:\n%.300s", b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 2200 {
			t.Fatalf("cli_logs holds a line of %d bytes:\n%.300s", len(line), line)
		}
	}
	if !strings.Contains(string(b), "[cut: ") {
		t.Errorf("the cut line does not say it was cut:\n%.300s", b)
	}
}
