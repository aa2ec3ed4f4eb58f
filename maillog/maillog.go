// Package maillog writes and reads log files in the Cisco AsyncOS format
// used by esash: one line per event, "<Day Mon DD HH:MM:SS YYYY> <Level>: <message>",
// in a per-log directory holding "<prefix>.current" plus rotated files named
// "<prefix>.@<YYYYMMDDTHHMMSS>.s".
//
// Keeping the AsyncOS layout byte-for-byte matters because operators (and
// their scripts) grep these files exactly as they would on a real appliance.
// The package imports nothing from the rest of esash so that every other
// package can log through it without import cycles.
package maillog

import "fmt"

// Level is the severity word AsyncOS prints after the timestamp.
type Level int

// The AsyncOS levels. The zero value is Info because that is what almost every
// mail_logs line uses.
const (
	Info Level = iota
	Warning
	Critical
	Debug
	Trace
)

var levelNames = [...]string{
	Info:     "Info",
	Warning:  "Warning",
	Critical: "Critical",
	Debug:    "Debug",
	Trace:    "Trace",
}

// String returns the word written into the log line.
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel is the inverse of Level.String.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("maillog: level %q: %w", s, ErrBadLevel)
}
