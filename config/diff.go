package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Op is the kind of a Change.
type Op string

// Change operations.
const (
	OpSet    Op = "set"    // a setting changed (Old and New are its JSON values)
	OpAdd    Op = "add"    // a keyed item was added (New is the item)
	OpRemove Op = "remove" // a keyed item was removed (Old is the item)
	OpOrder  Op = "order"  // the keys of a keyed list changed order or membership
)

// Change is one difference between two configurations, at the finest
// granularity that merges well: a single setting, or a whole list item when
// it appears or disappears.
type Change struct {
	Op   Op              `json:"op"`
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
	// Secret marks values that must never be printed.
	Secret bool `json:"secret,omitempty"`
}

// Diff lists what changed from a to b. Equal items are skipped with one
// comparison each, so a large list costs little when few items change.
func Diff(a, b *Config) []Change {
	var out []Change
	diffStruct(&out, "", reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), false)
	return out
}

func mustJSON(v reflect.Value) json.RawMessage {
	raw, err := json.Marshal(v.Interface())
	if err != nil {
		// Config values are plain data; failing to encode one is a programming error.
		panic(fmt.Sprintf("config: encode %s: %v", v.Type(), err))
	}
	return raw
}

func equal(a, b reflect.Value) bool {
	if a.Type().Comparable() {
		return a.Equal(b)
	}
	// JSON equality, not DeepEqual: a nil and an empty list are the same
	// setting, and values read back from the store keep that distinction
	// only by accident of encoding.
	return bytes.Equal(mustJSON(a), mustJSON(b))
}

func diffStruct(out *[]Change, prefix string, a, b reflect.Value, secret bool) {
	for _, f := range fieldsOf(a.Type()) {
		fa, fb := a.Field(f.index), b.Field(f.index)
		p := join(prefix, f.name)
		switch {
		case f.keyed:
			diffKeyed(out, p, fa, fb, f.keyIdx, secret || f.secret)
		case fa.Kind() == reflect.Struct:
			diffStruct(out, p, fa, fb, secret || f.secret)
		case !equal(fa, fb):
			*out = append(*out, Change{Op: OpSet, Path: p, Old: mustJSON(fa), New: mustJSON(fb), Secret: secret || f.secret})
		}
	}
}

func keys(s reflect.Value, keyIdx int) []string {
	ks := make([]string, s.Len())
	for i := range ks {
		ks[i] = keyOf(s, i, keyIdx)
	}
	return ks
}

func diffKeyed(out *[]Change, p string, a, b reflect.Value, keyIdx int, secret bool) {
	// Fast path: same keys in the same order, so items pair up by index.
	if a.Len() == b.Len() {
		same := true
		for i := 0; i < a.Len() && same; i++ {
			same = keyOf(a, i, keyIdx) == keyOf(b, i, keyIdx)
		}
		if same {
			for i := 0; i < a.Len(); i++ {
				if !equal(a.Index(i), b.Index(i)) {
					diffStruct(out, itemPath(p, keyOf(a, i, keyIdx)), a.Index(i), b.Index(i), secret)
				}
			}
			return
		}
	}
	ka, kb := keys(a, keyIdx), keys(b, keyIdx)
	ia := make(map[string]int, len(ka))
	for i, k := range ka {
		ia[k] = i
	}
	ib := make(map[string]int, len(kb))
	for i, k := range kb {
		ib[k] = i
	}
	for i, k := range ka {
		if _, ok := ib[k]; !ok {
			*out = append(*out, Change{Op: OpRemove, Path: itemPath(p, k), Old: mustJSON(a.Index(i)), Secret: secret})
		}
	}
	for i, k := range kb {
		j, ok := ia[k]
		switch {
		case !ok:
			*out = append(*out, Change{Op: OpAdd, Path: itemPath(p, k), New: mustJSON(b.Index(i)), Secret: secret})
		case !equal(a.Index(j), b.Index(i)):
			diffStruct(out, itemPath(p, k), a.Index(j), b.Index(i), secret)
		}
	}
	oa, _ := json.Marshal(ka)
	ob, _ := json.Marshal(kb)
	*out = append(*out, Change{Op: OpOrder, Path: p, Old: oa, New: ob})
}

// Apply makes the changes on c, in order. It stops at the first change
// that does not fit c and reports it; c may then hold the earlier changes,
// so callers apply to a clone.
func Apply(c *Config, changes []Change) error {
	root := reflect.ValueOf(c)
	for _, ch := range changes {
		if err := apply(root, ch); err != nil {
			return fmt.Errorf("apply %s %s: %w", ch.Op, ch.Path, err)
		}
	}
	return nil
}

