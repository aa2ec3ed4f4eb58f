package shell

import (
	"strings"
	"testing"
)

// A stray answer to a question a script expected (Y, N, yes, no) must
// never select an operation by prefix: "N" ran NEW in certconfig when a
// dialog lost a question (review of issue 14).
func TestMatchOperation(t *testing.T) {
	items := []MenuItem{{Name: "NEW"}, {Name: "NOTIFY"}, {Name: "YANK"}, {Name: "CERTIFICATE"}, {Name: "CERTAUTHORITY"}, {Name: "CRL"}, {Name: "EDIT"}}
	tests := []struct {
		name, ans, want, msg string
	}{
		{"exact keyword", "new", "NEW", ""},
		{"exact short keyword", "crl", "CRL", ""},
		{"unique prefix", "ed", "EDIT", ""},
		{"longer unique prefix", "certi", "CERTIFICATE", ""},
		{"ambiguous prefix", "cert", "", "Ambiguous option"},
		{"one letter is no prefix", "e", "", "Unknown option"},
		{"N is an answer, not NEW", "N", "", "Unknown option"},
		{"no is an answer, not NOTIFY", "no", "", "Unknown option"},
		{"Y is an answer, not YANK", "Y", "", "Unknown option"},
		{"ye is an answer", "ye", "", "Unknown option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, msg := matchOperation(items, tc.ans)
			if it.Name != tc.want || !strings.HasPrefix(msg, tc.msg) || (tc.msg == "" && msg != "") {
				t.Errorf("matchOperation(%q) = %q, %q; want %q, %q...", tc.ans, it.Name, msg, tc.want, tc.msg)
			}
		})
	}
}
