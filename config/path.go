package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Paths name settings the way validation errors and diffs print them:
// fields by their JSON name joined with dots, elements of keyed lists by
// their key in brackets: listeners[IncomingMail].sender_groups[ALL].hosts.

// field describes one struct field as the path walker sees it.
type field struct {
	index  int
	name   string // JSON name
	keyed  bool   // slice of structs with a cfg:"key" field
	keyIdx int    // index of the key field in the element struct
	secret bool
}

var fieldCache sync.Map // reflect.Type -> []field; a memo of pure reflection

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := field{index: i, name: name, keyIdx: -1, secret: strings.Contains(sf.Tag.Get("cfg"), "secret")}
		if sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct {
			if k := keyField(sf.Type.Elem()); k >= 0 {
				f.keyed, f.keyIdx = true, k
			}
		}
		fs = append(fs, f)
	}
	fieldCache.Store(t, fs)
	return fs
}

// keyField returns the index of the key field of a list item type, or -1
// when t is not a struct with a string field tagged cfg:"key".
func keyField(t reflect.Type) int {
	if t.Kind() != reflect.Struct {
		return -1
	}
	for i := 0; i < t.NumField(); i++ {
		if strings.Contains(t.Field(i).Tag.Get("cfg"), "key") && t.Field(i).Type.Kind() == reflect.String {
			return i
		}
	}
	return -1
}

// segment is one step of a path: a field name, optionally followed by a key.
type segment struct {
	name   string
	key    string
	hasKey bool
}

func parsePath(p string) ([]segment, error) {
	var segs []segment
	for p != "" {
		var s segment
		i := strings.IndexAny(p, ".[")
		if i < 0 {
			s.name, p = p, ""
		} else {
			s.name, p = p[:i], p[i:]
		}
		if strings.HasPrefix(p, "[") {
			j := strings.Index(p, "]")
			if j < 0 {
				return nil, fmt.Errorf("path %q: %w", p, ErrBadPath)
			}
			s.key, s.hasKey, p = p[1:j], true, p[j+1:]
		}
		p = strings.TrimPrefix(p, ".")
		if s.name == "" {
			return nil, fmt.Errorf("path: empty field name: %w", ErrBadPath)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func itemPath(listPath, key string) string { return listPath + "[" + key + "]" }

// keyOf returns the key of element i of a keyed slice.
func keyOf(slice reflect.Value, i, keyIdx int) string {
	return slice.Index(i).Field(keyIdx).String()
}

var destEntriesType = reflect.TypeFor[[]DestControl]()

// destEntries returns the list s holds when it is a list of destination
// entries: the one list that grows to tens of thousands of items, which
// the path walker and Diff then read by type instead of by reflection
// (about 100 ns per item and field).
func destEntries(s reflect.Value) ([]DestControl, bool) {
	if s.Type() != destEntriesType || !s.CanInterface() {
		return nil, false
	}
	return s.Interface().([]DestControl), true
}

// keyFunc returns the keys of a keyed slice by index.
func keyFunc(s reflect.Value, keyIdx int) func(i int) string {
	if es, ok := destEntries(s); ok {
		return func(i int) string { return es[i].Domain }
	}
	return func(i int) string { return keyOf(s, i, keyIdx) }
}

func findKey(slice reflect.Value, keyIdx int, key string) int {
	if es, ok := destEntries(slice); ok {
		for i := range es {
			if es[i].Domain == key {
				return i
			}
		}
		return -1
	}
	for i := 0; i < slice.Len(); i++ {
		if keyOf(slice, i, keyIdx) == key {
			return i
		}
	}
	return -1
}

func lookupField(t reflect.Type, name string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// target is where a path points inside a configuration.
type target struct {
	v      reflect.Value // the addressed value (settable); invalid for a missing item
	slice  reflect.Value // for an item path: the slice holding it
	keyIdx int
	key    string
	item   bool // the path names a keyed item (or a keyed list's order when key is empty)
}

// resolve walks root (a pointer to a struct) along p.
func resolve(root reflect.Value, p string) (target, error) {
	segs, err := parsePath(p)
	if err != nil {
		return target{}, err
	}
	v := root.Elem()
	for i, s := range segs {
		if v.Kind() != reflect.Struct {
			return target{}, fmt.Errorf("path %q: %q is not a section: %w", p, s.name, ErrBadPath)
		}
		f, ok := lookupField(v.Type(), s.name)
		if !ok {
			return target{}, fmt.Errorf("path %q: no field %q: %w", p, s.name, ErrBadPath)
		}
		fv := v.Field(f.index)
		if !s.hasKey {
			v = fv
			continue
		}
		if !f.keyed {
			return target{}, fmt.Errorf("path %q: %q is not a keyed list: %w", p, s.name, ErrBadPath)
		}
		j := findKey(fv, f.keyIdx, s.key)
		if i == len(segs)-1 {
			t := target{slice: fv, keyIdx: f.keyIdx, key: s.key, item: true}
			if j >= 0 {
				t.v = fv.Index(j)
			}
			return t, nil
		}
		if j < 0 {
			return target{}, fmt.Errorf("path %q: no %s[%s]: %w", p, s.name, s.key, ErrNotFound)
		}
		v = fv.Index(j)
	}
	return target{v: v}, nil
}

// setJSON decodes raw into a fresh value of v's type and stores it, so a
// partial decode never leaves v half-written.
func setJSON(v reflect.Value, raw json.RawMessage) error {
	nv := reflect.New(v.Type())
	if err := json.Unmarshal(raw, nv.Interface()); err != nil {
		return err
	}
	v.Set(nv.Elem())
	return nil
}
