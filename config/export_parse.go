package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// The parsing entry of ParseExport: the file is read token by token
// (encoding/xml's RawToken) into a tree of xnodes, within the limits of
// export.go (maxExportElements, maxExportToken, maxExportAttrs,
// maxExportDepth); whatever is over a limit is named in the error with
// its line.

// errTokenTooLong is a tag or a text over maxExportToken.
var errTokenTooLong = fmt.Errorf("an element or a text longer than %d MB", maxExportToken>>20)

// tokenReader counts the bytes the decoder reads for one token and stops
// it at maxExportToken. encoding/xml reads byte by byte from an
// io.ByteReader (it adds no buffer of its own), so the count is exact.
type tokenReader struct {
	r *bytes.Reader
	n int
}

func (t *tokenReader) ReadByte() (byte, error) {
	if t.n >= maxExportToken {
		return 0, errTokenTooLong
	}
	t.n++
	return t.r.ReadByte()
}

func (t *tokenReader) Read(p []byte) (int, error) {
	if t.n >= maxExportToken {
		return 0, errTokenTooLong
	}
	p = p[:min(len(p), maxExportToken-t.n)]
	n, err := t.r.Read(p)
	t.n += n
	return n, err
}

// treeBuilder holds the state of one parse.
type treeBuilder struct {
	stack    []*xnode
	root     *xnode
	elements int
	slab     []xnode           // nodes are allocated in blocks
	names    map[string]string // element and attribute names, interned
}

// parseTree reads data into a tree; nil without an error is a file
// without elements.
func parseTree(data []byte) (*xnode, error) {
	in := &tokenReader{r: bytes.NewReader(data)}
	d := xml.NewDecoder(in)
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("unsupported encoding %q: the file must be UTF-8", label)
	}
	b := &treeBuilder{names: map[string]string{}}
	for {
		// RawToken: element nesting is checked here, and namespaces are
		// refused rather than resolved (a third of the time of Token).
		in.n = 0
		tok, err := d.RawToken()
		if err == io.EOF {
			if len(b.stack) > 0 {
				line, _ := d.InputPos()
				return nil, &ConfigFileError{Line: line, Msg: fmt.Sprintf("unexpected end of file: <%s> is not closed", b.stack[len(b.stack)-1].name)}
			}
			return b.root, nil
		}
		line, _ := d.InputPos()
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) && !errors.Is(err, errTokenTooLong) {
				return nil, &ConfigFileError{Line: se.Line, Msg: se.Msg}
			}
			return nil, &ConfigFileError{Line: line, Msg: err.Error()}
		}
		if err := b.add(tok, line); err != nil {
			return nil, err
		}
	}
}

// intern returns one copy of each name: a file repeats a few dozen.
func (b *treeBuilder) intern(s string) string {
	if v, ok := b.names[s]; ok {
		return v
	}
	if len(b.names) < 4096 {
		b.names[s] = s
	}
	return s
}

// node allocates an xnode from the current block.
func (b *treeBuilder) node() *xnode {
	if len(b.slab) == 0 {
		b.slab = make([]xnode, 256)
	}
	n := &b.slab[0]
	b.slab = b.slab[1:]
	return n
}

// add takes one token into the tree.
func (b *treeBuilder) add(tok xml.Token, line int) error {
	fail := func(format string, args ...any) error {
		return &ConfigFileError{Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	switch t := tok.(type) {
	case xml.StartElement:
		switch {
		case b.root != nil && len(b.stack) == 0:
			return fail("more than one root element")
		case len(b.stack) >= maxExportDepth:
			return fail("elements nested too deep")
		case t.Name.Space != "":
			return fail("unexpected namespace on <%s>", t.Name.Local)
		case b.elements >= maxExportElements:
			return fail("more than %d elements: the file is not a configuration this appliance exported", maxExportElements)
		case len(t.Attr) > maxExportAttrs:
			return fail("more than %d attributes on <%s>", maxExportAttrs, t.Name.Local)
		}
		b.elements++
		n := b.node()
		n.name, n.line = b.intern(t.Name.Local), line
		for _, a := range t.Attr {
			if n.attrs == nil {
				n.attrs = map[string]string{}
			}
			if a.Name.Space != "" {
				return fail("unexpected attribute %s:%s on <%s>", a.Name.Space, a.Name.Local, n.name)
			}
			n.attrs[b.intern(a.Name.Local)] = a.Value
		}
		if len(b.stack) > 0 {
			p := b.stack[len(b.stack)-1]
			p.children = append(p.children, n)
		} else {
			b.root = n
		}
		b.stack = append(b.stack, n)
	case xml.EndElement:
		if len(b.stack) == 0 || t.Name.Space != "" || t.Name.Local != b.stack[len(b.stack)-1].name {
			open := "nothing"
			if len(b.stack) > 0 {
				open = "<" + b.stack[len(b.stack)-1].name + ">"
			}
			return fail("element %s closed by </%s>", open, t.Name.Local)
		}
		b.stack = b.stack[:len(b.stack)-1]
	case xml.CharData:
		if len(b.stack) == 0 {
			if len(bytes.TrimSpace(t)) > 0 {
				return fail("text outside the root element")
			}
			return nil
		}
		b.stack[len(b.stack)-1].text.Write(t)
	}
	return nil
}
