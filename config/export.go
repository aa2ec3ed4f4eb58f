package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The configuration file of saveconfig, showconfig and loadconfig: one XML
// document holding a whole configuration, written from the same field
// names as setting paths use (the JSON names), so every field any section
// adds is exported without code here.
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<!-- Product, model, serial, time -->
//	<config version="1" passphrases="masked">
//	  <hostname>esa.example.com</hostname>
//	  <interfaces>
//	    <interface>
//	      <name>Management</name>
//	      ...
//	  <ldap>
//	    <servers>
//	      <ldap_server>
//	        <bind_password masked="yes">*****</bind_password>
//
// A struct is an element with one child per field; a list is an element
// with one child per item, named after the item's type (ldap_server) or
// "value" for plain values; a value is the element's text. Text is escaped
// so that every value fits on one line (a newline is &#xA;): a pasted file
// survives re-wrapping and the paste terminator "." never meets a value.
// Attributes on a value: masked="yes" (a secret left out), encrypted="yes"
// (base64 of the sealed value), encoding="base64" (a value XML cannot
// carry), format="json" (a kind of field the XML mapping does not know).

// ExportVersion is the version of the file format written.
const ExportVersion = "1"

// Appliance identity in exported files and their names. esash has no
// hardware: the model and serial are fixed, so file names are predictable.
const (
	Model   = "ESASH"
	Serial  = "E5A5H0000001"
	Product = "esash Email Security Appliance"
)

// ExportFileName is the name saveconfig gives a file: model, serial and
// time, as AsyncOS (C100V-<serial>-20261126T210000.xml).
func ExportFileName(t time.Time) string {
	return fmt.Sprintf("%s-%s-%s.xml", Model, Serial, t.UTC().Format("20060102T150405"))
}

// ExportOptions choose how secrets are written.
type ExportOptions struct {
	Secrets    SecretMode
	Passphrase string    // for EncryptSecrets
	Time       time.Time // the header's Current Time
	Version    string    // the header's Version line; empty leaves it out
	Iterations int       // PBKDF2 work factor; 0 is DefaultIterations
	Rand       io.Reader // salt and nonces; nil is crypto/rand
	// MarkInactive follows each value (other than zero: not set) of a
	// setting stored for script compatibility with an XML comment saying
	// so, and each recipient access table with its implied final ALL
	// REJECT (showconfig).
	MarkInactive bool
	// Origins, on a clustered machine, says where each section comes from
	// ("cluster", "group Main_Group", "machine esa1.example.com"): each
	// section is preceded by the comment <!-- origin: ... --> (showconfig;
	// issue 13). Nil writes no such comment.
	Origins map[string]string
}

type exportEncoder struct {
	b    bytes.Buffer
	mark bool
	mode SecretMode
	seal *sealer
	err  error
}

