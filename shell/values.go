package shell

import (
	"encoding/json"
	"esash/pki"
	"fmt"
	"sort"
	"strings"
)

// showValue prints a setting's JSON value for people: secrets masked
// (a private key by its algorithm and public key fingerprint only), PEM
// blocks by what they are and their fingerprint.
func showValue(raw json.RawMessage, secret bool) string {
	if len(raw) == 0 {
		return "(none)"
	}
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	if secret {
		if isString && strings.Contains(s, "PRIVATE KEY-----") {
			if d := pki.DescribePEM(s); d != "" {
				return "<" + d + ">"
			}
		}
		return "<secret>"
	}
	if isString {
		if d := pki.DescribePEM(s); d != "" {
			return "<" + d + ">"
		}
		if strings.Contains(s, "PRIVATE KEY-----") {
			return "<private key>"
		}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		out := make([]string, len(list))
		described := false
		for i, v := range list {
			if d := pki.DescribePEM(v); d != "" {
				out[i], described = "<"+d+">", true
			} else {
				q, _ := json.Marshal(v)
				out[i] = string(q)
			}
		}
		if described {
			return "[" + strings.Join(out, ", ") + "]"
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
	writeFields(b, "", m, secret)
}

// writeFields prints an item's settings one per line; a nested object
// that holds a private key (a certificate's acme settings) is printed
// field by field under its dotted path, so that the key is masked on its
// own line instead of printed inside the object's JSON.
func writeFields(b *strings.Builder, prefix string, m map[string]json.RawMessage, secret bool) {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		sec := secret || k == "private_key" || strings.Contains(k, "password")
		var sub map[string]json.RawMessage
		if json.Unmarshal(m[k], &sub) == nil && strings.Contains(string(m[k]), "PRIVATE KEY-----") {
			writeFields(b, prefix+k+".", sub, sec)
			continue
		}
		fmt.Fprintf(b, "    %s%s = %s\n", prefix, k, showValue(m[k], sec))
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