func apply(root reflect.Value, ch Change) error {
	t, err := resolve(root, ch.Path)
	if err != nil {
		return err
	}
	switch ch.Op {
	case OpSet:
		if !t.v.IsValid() || t.item {
			return ErrBadPath
		}
		return setJSON(t.v, ch.New)
	case OpAdd:
		if !t.item {
			return ErrBadPath
		}
		if t.v.IsValid() {
			return setJSON(t.v, ch.New)
		}
		nv := reflect.New(t.slice.Type().Elem())
		if err := json.Unmarshal(ch.New, nv.Interface()); err != nil {
			return err
		}
		t.slice.Set(reflect.Append(t.slice, nv.Elem()))
	case OpRemove:
		if !t.item {
			return ErrBadPath
		}
		if j := findKey(t.slice, t.keyIdx, t.key); j >= 0 {
			removeAt(t.slice, j)
		}
	case OpOrder:
		var order []string
		if err := json.Unmarshal(ch.New, &order); err != nil {
			return err
		}
		return reorder(t.v, order)
	default:
		return fmt.Errorf("unknown op %q: %w", ch.Op, ErrBadPath)
	}
	return nil
}

func removeAt(s reflect.Value, j int) {
	n := reflect.MakeSlice(s.Type(), 0, s.Len()-1)
	n = reflect.AppendSlice(n, s.Slice(0, j))
	n = reflect.AppendSlice(n, s.Slice(j+1, s.Len()))
	s.Set(n)
}

// reorder puts the items named in order first, in that order, and keeps
// the others after them in their current order: an order recorded by one
// session then merges with items another session added.
func reorder(s reflect.Value, order []string) error {
	if s.Kind() != reflect.Slice {
		return ErrBadPath
	}
	keyIdx := keyField(s.Type().Elem())
	if keyIdx < 0 {
		return ErrBadPath
	}
	n := reflect.MakeSlice(s.Type(), 0, s.Len())
	used := make([]bool, s.Len())
	for _, k := range order {
		if j := findKey(s, keyIdx, k); j >= 0 && !used[j] {
			n = reflect.Append(n, s.Index(j))
			used[j] = true
		}
	}
	for j := 0; j < s.Len(); j++ {
		if !used[j] {
			n = reflect.Append(n, s.Index(j))
		}
	}
	s.Set(n)
	return nil
}

// Invert returns the changes that undo changes.
func Invert(changes []Change) []Change {
	out := make([]Change, 0, len(changes))
	for i := len(changes) - 1; i >= 0; i-- {
		ch := changes[i]
		inv := Change{Op: ch.Op, Path: ch.Path, Old: ch.New, New: ch.Old, Secret: ch.Secret}
		switch ch.Op {
		case OpAdd:
			inv.Op = OpRemove
		case OpRemove:
			inv.Op = OpAdd
		}
		out = append(out, inv)
	}
	return out
}

// Conflict is a setting both sessions changed differently.
type Conflict struct {
	Path   string
	Base   json.RawMessage
	Theirs json.RawMessage
	Ours   json.RawMessage
	Secret bool
}

// within reports whether path p lies at or below q.
func within(p, q string) bool {
	return p == q || strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[")
}

// Merge applies ours (changes from base) on top of theirs (a later
// committed configuration with its own changes from base). A setting
// changed on both sides to different values, or an item one side removed
// while the other changed it, is a conflict; the order of lists merges
// without conflict. The returned configuration is new.
func Merge(theirs *Config, theirChanges, ourChanges []Change) (*Config, []Conflict, error) {
	var conflicts []Conflict
	var apply []Change
	for _, o := range ourChanges {
		if o.Op == OpOrder {
			apply = append(apply, o)
			continue
		}
		clash := false
		for _, t := range theirChanges {
			if t.Op == OpOrder {
				continue
			}
			switch {
			case t.Path == o.Path:
				if t.Op == o.Op && bytes.Equal(t.New, o.New) {
					continue // same edit on both sides
				}
			case within(o.Path, t.Path) || within(t.Path, o.Path):
				// One side touched an item the other added or removed whole.
			default:
				continue
			}
			clash = true
			conflicts = append(conflicts, Conflict{Path: o.Path, Base: o.Old, Theirs: t.New, Ours: o.New, Secret: o.Secret || t.Secret})
			break
		}
		if !clash {
			apply = append(apply, o)
		}
	}
	if len(conflicts) > 0 {
		return nil, conflicts, nil
	}
	merged := theirs.Clone()
	if err := Apply(merged, apply); err != nil {
		return nil, nil, err
	}
	return merged, nil, nil
}

// Clone returns a deep copy of c. It goes through JSON only for types that
// hold references; flat item lists are copied with one slice copy each.
func (c *Config) Clone() *Config {
	n := *c
	n.Interfaces = slices.Clone(c.Interfaces)
	n.Listeners = cloneJSON(c.Listeners)
	n.Certificates = cloneJSON(c.Certificates)
	n.CAs.Custom = slices.Clone(c.CAs.Custom)
	n.Destinations.Entries = slices.Clone(c.Destinations.Entries)
	n.Routes = cloneJSON(c.Routes)
	n.Alerts.Recipients = cloneJSON(c.Alerts.Recipients)
	n.LDAP.Servers = slices.Clone(c.LDAP.Servers)
	n.Users = cloneJSON(c.Users)
	return &n
}

func cloneJSON[T any](v []T) []T {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("config: clone: %v", err))
	}
	var out []T
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("config: clone: %v", err))
	}
	return out
}