// Export writes c as a configuration file.
func Export(c *Config, o ExportOptions) ([]byte, error) {
	e := &exportEncoder{mode: o.Secrets, mark: o.MarkInactive}
	attrs := []xml.Attr{{Name: xml.Name{Local: "version"}, Value: ExportVersion}, {Name: xml.Name{Local: "passphrases"}, Value: string(o.Secrets)}}
	switch o.Secrets {
	case MaskSecrets, PlainSecrets:
	case EncryptSecrets:
		if r := CheckExportPassphrase(o.Passphrase); r != "" {
			return nil, errors.New(r)
		}
		iter := o.Iterations
		if iter == 0 {
			iter = DefaultIterations
		}
		r := o.Rand
		if r == nil {
			r = rand.Reader
		}
		salt := make([]byte, saltLen)
		if _, err := io.ReadFull(r, salt); err != nil {
			return nil, fmt.Errorf("random salt: %w", err)
		}
		s, err := newSealer(o.Passphrase, salt, iter, r)
		if err != nil {
			return nil, err
		}
		check, err := s.check()
		if err != nil {
			return nil, err
		}
		e.seal = s
		attrs = append(attrs,
			xml.Attr{Name: xml.Name{Local: "kdf"}, Value: kdfPBKDF2},
			xml.Attr{Name: xml.Name{Local: "iterations"}, Value: strconv.Itoa(iter)},
			xml.Attr{Name: xml.Name{Local: "salt"}, Value: base64.StdEncoding.EncodeToString(salt)},
			xml.Attr{Name: xml.Name{Local: "check"}, Value: check})
	default:
		return nil, fmt.Errorf("unknown passphrase option %q", o.Secrets)
	}
	e.b.WriteString(xml.Header)
	e.b.WriteString("<!--\n")
	fmt.Fprintf(&e.b, "  Product: %s\n  Model Number: %s\n", Product, Model)
	if o.Version != "" {
		fmt.Fprintf(&e.b, "  Version: %s\n", commentSafe(o.Version))
	}
	fmt.Fprintf(&e.b, "  Serial Number: %s\n", Serial)
	if !o.Time.IsZero() {
		fmt.Fprintf(&e.b, "  Current Time: %s\n", o.Time.UTC().Format("Mon Jan _2 15:04:05 2006"))
	}
	fmt.Fprintf(&e.b, "  Passphrases: %s\n-->\n", o.Secrets)
	e.b.WriteString("<config")
	for _, a := range attrs {
		fmt.Fprintf(&e.b, " %s=\"", a.Name.Local)
		xml.EscapeText(&e.b, []byte(a.Value))
		e.b.WriteString("\"")
	}
	e.b.WriteString(">\n")
	v := reflect.ValueOf(c).Elem()
	for _, f := range fieldsOf(v.Type()) {
		if origin, ok := o.Origins[f.name]; ok {
			fmt.Fprintf(&e.b, "  <!-- origin: %s -->\n", commentSafe(origin))
		}
		e.value(1, f.name, v.Field(f.index), f.name, f.secret)
	}
	e.b.WriteString("</config>\n")
	if e.err != nil {
		return nil, e.err
	}
	return e.b.Bytes(), nil
}

// commentSafe keeps text from ending an XML comment early.
func commentSafe(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "--", "- -"), "\n", " ")
}

func (e *exportEncoder) indent(n int) {
	for range n {
		e.b.WriteString("  ")
	}
}

// itemName is the element name of a list item of type t.
func exportItemName(t reflect.Type) string {
	if t.Kind() == reflect.Struct && t.Name() != "" {
		return snakeName(t.Name())
	}
	return "value"
}

