package maillog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFormatLine(t *testing.T) {
	tests := []struct {
		name  string
		t     time.Time
		level Level
		msg   string
		want  string
	}{
		{"two digit day", time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC), Info, "hello",
			"Thu Nov 26 21:00:00 2026 Info: hello"},
		{"space padded day", time.Date(2026, 11, 6, 9, 5, 7, 0, time.UTC), Warning, "w",
			"Fri Nov  6 09:05:07 2026 Warning: w"},
		{"critical", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Critical, "c",
			"Thu Jan  1 00:00:00 2026 Critical: c"},
		{"debug", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Debug, "d",
			"Thu Jan  1 00:00:00 2026 Debug: d"},
		{"trace", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Trace, "t",
			"Thu Jan  1 00:00:00 2026 Trace: t"},
		{"newline escaped", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Info, "a\nThu Jan  1 00:00:00 2026 Info: forged\r",
			`Thu Jan  1 00:00:00 2026 Info: a\nThu Jan  1 00:00:00 2026 Info: forged\r`},
		{"control bytes escaped", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Info, "MID 1 ICID 2 From: <a\x00b\x1b[2J\x7f\tc>",
			`Thu Jan  1 00:00:00 2026 Info: MID 1 ICID 2 From: <a\x00b\x1b[2J\x7f` + "\tc>"},
		{"empty message", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Info, "",
			"Thu Jan  1 00:00:00 2026 Info: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatLine(tt.t, tt.level, tt.msg)
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			pt, pl, pm, err := ParseLine(got, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if !pt.Equal(tt.t) || pl != tt.level || pm != escaper.Replace(tt.msg) {
				t.Fatalf("round trip: %v %v %q", pt, pl, pm)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty", ""},
		{"short", "Thu Nov 26"},
		{"bad time", "Xxx Nov 26 21:00:00 2026 Info: x"},
		{"no level", "Thu Nov 26 21:00:00 2026 hello"},
		{"unknown level", "Thu Nov 26 21:00:00 2026 Notice: x"},
		{"no space after time", "Thu Nov 26 21:00:00 2026Info: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := ParseLine(tt.line, nil); !errors.Is(err, ErrBadLine) {
				t.Fatalf("err = %v, want ErrBadLine", err)
			}
		})
	}
}

func TestLevelString(t *testing.T) {
	tests := []struct {
		name string
		l    Level
		want string
	}{
		{"info", Info, "Info"},
		{"warning", Warning, "Warning"},
		{"critical", Critical, "Critical"},
		{"debug", Debug, "Debug"},
		{"trace", Trace, "Trace"},
		{"unknown", Level(42), "Level(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.String(); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
}

func FuzzLineRoundTrip(f *testing.F) {
	f.Add("New SMTP ICID 5 interface Management (127.0.0.1)", uint8(0))
	f.Add("a\nb\r\nc", uint8(3))
	f.Add("", uint8(4))
	f.Fuzz(func(t *testing.T, msg string, lvl uint8) {
		level := Level(lvl % 5)
		ts := time.Date(2026, 11, 6, 1, 2, 3, 0, time.UTC)
		line := FormatLine(ts, level, msg)
		if strings.ContainsFunc(line, isControl) {
			t.Fatalf("line contains a line break: %q", line)
		}
		pt, pl, _, err := ParseLine(line, time.UTC)
		if err != nil || !pt.Equal(ts) || pl != level {
			t.Fatalf("ParseLine(%q) = %v %v %v", line, pt, pl, err)
		}
	})
}
