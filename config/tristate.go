package config

import (
	"encoding/json"
	"fmt"
)

// OnOff is a tri-state setting: on, off, or unset. In a named mail flow
// policy unset means "Use Default" (the listener's default policy
// decides); elsewhere it means the documented default of the setting.
//
// It is modelled on tailscale's opt.Bool: a named string whose zero value
// is "unset", so that a struct of settings needs no pointers and
// omitempty drops unset values. The stored encodings are exactly the
// strings the configuration always held ("on", "off", ""), so saved
// revisions, drafts, history and exported files load unchanged, and the
// reflection walkers of Diff, Apply and EXPORT, which see a string, write
// the same paths and texts as before.
//
// Decoding keeps any string, even one that is not "on" or "off": drafts
// and diff changes carry values that were never validated, and Validate
// (CheckParams, the listener checks) refuses them at commit naming the
// field path and the accepted values. Code that acts on a setting asks
// Get or EqualBool, which treat such a value as unset.
type OnOff string

// The three states of an OnOff.
const (
	UseDefault OnOff = ""    // unset: inherit, or the setting's default
	On         OnOff = "on"  // explicitly enabled
	Off        OnOff = "off" // explicitly disabled
)

// NewOnOff is On for true and Off for false.
func NewOnOff(on bool) OnOff {
	if on {
		return On
	}
	return Off
}

// Get returns the setting's value and whether it is set. An unset or
// invalid setting returns (false, false).
func (o OnOff) Get() (on, ok bool) {
	switch o {
	case On:
		return true, true
	case Off:
		return false, true
	}
	return false, false
}

// EqualBool reports whether the setting is set and equal to b: On
// equals true, Off equals false, and an unset setting equals neither.
func (o OnOff) EqualBool(b bool) bool {
	v, ok := o.Get()
	return ok && v == b
}

// Or is o when it holds a value and def when it is unset: the "Use
// Default" inheritance of a named policy. An invalid value counts as
// held, so that Validate still sees it in the effective parameters.
func (o OnOff) Or(def OnOff) OnOff {
	if o == UseDefault {
		return def
	}
	return o
}

// Bool is the setting's value, or fallback when it is unset.
func (o OnOff) Bool(fallback bool) bool {
	if v, ok := o.Get(); ok {
		return v
	}
	return fallback
}

// Valid reports whether o is one of the three states.
func (o OnOff) Valid() bool { return o == UseDefault || o == On || o == Off }

// String is the stored encoding: "on", "off", or "" when unset.
func (o OnOff) String() string { return string(o) }

// MarshalJSON writes the stored encoding as a JSON string.
func (o OnOff) MarshalJSON() ([]byte, error) { return json.Marshal(string(o)) }

// UnmarshalJSON reads a JSON string (kept as it is, see OnOff); null
// leaves the setting unchanged, as it does for a plain string.
func (o *OnOff) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("an on/off setting must be a string \"on\", \"off\" or \"\": %w", err)
	}
	*o = OnOff(s)
	return nil
}

// MarshalText writes the stored encoding (encoding/xml and other text
// encoders).
func (o OnOff) MarshalText() ([]byte, error) { return []byte(o), nil }

// UnmarshalText reads the stored encoding, kept as it is (see OnOff).
func (o *OnOff) UnmarshalText(b []byte) error {
	*o = OnOff(b)
	return nil
}
