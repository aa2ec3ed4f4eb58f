package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The manager's memory of failures (issue 15, back-off across restarts):
// each failing profile's failure count, last error, when it happened and
// its retry time are kept in Options.StateFile (DATA/acme_state.json), so
// a daemon restarted while its CA is down waits for the retry time it
// had and the next failure doubles the wait it had, instead of asking the
// CA at once and starting over at RetryMin. A profile that succeeds, or is deleted,
// leaves the file. What the CA suggests through ARI is not kept: it is
// asked again with the next issuance.
//
// A state file that cannot be read is logged and ignored: the appliance
// starts (one attempt per profile, then the back-off from its start)
// rather than refusing to renew at all.

// savedState is one profile's record in the state file.
type savedState struct {
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
	RetryAt   time.Time `json:"retry_at"`
	FailedAt  time.Time `json:"failed_at,omitzero"` // absent in files of before it was kept
}

// loadState fills the manager's memory from the state file.
func (m *Manager) loadState() {
	if m.opts.StateFile == "" {
		return
	}
	b, err := os.ReadFile(m.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	saved := map[string]savedState{}
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	if err != nil {
		m.opts.Log("ACME: the failure memory %s is ignored: %v", m.opts.StateFile, err)
		return
	}
	for name, s := range saved {
		if s.Failures > 0 {
			m.state[name] = &profileState{failures: s.Failures, lastError: s.LastError, retryAt: s.RetryAt, failedAt: s.FailedAt}
		}
	}
}

// saveState writes the failing profiles' records.
func (m *Manager) saveState() error {
	if m.opts.StateFile == "" {
		return nil
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.Lock()
	saved := map[string]savedState{}
	for name, st := range m.state {
		if st.failures > 0 {
			saved[name] = savedState{Failures: st.failures, LastError: st.lastError, RetryAt: st.retryAt, FailedAt: st.failedAt}
		}
	}
	m.mu.Unlock()
	b, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(m.opts.StateFile, b); err != nil {
		return fmt.Errorf("acme failure memory: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a crash leaves the old file or
// the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
