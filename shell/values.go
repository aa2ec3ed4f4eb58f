package shell

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// showValue prints a setting's JSON value for people: secrets masked, PEM
// blocks summarised.
func showValue(raw json.RawMessage, secret bool) string {
	if len(raw) == 0 {
		return "(none)"
	}
	if secret {
		return "<secret>"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if i := strings.Index(s, "-----BEGIN "); i >= 0 {
			kind, _, _ := strings.Cut(s[i+len("-----BEGIN "):], "-----")
			if strings.Contains(kind, "PRIVATE KEY") {
				return "<private key>"
			}
			return fmt.Sprintf("<PEM %s, %d bytes>", strings.ToLower(kind), len(s))
		}
	}
	return string(raw)
}

func writeItem(b *strings.Builder, raw json.RawMessage, secret bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		fmt.Fprintf(b, "    %s\n", showValue(raw, secret))
		return
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		sec := secret || k == "private_key" || strings.Contains(k, "password")
		fmt.Fprintf(b, "    %s = %s\n", k, showValue(m[k], sec))
	}
}

func sameSet(a, b json.RawMessage) bool {
	var x, y []string
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil || len(x) != len(y) {
		return false
	}
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
