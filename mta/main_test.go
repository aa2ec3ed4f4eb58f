package mta

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the child process of TestDeliverCrash when the test binary
// is re-executed as one (its environment variable names the child's
// specification), and the tests otherwise.
func TestMain(m *testing.M) {
	if spec := os.Getenv(envDeliverCrashChild); spec != "" {
		if err := deliverCrashChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
