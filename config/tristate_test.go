package config

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

func TestOnOffMethods(t *testing.T) {
	for _, tc := range []struct {
		name           string
		o              OnOff
		val, ok        bool
		eqTrue, eqFals bool
		valid          bool
		str            string
	}{
		{"on", On, true, true, true, false, true, "on"},
		{"off", Off, false, true, false, true, true, "off"},
		{"unset", UseDefault, false, false, false, false, true, ""},
		{"invalid", OnOff("yes"), false, false, false, false, false, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, ok := tc.o.Get(); v != tc.val || ok != tc.ok {
				t.Errorf("Get() = %v, %v; want %v, %v", v, ok, tc.val, tc.ok)
			}
			if got := tc.o.EqualBool(true); got != tc.eqTrue {
				t.Errorf("EqualBool(true) = %v", got)
			}
			if got := tc.o.EqualBool(false); got != tc.eqFals {
				t.Errorf("EqualBool(false) = %v", got)
			}
			if got := tc.o.Valid(); got != tc.valid {
				t.Errorf("Valid() = %v", got)
			}
			if got := tc.o.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if got := tc.o.Bool(true); got != (tc.val || !tc.ok) {
				t.Errorf("Bool(true) = %v", got)
			}
		})
	}
	if NewOnOff(true) != On || NewOnOff(false) != Off {
		t.Error("NewOnOff does not map true/false to on/off")
	}
}

// TestOnOffStoredEncoding: the JSON the store, drafts and history hold is
// byte-for-byte what the former string fields wrote, and reads back.
func TestOnOffStoredEncoding(t *testing.T) {
	const stored = `{"use_rate_limit":"on","tls_verify_client":"off"}`
	p := HATParams{RateLimit: On, VerifyClientCert: Off}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != stored {
		t.Errorf("json = %s, want %s (unset settings omitted)", raw, stored)
	}
	var back HATParams
	if err := json.Unmarshal([]byte(stored), &back); err != nil {
		t.Fatal(err)
	}
	if back != p {
		t.Errorf("decoded %+v, want %+v", back, p)
	}
	// A draft may hold a value Validate has not refused yet: it decodes
	// as it is, so that commit can name it.
	if err := json.Unmarshal([]byte(`{"use_rate_limit":"yes","spam_check":null}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.RateLimit != "yes" || back.SpamCheck != UseDefault {
		t.Errorf("decoded %q and %q", back.RateLimit, back.SpamCheck)
	}
	if err := json.Unmarshal([]byte(`{"use_rate_limit":true}`), &back); err == nil {
		t.Error("a JSON boolean decoded: only the string encodings are stored")
	}
}

func TestOnOffXML(t *testing.T) {
	type doc struct {
		A OnOff `xml:"a"`
		B OnOff `xml:"b"`
		C OnOff `xml:"c"`
	}
	raw, err := xml.Marshal(doc{A: On, B: Off})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<doc><a>on</a><b>off</b><c></c></doc>"; string(raw) != want {
		t.Errorf("xml = %s, want %s", raw, want)
	}
	var back doc
	if err := xml.Unmarshal(raw, &back); err != nil || back != (doc{A: On, B: Off}) {
		t.Errorf("decoded %+v, %v", back, err)
	}
}

// TestOnOffExportRoundTrip: the appliance's configuration file (EXPORT,
// saveconfig) writes the settings as before and loads them back.
func TestOnOffExportRoundTrip(t *testing.T) {
	c := factory(t)
	data := string(export(t, c, PlainSecrets, ""))
	for _, want := range []string{
		"<use_rate_limit>on</use_rate_limit>",
		"<use_rate_limit>off</use_rate_limit>",
		"<spam_check>on</spam_check>",
	} {
		if !strings.Contains(data, want) {
			t.Errorf("the export has no %s", want)
		}
	}
	got, err := load(t, []byte(data), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(c, got.Config); len(d) != 0 {
		t.Errorf("Diff after round trip = %v", paths(d))
	}
}
