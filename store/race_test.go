//go:build race

package store

// raceEnabled: the race detector makes the crash test's children several
// times slower to start and to commit.
const raceEnabled = true