// snakeName turns a Go type name into an element name: LDAPServer ->
// ldap_server, MailFlowPolicy -> mail_flow_policy.
func snakeName(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// exportItemPath names item i of a list: by key for keyed lists, by its
// 1-based position otherwise.
func exportItemPath(path string, list reflect.Value, i, keyIdx int) string {
	if keyIdx >= 0 {
		return itemPath(path, keyOf(list, i, keyIdx))
	}
	return fmt.Sprintf("%s[%d]", path, i+1)
}

func (e *exportEncoder) value(depth int, name string, v reflect.Value, path string, secret bool) {
	switch {
	case v.Kind() == reflect.Struct:
		e.indent(depth)
		fmt.Fprintf(&e.b, "<%s>\n", name)
		for _, f := range fieldsOf(v.Type()) {
			e.value(depth+1, f.name, v.Field(f.index), join(path, f.name), secret || f.secret)
		}
		e.indent(depth)
		fmt.Fprintf(&e.b, "</%s>\n", name)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		e.indent(depth)
		if v.Len() == 0 {
			fmt.Fprintf(&e.b, "<%s/>", name)
			e.impliedEnd(path)
			e.b.WriteString("\n")
			return
		}
		fmt.Fprintf(&e.b, "<%s>\n", name)
		item, keyIdx := exportItemName(v.Type().Elem()), keyField(v.Type().Elem())
		for i := 0; i < v.Len(); i++ {
			e.value(depth+1, item, v.Index(i), exportItemPath(path, v, i, keyIdx), secret)
		}
		e.indent(depth)
		fmt.Fprintf(&e.b, "</%s>", name)
		e.impliedEnd(path)
		e.b.WriteString("\n")
	default:
		text, attrs := e.leaf(v, path, secret)
		e.indent(depth)
		fmt.Fprintf(&e.b, "<%s%s", name, attrs)
		if text == "" {
			e.b.WriteString("/>\n")
			return
		}
		e.b.WriteString(">")
		xml.EscapeText(&e.b, []byte(text))
		fmt.Fprintf(&e.b, "</%s>", name)
		if e.mark && !v.IsZero() && Inactive(path) {
			e.b.WriteString(" <!-- " + InactiveNote + " -->")
		}
		e.b.WriteString("\n")
	}
}

// impliedEnd says, in printouts, what a list does past its last entry
// when that is not written in it: the recipient access table's final
// ALL REJECT, which RCPTACCESS PRINT shows and the MTA enforces (an empty
// table refuses every recipient), so that showconfig reads as the
// appliance behaves.
func (e *exportEncoder) impliedEnd(path string) {
	if e.mark && SettingPattern(path) == "listeners[*].rcpt_access" {
		e.b.WriteString(" <!-- then ALL REJECT: every other recipient is refused -->")
	}
}

// leaf renders a value: its text and the attributes that say how to read it.
func (e *exportEncoder) leaf(v reflect.Value, path string, secret bool) (string, string) {
	var text, attrs string
	switch v.Kind() {
	case reflect.String:
		text = v.String()
	case reflect.Bool:
		text = strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		text = strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		text = strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		text = strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
	default:
		raw, err := json.Marshal(v.Interface())
		if err != nil && e.err == nil {
			e.err = fmt.Errorf("%s: %w", path, err)
		}
		text, attrs = string(raw), ` format="json"`
	}
	if text == "" {
		return "", attrs
	}
	if secret || looksSecret(text) {
		switch e.mode {
		case MaskSecrets:
			return maskText, attrs + ` masked="yes"`
		case EncryptSecrets:
			sealed, err := e.seal.seal(path, text)
			if err != nil && e.err == nil {
				e.err = err
			}
			return sealed, attrs + ` encrypted="yes"`
		}
	}
	if !xmlSafe(text) {
		return base64.StdEncoding.EncodeToString([]byte(text)), attrs + ` encoding="base64"`
	}
	return text, attrs
}

// xmlSafe reports text that an XML document carries unchanged: valid UTF-8
// of characters XML allows. Other text is written in base64.
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return false
		}
	}
	return true
}

// ErrEmptyFile is a file or paste with nothing in it.
var ErrEmptyFile = errors.New("no data to load")

// ConfigFileError is a file that is not a configuration: where and why.
type ConfigFileError struct {
	Line int
	Msg  string
}

