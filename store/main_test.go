package store

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"esash/config"
)

// TestMain runs the child processes of TestCrash and TestLocked when the
// test binary is re-executed as one (their environment variable names
// the database), and the tests otherwise.
func TestMain(m *testing.M) {
	for env, child := range map[string]func(string) error{envCrashChild: crashChild, envLockChild: lockChild} {
		if path := os.Getenv(env); path != "" {
			if err := child(path); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// refuseFactory is the factory of a child process, which only ever opens
// an existing database.
func refuseFactory() (*config.Config, error) {
	return nil, errors.New("factory called for an existing database")
}
