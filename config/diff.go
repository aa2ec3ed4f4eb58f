package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
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

// equal reports whether a and b hold the same setting. A nil and an empty
// list are the same setting: values read back from the store keep that
// distinction only by accident of encoding (omitempty drops an empty list).
// It walks the values rather than encoding them: Diff calls it for every
// item of every list.
func equal(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice:
		n := a.Len()
		if n != b.Len() {
			return false
		}
		if n == 0 || a.Pointer() == b.Pointer() {
			return true
		}
		for i := 0; i < n; i++ {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type().Comparable() {
			return a.Equal(b) // no lists inside, so no nil/empty question
		}
		for i := 0; i < a.NumField(); i++ {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	}
	// No setting has another kind today; compare what the store would keep.
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
	key := keyFunc(s, keyIdx)
	ks := make([]string, s.Len())
	for i := range ks {
		ks[i] = key(i)
	}
	return ks
}

// sameItem reports whether item i of list a and item j of list b are the
// same setting.
func sameItem(a, b reflect.Value) func(i, j int) bool {
	if as, ok := destEntries(a); ok {
		if bs, ok := destEntries(b); ok {
			return func(i, j int) bool { return as[i] == bs[j] }
		}
	}
	return func(i, j int) bool { return equal(a.Index(i), b.Index(j)) }
}

func diffKeyed(out *[]Change, p string, a, b reflect.Value, keyIdx int, secret bool) {
	keyA, keyB, same := keyFunc(a, keyIdx), keyFunc(b, keyIdx), sameItem(a, b)
	// Fast path: same keys in the same order, so items pair up by index.
	if a.Len() == b.Len() {
		inOrder := true
		for i := 0; i < a.Len() && inOrder; i++ {
			inOrder = keyA(i) == keyB(i)
		}
		if inOrder {
			for i := 0; i < a.Len(); i++ {
				if !same(i, i) {
					diffStruct(out, itemPath(p, keyA(i)), a.Index(i), b.Index(i), secret)
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
		case !same(j, i):
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
	for i := 0; i < len(changes); {
		ch := changes[i]
		n, err := 1, error(nil)
		if ch.Op == OpRemove {
			n, err = removeRun(root, changes[i:])
		} else {
			err = apply(root, ch)
		}
		if err != nil {
			return fmt.Errorf("apply %s %s: %w", ch.Op, ch.Path, err)
		}
		i += n
	}
	return nil
}

// apply makes one change other than a removal (removeRun).
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
		nv := reflect.New(t.slice.Type().Elem())
		if err := json.Unmarshal(ch.New, nv.Interface()); err != nil {
			return err
		}
		// The path names the item: it keeps that key whatever the value
		// says, so the list never holds an item its paths cannot reach.
		nv.Elem().Field(t.keyIdx).SetString(t.key)
		if t.v.IsValid() {
			t.v.Set(nv.Elem())
		} else {
			t.slice.Set(reflect.Append(t.slice, nv.Elem()))
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

// removeRun makes the removal chs[0] together with the removals right
// after it from the same list, in one pass over the list, and returns how
// many changes it made: removing ten thousand entries one at a time would
// copy the list ten thousand times. Each removal takes the first item of
// its key, as one at a time would; a missing item is already removed.
func removeRun(root reflect.Value, chs []Change) (int, error) {
	t, err := resolve(root, chs[0].Path)
	if err != nil {
		return 0, err
	}
	if !t.item {
		return 0, ErrBadPath
	}
	drop := map[string]int{t.key: 1}
	n := 1
	if list, ok := strings.CutSuffix(chs[0].Path, "["+t.key+"]"); ok {
		for ; n < len(chs) && chs[n].Op == OpRemove; n++ {
			k, inList := strings.CutPrefix(chs[n].Path, list+"[")
			k, closed := strings.CutSuffix(k, "]")
			if !inList || !closed || strings.Contains(k, "]") {
				break // another list, or a path to parse in full
			}
			drop[k]++
		}
	}
	s := t.slice
	key := keyFunc(s, t.keyIdx)
	kept := reflect.MakeSlice(s.Type(), 0, s.Len())
	for j := 0; j < s.Len(); j++ {
		if k := key(j); drop[k] > 0 {
			drop[k]--
			continue
		}
		kept = reflect.Append(kept, s.Index(j))
	}
	s.Set(kept)
	return n, nil
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
	at := make(map[string]int, s.Len())
	for j := s.Len() - 1; j >= 0; j-- {
		at[keyOf(s, j, keyIdx)] = j // the first item of a key wins, as findKey
	}
	n := reflect.MakeSlice(s.Type(), s.Len(), s.Len())
	used := make([]bool, s.Len())
	pos := 0
	for _, k := range order {
		if j, ok := at[k]; ok && !used[j] {
			n.Index(pos).Set(s.Index(j))
			used[j] = true
			pos++
		}
	}
	for j := 0; j < s.Len(); j++ {
		if !used[j] {
			n.Index(pos).Set(s.Index(j))
			pos++
		}
	}
	s.Set(n)
	return nil
}

// Invert returns the changes that undo changes.
func Invert(changes []Change) []Change {
	out := make([]Change, 0, len(changes))
	var orders []Change
	for i := len(changes) - 1; i >= 0; i-- {
		ch := changes[i]
		inv := Change{Op: ch.Op, Path: ch.Path, Old: ch.New, New: ch.Old, Secret: ch.Secret}
		switch ch.Op {
		case OpAdd:
			inv.Op = OpRemove
		case OpRemove:
			inv.Op = OpAdd
		case OpOrder:
			orders = append(orders, inv)
			continue
		}
		out = append(out, inv)
	}
	// Orders go last: an item the undone changes removed comes back at the
	// end of its list, and only then can the list's order be restored. A
	// list an order names exists in both configurations, so it is still
	// there at the end.
	return append(out, orders...)
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
// while the other changed it (or reordered a list inside it), is a
// conflict. The orders of a list merge: the side that reordered the items
// both kept decides their order, and the items each side added keep their
// place before the item that followed them on that side; both sides
// reordering the same items differently is a conflict. The returned
// configuration is new.
func Merge(theirs *Config, theirChanges, ourChanges []Change) (*Config, []Conflict, error) {
	theirOrders := map[string]Change{}
	for _, t := range theirChanges {
		if t.Op == OpOrder {
			theirOrders[t.Path] = t
		}
	}
	var conflicts []Conflict
	var apply []Change
	for _, o := range ourChanges {
		if c, ok := clash(o, theirChanges); ok {
			conflicts = append(conflicts, c)
			continue
		}
		if t, ok := theirOrders[o.Path]; ok && o.Op == OpOrder {
			order, err := mergeOrder(o, t)
			if errors.Is(err, errOrderConflict) {
				conflicts = append(conflicts, Conflict{Path: o.Path, Base: o.Old, Theirs: t.New, Ours: o.New, Secret: o.Secret || t.Secret})
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("merge order of %s: %w", o.Path, err)
			}
			o.New = order
		}
		apply = append(apply, o)
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

// clash finds the first of their changes that our change o contradicts.
func clash(o Change, theirChanges []Change) (Conflict, bool) {
	for _, t := range theirChanges {
		if t.Op == OpOrder {
			continue // orders merge (mergeOrder)
		}
		switch {
		case o.Op == OpOrder:
			// Our order of a list inside an item they added or removed.
			if o.Path == t.Path || !within(o.Path, t.Path) {
				continue
			}
		case t.Path == o.Path:
			if t.Op == o.Op && bytes.Equal(t.New, o.New) {
				continue // same edit on both sides
			}
		case within(o.Path, t.Path) || within(t.Path, o.Path):
			// One side touched an item the other added or removed whole.
		default:
			continue
		}
		return Conflict{Path: o.Path, Base: o.Old, Theirs: t.New, Ours: o.New, Secret: o.Secret || t.Secret}, true
	}
	return Conflict{}, false
}

var errOrderConflict = errors.New("both sides reordered the list")

// mergeOrder merges our order of a list with theirs (both from the same
// base) into the order of the merged list.
func mergeOrder(o, t Change) (json.RawMessage, error) {
	var base, ours, theirs []string
	for _, x := range []struct {
		raw json.RawMessage
		to  *[]string
	}{{o.Old, &base}, {o.New, &ours}, {t.New, &theirs}} {
		if err := json.Unmarshal(x.raw, x.to); err != nil {
			return nil, err
		}
	}
	inBase, inOurs, inTheirs := keySet(base), keySet(ours), keySet(theirs)
	kept := func(l []string) []string {
		var out []string
		for _, k := range l {
			if inBase[k] && inOurs[k] && inTheirs[k] {
				out = append(out, k)
			}
		}
		return out
	}
	kb, ko, kt := kept(base), kept(ours), kept(theirs)
	oursMoved, theirsMoved := !slices.Equal(ko, kb), !slices.Equal(kt, kb)
	if oursMoved && theirsMoved && !slices.Equal(ko, kt) {
		return nil, errOrderConflict
	}
	out := kt
	if oursMoved {
		out = ko
	}
	out = insertAdded(out, theirs, inBase)
	out = insertAdded(out, ours, inBase)
	return json.Marshal(out)
}

func keySet(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// insertAdded puts the keys of list that base did not have into out, each
// right before the nearest key after it in list that out holds, or last
// when none does: an item added in front of a catch-all (the sender group
// ALL) stays in front of it, one appended stays last, and our additions
// come after theirs at the same place.
func insertAdded(out, list []string, inBase map[string]bool) []string {
	for i, k := range list {
		if inBase[k] || slices.Contains(out, k) {
			continue
		}
		pos := len(out)
		for _, next := range list[i+1:] {
			if p := slices.Index(out, next); p >= 0 {
				pos = p
				break
			}
		}
		out = slices.Insert(out, pos, k)
	}
	return out
}

// Clone returns a deep copy of c. Every list is copied, at every depth,
// whatever fields Config gains; lists of items that hold no references
// (destination entries) are copied with one slice copy each.
func (c *Config) Clone() *Config {
	n := new(Config)
	deepCopy(reflect.ValueOf(n).Elem(), reflect.ValueOf(c).Elem())
	return n
}

var flatCache sync.Map // reflect.Type -> bool; a memo of pure reflection

// flat reports whether a value of type t holds no references, so that
// assigning it copies all of it.
func flat(t reflect.Type) bool {
	if f, ok := flatCache.Load(t); ok {
		return f.(bool)
	}
	f := true
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !flat(t.Field(i).Type) {
				f = false
				break
			}
		}
	case reflect.Array:
		f = flat(t.Elem())
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		f = false
	}
	flatCache.Store(t, f)
	return f
}

// deepCopy sets dst, a settable zero value, to a copy of src that shares
// no list, map or pointee with it. A nil list stays nil, an empty one empty.
func deepCopy(dst, src reflect.Value) {
	t := src.Type()
	if flat(t) {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			deepCopy(dst.Field(i), src.Field(i))
		}
	case reflect.Array:
		for i := 0; i < src.Len(); i++ {
			deepCopy(dst.Index(i), src.Index(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		n := reflect.MakeSlice(t, src.Len(), src.Len())
		if flat(t.Elem()) {
			reflect.Copy(n, src)
		} else {
			for i := 0; i < src.Len(); i++ {
				deepCopy(n.Index(i), src.Index(i))
			}
		}
		dst.Set(n)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(t, src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(t.Elem()).Elem()
			deepCopy(v, it.Value())
			n.SetMapIndex(it.Key(), v)
		}
		dst.Set(n)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(t.Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	default:
		dst.Set(src) // interfaces, channels, functions: no setting is one
	}
}