func (e *ConfigFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// xnode is one element of a parsed file.
type xnode struct {
	name     string
	attrs    map[string]string
	children []*xnode
	text     strings.Builder
	line     int
}

func (n *xnode) errf(format string, args ...any) error {
	return &ConfigFileError{Line: n.line, Msg: fmt.Sprintf(format, args...)}
}

// Limits of ParseExport. The whole file becomes a tree of xnodes (about
// 120 bytes each), so a file of nothing but <x/> (4 bytes) once cost 30
// times its size, 1.8 GB for 48 MB (issue 12, item 7). The limits bound
// the tree whatever the file, far above any real configuration (10,000
// destination entries export as 130,000 elements and 4.7 MB):
const (
	// maxExportDepth bounds nesting: a configuration is a handful of
	// levels deep.
	maxExportDepth = 32
	// maxExportElements bounds the tree: about 60 MB of nodes at most.
	maxExportElements = 500_000
	// maxExportToken bounds one token (a tag with its attributes, a
	// text, a comment): encoding/xml builds it whole before returning it.
	maxExportToken = 4 << 20
	// maxExportAttrs bounds the attributes of one element (<config>
	// has six).
	maxExportAttrs = 16
)

// Imported is a configuration file read by ParseExport, not yet turned into
// a configuration: an encrypted one needs its passphrase first.
type Imported struct {
	root       *xnode
	Secrets    SecretMode
	salt       []byte
	iterations int
	check      string
}

// ParseExport reads a configuration file's structure and header.
func ParseExport(data []byte) (*Imported, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmptyFile
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, ErrEmptyFile
	}
	if root.name != "config" {
		return nil, root.errf("the root element must be <config>, not <%s>", root.name)
	}
	im := &Imported{root: root}
	for k, v := range root.attrs {
		switch k {
		case "version":
			if v != ExportVersion {
				return nil, root.errf("unsupported file version %q (this appliance reads version %s)", v, ExportVersion)
			}
		case "passphrases":
			im.Secrets = SecretMode(v)
		case "kdf":
			if v != kdfPBKDF2 {
				return nil, root.errf("unsupported key derivation %q", v)
			}
		case "iterations":
			n, err := strconv.Atoi(v)
			if err != nil || n < MinIterations || n > MaxIterations {
				return nil, root.errf("iterations must be a number from %d to %d", MinIterations, MaxIterations)
			}
			im.iterations = n
		case "salt":
			s, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(s) < 8 {
				return nil, root.errf("the salt must be base64 of at least 8 bytes")
			}
			im.salt = s
		case "check":
			im.check = v
		default:
			return nil, root.errf("unknown attribute %q on <config>", k)
		}
	}
	if _, ok := root.attrs["version"]; !ok {
		return nil, root.errf("the <config> element has no version attribute")
	}
	switch im.Secrets {
	case MaskSecrets, PlainSecrets:
	case EncryptSecrets:
		if im.salt == nil || im.iterations == 0 || im.check == "" {
			return nil, root.errf("an encrypted file needs the kdf, iterations, salt and check attributes")
		}
	default:
		return nil, root.errf("the passphrases attribute must be masked, encrypted or plain, not %q", im.Secrets)
	}
	return im, nil
}

// NeedsPassphrase reports a file whose secrets are encrypted.
func (im *Imported) NeedsPassphrase() bool { return im.Secrets == EncryptSecrets }

// Loaded is a configuration read from a file.
type Loaded struct {
	Config *Config
	// Kept lists the masked secrets that kept their current value.
	Kept []string
}

type exportDecoder struct {
	seal   *sealer
	masked []string
	legacy []func(*Config) error // settings of older files, applied after the rest
}

// legacySettings read settings older files hold and this version keeps
// elsewhere, by path (see legacyResolver in dns.go).
var legacySettings = map[string]func(*Config, string) error{
	"delivery.resolver": legacyResolver,
}

