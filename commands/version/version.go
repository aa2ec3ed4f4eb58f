// Package version is the version command: the appliance's identity, as
// AsyncOS prints it and as inventory tools (oxidized's AsyncOS model, the
// Cisco automation library) read it. It asks no question (oxidized
// answers any `[...]> ` prompt with "3", so a question would derail it).
//
// Shape (asyncos-cli-2.md §4.3, [S IAF parser]): `Current Version`, a line
// of `=` under it ([U] in the CLI; IAF's printout has it, kept), then
// `Label: value` lines in IAF's order. Parsers rely on `Version:
// d.d.d-nnn`, `Model: <word>` and `Serial #: <word>`; every line is
// present, with `NA` where esash has no such hardware (RAID, BMC), so
// that line-by-line parsers find each label.
//
// Departures: Model is ESASH and Serial # E5A5H0000001, the identity
// saveconfig writes into exported files and their names (config.Model,
// config.Serial): the two must agree. Cisco's library maps a model's
// first letter to a product (C or X = ESA), which ESASH does not satisfy;
// the export file names, which backup scripts already match, win. A
// development build (no release number of the form d.d.d-nnn) reports
// Version 0.0.0-000 followed by its build name in parentheses, so the
// version pattern still matches.
package version

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"esash/config"
	"esash/shell"
)

// Options describe the build and the installation.
type Options struct {
	// Release is the build's version: d.d.d-nnn for a release, anything
	// else (a git description, "dev") for a development build.
	Release string
	// BuildDate is when the binary was built; zero: unknown.
	BuildDate time.Time
	// Installed is when the appliance's data directory was created.
	Installed func() (time.Time, bool)
}

// Command is version.
type Command struct{ o Options }

// New returns the version command.
func New(o Options) Command { return Command{o: o} }

// Name implements shell.Command.
func (Command) Name() string { return "version" }

// Summary implements shell.Command.
func (Command) Summary() string { return "View system version information" }

// Access implements shell.Accessor: every role may read it.
func (Command) Access() shell.Access { return shell.AccessRead }

// BatchUsage implements shell.BatchUsage.
func (Command) BatchUsage() string { return "version" }

// Run prints the identity block.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "version", fmt.Sprintf("Unknown option %q: version takes no argument", args[0]))
	}
	s.Printf("%s", c.Text())
	return nil
}

var releaseForm = regexp.MustCompile(`^\d+\.\d+\.\d+-\d+$`)

// VersionString is the Version line's value.
func VersionString(release string) string {
	if releaseForm.MatchString(release) {
		return release
	}
	if release == "" {
		release = "dev"
	}
	return "0.0.0-000 (" + release + ")"
}

// Text is the version block.
func (c Command) Text() string {
	build, install := "unknown", "unknown"
	if !c.o.BuildDate.IsZero() {
		build = c.o.BuildDate.UTC().Format("2006-01-02")
	}
	if c.o.Installed != nil {
		if t, ok := c.o.Installed(); ok {
			install = t.UTC().Format("2006-01-02 15:04:05")
		}
	}
	rows := [][2]string{
		{"Product", config.Product},
		{"Model", config.Model},
		{"Version", VersionString(c.o.Release)},
		{"Build Date", build},
		{"Install Date", install},
		{"Serial #", config.Serial},
		{"BIOS", "NA"},
		{"RAID", "NA"},
		{"RAID Status", "NA"},
		{"RAID Type", "NA"},
		{"BMC", "NA"},
	}
	var b strings.Builder
	b.WriteString("Current Version\n===============\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s: %s\n", r[0], r[1])
	}
	return b.String()
}
