package shell

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsWithoutDataDir (issue 12, item 11): an error a command passes
// up is shown without the absolute path of the data directory: paths in
// it are relative to it.
func TestErrorsWithoutDataDir(t *testing.T) {
	dir := t.TempDir()
	for _, interactive := range []bool{true, false} {
		out, _, _ := runSession(t, interactive, "file\n", fileCmd(dir, func(s *Session) error {
			_, err := os.Open(filepath.Join(s.DataDir, "logs", "cli_logs", "missing"))
			return fmt.Errorf("unable to tail cli_logs: %w", err)
		}))
		if strings.Contains(out, dir) || !strings.Contains(out, "Unable to tail cli_logs: open logs/cli_logs/missing: no such file or directory") {
			t.Errorf("interactive %v:\n%s", interactive, out)
		}
	}
}
