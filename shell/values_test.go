package shell

import (
	"strings"
	"testing"
)

// TestWriteItemMasksNestedKey: an added certificate's acme settings hold
// the ACME account key; commitdetail prints them field by field with the
// key described, never the PEM (issue 15).
func TestWriteItemMasksNestedKey(t *testing.T) {
	key := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbvnYrboP17ULmPHn\nHMBBesamF+TN+ASf7Ke9EXhMXb2hRANCAAS4btqXAG0hg0nupNVrlRJKk2g5tdNU\nZRfPiDc0hVMh602hYauQ6TCDqFSisoM51AmNJ5Jx2XtMWcZ9EyYM58TV\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name, raw string
		want      []string
	}{
		{"nested key", `{"name":"mail","acme":{"directory_url":"https://ca/dir","account_key":` + quote(key) + `}}`,
			[]string{`    acme.directory_url = "https://ca/dir"`, "    acme.account_key = <private key", `    name = "mail"`}},
		{"nested object without a key stays one line", `{"ssh":{"enabled":true,"port":22}}`,
			[]string{`    ssh = {"enabled":true,"port":22}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			writeItem(&b, []byte(tc.raw), false)
			out := b.String()
			if strings.Contains(out, "BEGIN") || strings.Contains(out, "MIGHAgEA") {
				t.Fatalf("key material printed:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}
