package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	versioncmd "esash/commands/version"
	"esash/config"
)

// version and buildDate are set by the Makefile (-ldflags -X); a plain
// `go build` is a development build.
var (
	version   = "dev"
	buildDate = ""
)

// installedFile marks when the data directory was first opened (version's
// Install Date).
const installedFile = "installed"

// versionOptions describes this build and installation, recording the
// installation time on the first start.
func (a *appliance) versionOptions(now func() time.Time) versioncmd.Options {
	path := filepath.Join(a.dir, installedFile)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		os.WriteFile(path, []byte(now().UTC().Format(time.RFC3339)+"\n"), 0o600)
	}
	o := versioncmd.Options{Release: version, Installed: func() (time.Time, bool) {
		raw, err := os.ReadFile(path)
		if err != nil {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(raw)))
		return t, err == nil
	}}
	if t, err := time.Parse("2006-01-02", buildDate); err == nil {
		o.BuildDate = t
	}
	return o
}

// banner is the product line of an interactive session's first screen,
// in AsyncOS's words ("AsyncOS 14.2.0 for Cisco C100V build 620").
func banner() string {
	return fmt.Sprintf("esash %s for %s\nWelcome to the %s (AsyncOS 14.x CLI).",
		versioncmd.VersionString(version), config.Model, config.Product)
}
