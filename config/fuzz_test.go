package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The seed corpora are in testdata/fuzz/<Name>/. Run a target with
//
//	go test ./config -run '^$' -fuzz '^FuzzApply$' -fuzztime 20s

func FuzzCheckHostname(f *testing.F) {
	f.Fuzz(func(t *testing.T, h string) {
		r := CheckHostname(h)
		CheckDomain(h)
		CheckHostPattern(h)
		CheckEmail(h)
		if r != "" {
			return
		}
		if len(h) > 253 {
			t.Errorf("accepted %q: %d characters", h, len(h))
		}
		name := strings.TrimSuffix(h, ".")
		if !strings.Contains(name, ".") {
			t.Errorf("accepted %q: not qualified", h)
		}
		for _, l := range strings.Split(name, ".") {
			switch {
			case l == "" || len(l) > 63:
				t.Errorf("accepted %q: label %q of %d characters", h, l, len(l))
			case l[0] == '-' || l[len(l)-1] == '-':
				t.Errorf("accepted %q: label %q begins or ends with a hyphen", h, l)
			}
			for _, c := range l {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
					t.Errorf("accepted %q: character %q", h, c)
				}
			}
		}
		// An accepted host name is an accepted domain and sender group entry.
		if r := CheckDomain(h); r != "" {
			t.Errorf("CheckHostname accepts %q but CheckDomain says %s", h, r)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	root := reflect.ValueOf(&Config{})
	f.Fuzz(func(t *testing.T, p string) {
		resolve(root, p) // must not panic
		segs, err := parsePath(p)
		if err != nil {
			return
		}
		// The segments print back to a path that parses to them again.
		var b strings.Builder
		for i, s := range segs {
			if i > 0 {
				b.WriteString(".")
			}
			b.WriteString(s.name)
			if s.hasKey {
				b.WriteString("[" + s.key + "]")
			}
		}
		again, err := parsePath(b.String())
		if err != nil || !slices.Equal(again, segs) {
			t.Errorf("parsePath(%q) = %+v; printed %q parses to %+v, %v", p, segs, b.String(), again, err)
		}
	})
}

// FuzzApply applies one arbitrary change to the factory configuration. It
// must fail cleanly or succeed; when it succeeds with a configuration whose
// lists have usable keys, Diff, Apply and Invert round-trip with it.
func FuzzApply(f *testing.F) {
	base := factory(f)
	f.Fuzz(func(t *testing.T, op, path string, value []byte) {
		c := base.Clone()
		ch := Change{Op: Op(op), Path: path, Old: value, New: value}
		if err := Apply(c, []Change{ch}); err != nil {
			return
		}
		if !wellKeyed(reflect.ValueOf(c).Elem()) {
			return
		}
		chs := Diff(base, c)
		fwd := base.Clone()
		if err := Apply(fwd, chs); err != nil {
			t.Fatalf("Apply(base, Diff(base, c)) after %s %s %s: %v", op, path, value, err)
		}
		if d := Diff(fwd, c); len(d) != 0 {
			t.Fatalf("after %s %s %s: Apply(base, Diff(base, c)) differs from c at %q", op, path, value, paths(d))
		}
		back := c.Clone()
		if err := Apply(back, Invert(chs)); err != nil {
			t.Fatalf("Apply(c, Invert(Diff(base, c))) after %s %s %s: %v", op, path, value, err)
		}
		if d := Diff(base, back); len(d) != 0 {
			t.Fatalf("after %s %s %s: undoing the changes differs from base at %q", op, path, value, paths(d))
		}
		raw, err := json.Marshal(chs)
		if err != nil {
			t.Fatalf("changes do not encode: %v", err)
		}
		var decoded []Change
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatalf("changes do not decode: %v", err)
		}
	})
}

// wellKeyed reports whether every keyed list under v has distinct keys
// that a path can name. Validate refuses anything else; Diff and Apply
// make no promise about it.
func wellKeyed(v reflect.Value) bool {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch {
		case f.keyed:
			seen := map[string]bool{}
			for i := 0; i < fv.Len(); i++ {
				k := keyOf(fv, i, f.keyIdx)
				if seen[k] || strings.ContainsAny(k, "[]") || !wellKeyed(fv.Index(i)) {
					return false
				}
				seen[k] = true
			}
		case fv.Kind() == reflect.Struct:
			if !wellKeyed(fv) {
				return false
			}
		}
	}
	return true
}
