package main

import (
	"io/fs"
	"os"

	"esash/shell"
	"esash/sshd"
)

// configFiles gives the SSH server's file transfer the configuration
// directory through the shell's helpers (shell/configfile.go,
// shell/configxfer.go), the ones certconfig IMPORT, loadconfig and
// saveconfig use: the same names, the same refusal of links, so that an
// uploaded file is what those commands read.
type configFiles struct{ s *shell.Session }

// newConfigFiles serves dataDir's configuration directory; the helpers
// use only the session's DataDir.
func newConfigFiles(dataDir string) sshd.ConfigFiles {
	return configFiles{&shell.Session{DataDir: dataDir}}
}

func (c configFiles) Open(name string) (*os.File, error) { return c.s.OpenConfigFile(name) }
func (c configFiles) List() ([]fs.FileInfo, error)       { return c.s.ListConfigFiles() }
func (c configFiles) Remove(name string) error           { return c.s.RemoveConfigFile(name) }

func (c configFiles) Create(name string) (sshd.Upload, error) {
	up, err := c.s.UploadConfigFile(name, 0o600)
	if err != nil {
		return nil, err
	}
	return up, nil
}