// Load turns the file into a configuration. passphrase opens an encrypted
// file. Masked secrets keep their value in current (the running
// configuration); when current has none the load fails with a
// *MissingSecretsError listing every such setting.
func (im *Imported) Load(passphrase string, current *Config) (*Loaded, error) {
	dec := &exportDecoder{}
	if im.NeedsPassphrase() {
		if passphrase == "" {
			return nil, ErrNoPassphrase
		}
		s, err := newSealer(passphrase, im.salt, im.iterations, nil)
		if err != nil {
			return nil, im.root.errf("%v", err)
		}
		if err := s.verify(im.check); err != nil {
			return nil, err
		}
		dec.seal = s
	}
	c := &Config{}
	if err := dec.structure(im.root, reflect.ValueOf(c).Elem(), ""); err != nil {
		return nil, err
	}
	for _, f := range dec.legacy {
		if err := f(c); err != nil {
			return nil, err
		}
	}
	out := &Loaded{Config: c}
	var missing []string
	for _, p := range dec.masked {
		if keepCurrent(c, current, p) {
			out.Kept = append(out.Kept, p)
		} else {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingSecretsError{Paths: missing}
	}
	return out, nil
}

// keepCurrent copies the value at path from current into c; false when
// current has no (non-empty) value there. A certificate's private key is
// kept only for the same certificate: the key of another one (the Demo
// profile of another appliance) is no value for it.
func keepCurrent(c, current *Config, path string) bool {
	if current == nil {
		return false
	}
	if rest, ok := strings.CutPrefix(path, "certificates["); ok {
		if name, ok := strings.CutSuffix(rest, "].private_key"); ok && !sameCertificate(c, current, name) {
			return false
		}
	}
	from, err := resolve(reflect.ValueOf(current), path)
	if err != nil || !from.v.IsValid() || from.v.IsZero() {
		return false
	}
	to, err := resolve(reflect.ValueOf(c), path)
	if err != nil || !to.v.IsValid() || to.v.Type() != from.v.Type() || !to.v.CanSet() {
		return false
	}
	to.v.Set(from.v)
	return true
}

func sameCertificate(a, b *Config, name string) bool {
	var ca, cb *Certificate
	for i := range a.Certificates {
		if a.Certificates[i].Name == name {
			ca = &a.Certificates[i]
		}
	}
	for i := range b.Certificates {
		if b.Certificates[i].Name == name {
			cb = &b.Certificates[i]
		}
	}
	return ca != nil && cb != nil && ca.CertPEM == cb.CertPEM
}

func (d *exportDecoder) structure(n *xnode, v reflect.Value, path string) error {
	if len(n.attrs) > 0 && path != "" {
		return n.errf("<%s> is a section and takes no attributes", n.name)
	}
	if strings.TrimSpace(n.text.String()) != "" {
		return n.errf("<%s> is a section: unexpected text in it", n.name)
	}
	seen := map[string]bool{}
	for _, ch := range n.children {
		f, ok := lookupField(v.Type(), ch.name)
		if set := legacySettings[join(path, ch.name)]; !ok && set != nil {
			t, err := d.text(ch)
			if err != nil {
				return err
			}
			line := ch.line
			d.legacy = append(d.legacy, func(c *Config) error {
				if err := set(c, t); err != nil {
					return &ConfigFileError{Line: line, Msg: err.Error()}
				}
				return nil
			})
			continue
		}
		if !ok {
			return ch.errf("unknown setting <%s> in <%s>", ch.name, n.name)
		}
		if seen[ch.name] {
			return ch.errf("<%s> appears twice in <%s>", ch.name, n.name)
		}
		seen[ch.name] = true
		if err := d.value(ch, v.Field(f.index), join(path, f.name)); err != nil {
			return err
		}
	}
	return nil
}

func (d *exportDecoder) value(n *xnode, v reflect.Value, path string) error {
	switch {
	case v.Kind() == reflect.Struct:
		return d.structure(n, v, path)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		return d.list(n, v, path)
	default:
		return d.leaf(n, v, path)
	}
}

func (d *exportDecoder) list(n *xnode, v reflect.Value, path string) error {
	if len(n.attrs) > 0 {
		return n.errf("<%s> is a list and takes no attributes", n.name)
	}
	if strings.TrimSpace(n.text.String()) != "" {
		return n.errf("<%s> is a list: unexpected text in it", n.name)
	}
	et := v.Type().Elem()
	item, keyIdx := exportItemName(et), keyField(et)
	var keyName string
	if keyIdx >= 0 {
		keyName, _, _ = strings.Cut(et.Field(keyIdx).Tag.Get("json"), ",")
	}
	s := reflect.MakeSlice(v.Type(), len(n.children), len(n.children))
	keys := map[string]bool{}
	for i, ch := range n.children {
		if ch.name != item {
			return ch.errf("unexpected <%s> in <%s>: its items are <%s>", ch.name, n.name, item)
		}
		p := fmt.Sprintf("%s[%d]", path, i+1)
		if keyIdx >= 0 {
			k, err := d.key(ch, keyName)
			if err != nil {
				return err
			}
			if keys[k] {
				return ch.errf("%s appears twice", itemPath(path, k))
			}
			keys[k] = true
			p = itemPath(path, k)
		}
		if err := d.value(ch, s.Index(i), p); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// key reads the key of a keyed list item before the item itself, so that
// the paths of its settings (and the additional data of its encrypted
// values) name it.
func (d *exportDecoder) key(n *xnode, keyName string) (string, error) {
	for _, ch := range n.children {
		if ch.name != keyName {
			continue
		}
		if _, ok := ch.attrs["masked"]; ok {
			return "", ch.errf("the name <%s> cannot be masked", ch.name)
		}
		if _, ok := ch.attrs["encrypted"]; ok {
			return "", ch.errf("the name <%s> cannot be encrypted", ch.name)
		}
		return d.text(ch)
	}
	return "", n.errf("<%s> has no <%s>", n.name, keyName)
}

// text is a value's text with its encoding undone.
func (d *exportDecoder) text(n *xnode) (string, error) {
	if len(n.children) > 0 {
		return "", n.errf("<%s> is a value: unexpected <%s> in it", n.name, n.children[0].name)
	}
	t := n.text.String()
	if enc, ok := n.attrs["encoding"]; ok {
		if enc != "base64" {
			return "", n.errf("unknown encoding %q on <%s>", enc, n.name)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(t))
		if err != nil {
			return "", n.errf("<%s>: the value is not base64", n.name)
		}
		t = string(raw)
	}
	return t, nil
}

var exportLeafAttrs = []string{"masked", "encrypted", "encoding", "format"}

func (d *exportDecoder) leaf(n *xnode, v reflect.Value, path string) error {
	for k, val := range n.attrs {
		if !slices.Contains(exportLeafAttrs, k) {
			return n.errf("unknown attribute %q on <%s>", k, n.name)
		}
		if (k == "masked" || k == "encrypted") && val != "yes" {
			return n.errf("the %s attribute must be \"yes\"", k)
		}
	}
	if len(n.children) > 0 {
		return n.errf("<%s> is a value: unexpected <%s> in it", n.name, n.children[0].name)
	}
	_, masked := n.attrs["masked"]
	_, encrypted := n.attrs["encrypted"]
	format, isJSON := n.attrs["format"]
	if isJSON && format != "json" {
		return n.errf("unknown format %q on <%s>", format, n.name)
	}
	switch {
	case masked && encrypted:
		return n.errf("<%s> cannot be both masked and encrypted", n.name)
	case masked:
		d.masked = append(d.masked, path)
		return nil // keeps the zero value until the current one replaces it
	}
	var t string
	if encrypted {
		if d.seal == nil {
			return n.errf("<%s> is encrypted but the file is not", n.name)
		}
		var err error
		if t, err = d.seal.open(path, n.text.String()); err != nil {
			return n.errf("%s: %v", path, err)
		}
	} else {
		var err error
		if t, err = d.text(n); err != nil {
			return err
		}
	}
	if isJSON {
		nv := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(t), nv.Interface()); err != nil {
			return n.errf("<%s>: invalid JSON value: %v", n.name, err)
		}
		v.Set(nv.Elem())
		return nil
	}
	return setExportScalar(n, v, t)
}

func setExportScalar(n *xnode, v reflect.Value, t string) error {
	if v.Kind() != reflect.String {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil // an empty number or flag is its zero value
		}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(t)
	case reflect.Bool:
		b, err := strconv.ParseBool(t)
		if err != nil || (t != "true" && t != "false") {
			return n.errf("<%s> must be true or false, not %q", n.name, t)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(t, 10, v.Type().Bits())
		if err != nil {
			return n.errf("<%s> must be an integer, not %q", n.name, t)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(t, 10, v.Type().Bits())
		if err != nil {
			return n.errf("<%s> must be a non-negative integer, not %q", n.name, t)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(t, v.Type().Bits())
		if err != nil {
			return n.errf("<%s> must be a number, not %q", n.name, t)
		}
		v.SetFloat(f)
	default:
		return n.errf("<%s> must have format=\"json\"", n.name)
	}
	return nil
}
