package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Records are how a store persists a configuration: one record per
// top-level list item (a listener with its whole host access table is one
// record), one per list order, one per other setting. A commit then writes
// only the records its changes touch, whatever the size of the rest.

// Record is one persisted piece of a configuration.
type Record struct {
	Key   string
	Value json.RawMessage
}

const orderSuffix = "#order"

// Records lists every record of c.
func Records(c *Config) []Record {
	var out []Record
	records(&out, "", reflect.ValueOf(c).Elem())
	return out
}

func records(out *[]Record, prefix string, v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		p := join(prefix, f.name)
		switch {
		case f.keyed:
			ks, _ := json.Marshal(keys(fv, f.keyIdx))
			*out = append(*out, Record{Key: p + orderSuffix, Value: ks})
			for i := 0; i < fv.Len(); i++ {
				*out = append(*out, Record{Key: itemPath(p, keyOf(fv, i, f.keyIdx)), Value: mustJSON(fv.Index(i))})
			}
		case fv.Kind() == reflect.Struct:
			records(out, p, fv)
		default:
			*out = append(*out, Record{Key: p, Value: mustJSON(fv)})
		}
	}
}

// recordKey maps a change path to the record holding it.
func recordKey(ch Change) string {
	if i := strings.Index(ch.Path, "]"); i >= 0 {
		return ch.Path[:i+1]
	}
	if ch.Op == OpOrder {
		return ch.Path + orderSuffix
	}
	return ch.Path
}

// ChangedRecords returns the records of c that changes touched, with a nil
// Value for records that no longer exist.
func ChangedRecords(c *Config, changes []Change) ([]Record, error) {
	seen := map[string]bool{}
	var out []Record
	root := reflect.ValueOf(c)
	lists := map[string]*listIndex{} // top-level list path -> its items by key
	for _, ch := range changes {
		k := recordKey(ch)
		if seen[k] {
			continue
		}
		seen[k] = true
		r := Record{Key: k}
		path, isOrder := strings.CutSuffix(k, orderSuffix)
		// An item record: look it up in its list by key, through an index
		// of the list once there are many (an import adds thousands).
		if i := strings.Index(path, "["); i >= 0 && !isOrder && strings.HasSuffix(path, "]") {
			list, key := path[:i], path[i+1:len(path)-1]
			idx, ok := lists[list]
			if !ok {
				var err error
				if idx, err = newListIndex(root, list); err != nil {
					return nil, fmt.Errorf("record %s: %w", k, err)
				}
				lists[list] = idx
			}
			if j := idx.find(key); j >= 0 {
				r.Value = mustJSON(idx.s.Index(j))
			}
			out = append(out, r)
			continue
		}
		t, err := resolve(root, path)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", k, err)
		}
		switch {
		case isOrder:
			r.Value, _ = json.Marshal(keys(t.v, keyField(t.v.Type().Elem())))
		case t.v.IsValid():
			r.Value = mustJSON(t.v)
		}
		out = append(out, r)
	}
	return out, nil
}

// listIndex finds the items of a keyed list by key: by scanning for the
// first few, then by a map of the whole list.
type listIndex struct {
	s       reflect.Value
	keyIdx  int
	at      map[string]int
	lookups int
}

func newListIndex(root reflect.Value, path string) (*listIndex, error) {
	t, err := resolve(root, path)
	if err != nil {
		return nil, err
	}
	keyIdx := -1
	if t.v.Kind() == reflect.Slice {
		keyIdx = keyField(t.v.Type().Elem())
	}
	if keyIdx < 0 {
		return nil, fmt.Errorf("%s is not a keyed list: %w", path, ErrBadPath)
	}
	return &listIndex{s: t.v, keyIdx: keyIdx}, nil
}

// find returns the position of the first item of key, or -1.
func (l *listIndex) find(key string) int {
	if l.at == nil {
		if l.lookups < 8 {
			l.lookups++
			return findKey(l.s, l.keyIdx, key)
		}
		k := keyFunc(l.s, l.keyIdx)
		l.at = make(map[string]int, l.s.Len())
		for j := l.s.Len() - 1; j >= 0; j-- {
			l.at[k(j)] = j // the first item of a key wins, as in findKey
		}
	}
	if j, ok := l.at[key]; ok {
		return j
	}
	return -1
}

// Load rebuilds a configuration from its records.
func Load(recs map[string][]byte) (*Config, error) {
	c := &Config{}
	root := reflect.ValueOf(c)
	// Orders first (sorted, so outer lists exist before anything inside them).
	ks := make([]string, 0, len(recs))
	for k := range recs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		path, isOrder := strings.CutSuffix(k, orderSuffix)
		if !isOrder {
			continue
		}
		var order []string
		if err := json.Unmarshal(recs[k], &order); err != nil {
			return nil, fmt.Errorf("record %s: %w", k, err)
		}
		t, err := resolve(root, path)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", k, err)
		}
		if t.v.Kind() != reflect.Slice {
			return nil, fmt.Errorf("record %s: not a list: %w", k, ErrBadPath)
		}
		s := reflect.MakeSlice(t.v.Type(), len(order), len(order))
		for i, key := range order {
			raw, ok := recs[itemPath(path, key)]
			if !ok {
				return nil, fmt.Errorf("record %s: item %q missing: %w", k, key, ErrNotFound)
			}
			// Straight into the new list: a half-decoded item fails Load.
			if err := json.Unmarshal(raw, s.Index(i).Addr().Interface()); err != nil {
				return nil, fmt.Errorf("record %s[%s]: %w", path, key, err)
			}
		}
		t.v.Set(s)
	}
	for _, k := range ks {
		if strings.HasSuffix(k, orderSuffix) || strings.Contains(k, "[") {
			continue
		}
		t, err := resolve(root, k)
		if err != nil {
			continue // a setting this version no longer has
		}
		if err := setJSON(t.v, recs[k]); err != nil {
			return nil, fmt.Errorf("record %s: %w", k, err)
		}
	}
	return c, nil
}
