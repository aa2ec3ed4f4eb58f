package config

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// The OpenSSL cipher-list language of sslconfig's cipher strings
// (openssl-ciphers(1)), mapped onto the suites crypto/tls implements.
//
// A string is a list of elements separated by ':' (or ',', ';', ' '). An
// element is a cipher name (ECDHE-RSA-AES128-GCM-SHA256) or a keyword
// (HIGH, kRSA, AESGCM ...), or keywords joined by '+' meaning all of them
// (ECDHE+AESGCM), with an optional prefix: none adds the suites, '-'
// removes them (a later element may add them back), '!' removes them for
// good, '+' only moves them (no effect here). DEFAULT may open the string;
// @STRENGTH sorts and @SECLEVEL=n filters as in OpenSSL.
//
// Where esash departs from OpenSSL, and why:
//   - An unknown word is refused (OpenSSL skips it silently): a typo in a
//     security setting must not go unnoticed. Every name OpenSSL 3 or an
//     older release knew is accepted; names crypto/tls does not implement
//     (DHE, CAMELLIA, CCM ...) select nothing.
//   - Order does not matter: crypto/tls picks suites in its own order of
//     preference whatever order it is given (Go 1.17 and later), so the
//     result is a set, listed in that order. '+' and @STRENGTH are
//     accepted and change nothing.
//   - A string selecting no suite crypto/tls implements is refused.

// Cipher attributes, spelled as openssl ciphers -v prints them.
const (
	encAES      = "AES"
	encAESGCM   = "AESGCM"
	encCHACHA20 = "CHACHA20/POLY1305"
	enc3DES     = "3DES"
	macAEAD     = "AEAD"
	macSHA1     = "SHA1"
	macSHA256   = "SHA256"
)

// CipherSuite is one suite as OpenSSL describes it.
type CipherSuite struct {
	ID       uint16 // crypto/tls's identifier
	Name     string // OpenSSL's name
	Protocol string // the oldest protocol it runs on: SSLv3, TLSv1, TLSv1.2, TLSv1.3
	Kx, Au   string // key exchange and authentication: RSA, ECDH / RSA, ECDSA
	Enc      string // AES, AESGCM, CHACHA20/POLY1305, 3DES
	Bits     int    // key size (3DES: its strength, 112)
	Mac      string // SHA1, SHA256, AEAD
}

func ecdhe(id uint16, name, au, enc string, bits int, mac string) CipherSuite {
	proto := "TLSv1"
	if mac != macSHA1 {
		proto = "TLSv1.2"
	}
	return CipherSuite{ID: id, Name: name, Protocol: proto, Kx: "ECDH", Au: au, Enc: enc, Bits: bits, Mac: mac}
}

func rsaKx(id uint16, name, enc string, bits int, mac string) CipherSuite {
	proto := "SSLv3"
	if mac != macSHA1 {
		proto = "TLSv1.2"
	}
	return CipherSuite{ID: id, Name: name, Protocol: proto, Kx: "RSA", Au: "RSA", Enc: enc, Bits: bits, Mac: mac}
}

// Describe is the suite's line in openssl ciphers -v.
func (c CipherSuite) Describe() string {
	enc := fmt.Sprintf("%s(%d)", c.Enc, c.Bits)
	if c.Enc == enc3DES {
		enc = "3DES(168)"
	}
	return fmt.Sprintf("%-30s %-7s Kx=%-8s Au=%-5s Enc=%-22s Mac=%s", c.Name, c.Protocol, c.Kx, c.Au, enc, c.Mac)
}

// MinVersion is the oldest TLS version that can negotiate the suite.
func (c CipherSuite) MinVersion() uint16 {
	switch c.Protocol {
	case "TLSv1.3":
		return tls.VersionTLS13
	case "TLSv1.2":
		return tls.VersionTLS12
	}
	return tls.VersionTLS10
}

// TLS13Suites are the TLS v1.3 suites, always enabled with TLS v1.3.
func TLS13Suites() []CipherSuite { return append([]CipherSuite(nil), tls13Suites...) }

// cipherKeywords maps each OpenSSL keyword to the suites it matches.
// Keywords for algorithms crypto/tls lacks match nothing.
var cipherKeywords = map[string]func(CipherSuite) bool{
	"ALL":                 func(CipherSuite) bool { return true },
	"COMPLEMENTOFALL":     none,
	"COMPLEMENTOFDEFAULT": func(c CipherSuite) bool { return c.Enc == enc3DES },
	"HIGH":                func(c CipherSuite) bool { return c.Enc != enc3DES },
	"MEDIUM":              func(c CipherSuite) bool { return c.Enc == enc3DES },
	"kRSA":                kx("RSA"), "RSA": kx("RSA"), "aRSA": au("RSA"),
	"kECDHE": kx("ECDH"), "kEECDH": kx("ECDH"), "ECDH": kx("ECDH"), "ECDHE": kx("ECDH"), "EECDH": kx("ECDH"),
	"aECDSA": au("ECDSA"), "ECDSA": au("ECDSA"),
	"SSLv3": proto("SSLv3"), "TLSv1": proto("TLSv1"), "TLSv1.0": proto("TLSv1"), "TLSv1.2": proto("TLSv1.2"),
	"AES":      func(c CipherSuite) bool { return c.Enc == encAES || c.Enc == encAESGCM },
	"AES128":   func(c CipherSuite) bool { return (c.Enc == encAES || c.Enc == encAESGCM) && c.Bits == 128 },
	"AES256":   func(c CipherSuite) bool { return (c.Enc == encAES || c.Enc == encAESGCM) && c.Bits == 256 },
	"AESGCM":   func(c CipherSuite) bool { return c.Enc == encAESGCM },
	"CHACHA20": func(c CipherSuite) bool { return c.Enc == encCHACHA20 },
	"3DES":     func(c CipherSuite) bool { return c.Enc == enc3DES },
	"CBC":      func(c CipherSuite) bool { return c.Enc == encAES || c.Enc == enc3DES },
	"SHA1":     mac(macSHA1), "SHA": mac(macSHA1), "SHA256": mac(macSHA256), "SHA384": none,
}

// absentKeywords are OpenSSL keywords for what crypto/tls does not have
// (and historical ones, such as SSLv2 and EXPORT in AsyncOS's own default
// string): they match nothing.
var absentKeywords = []string{
	"LOW", "EXP", "EXPORT", "EXPORT40", "EXPORT56", "SSLv2", "TLSv1.1", "TLSv1.3",
	"eNULL", "NULL", "aNULL", "ADH", "AECDH", "aDH", "kDHr", "kDHd", "kDH", "kDHE", "kEDH", "DH", "DHE", "EDH",
	"aDSS", "DSS", "AESCCM", "AESCCM8", "ARIA", "ARIA128", "ARIA256", "ARIAGCM",
	"CAMELLIA", "CAMELLIA128", "CAMELLIA256", "DES", "RC4", "RC2", "IDEA", "SEED", "MD5",
	"aGOST", "aGOST01", "aGOST12", "kGOST", "kGOST18", "GOST94", "GOST89MAC", "GOST2012", "GOST89",
	"PSK", "kPSK", "kECDHEPSK", "kDHEPSK", "kRSAPSK", "aPSK", "SRP", "kSRP", "aSRP",
	"kECDHr", "kECDHe", "kECDH", "aECDH",
}

func none(CipherSuite) bool { return false }

func kx(k string) func(CipherSuite) bool { return func(c CipherSuite) bool { return c.Kx == k } }
func au(a string) func(CipherSuite) bool { return func(c CipherSuite) bool { return c.Au == a } }
func proto(p string) func(CipherSuite) bool {
	return func(c CipherSuite) bool { return c.Protocol == p }
}
func mac(m string) func(CipherSuite) bool      { return func(c CipherSuite) bool { return c.Mac == m } }
func suiteID(id uint16) func(CipherSuite) bool { return func(c CipherSuite) bool { return c.ID == id } }

// CipherListError is a cipher string that cannot be used, and why.
type CipherListError struct{ Msg string }

func (e *CipherListError) Error() string { return e.Msg }

// CipherListAccepted says what a cipher string may hold; validation
// messages end with it.
const CipherListAccepted = "an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20 or HIGH:!aNULL:!kRSA" +
	" (cipher names like ECDHE-RSA-AES128-GCM-SHA256, keywords like HIGH, MEDIUM, kRSA, ECDHE, AESGCM, SHA1," +
	" joined by '+', prefixed by '!', '-' or '+', separated by ':') that selects at least one suite sslconfig VERIFY lists"

// ParseCipherList returns the TLS 1.2 suites a cipher string selects, in
// crypto/tls's order of preference. An empty result is an error.
func ParseCipherList(s string) ([]CipherSuite, error) {
	elems := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ';' || r == ' ' || r == '\t' })
	if len(elems) == 0 {
		return nil, &CipherListError{"the cipher string is empty"}
	}
	active := map[uint16]bool{}
	killed := map[uint16]bool{}
	seclevel := 0
	for i, el := range elems {
		if el == "DEFAULT" {
			if i != 0 {
				return nil, &CipherListError{"DEFAULT may only open the cipher string"}
			}
			for _, c := range goSuites {
				if !cipherKeywords["COMPLEMENTOFDEFAULT"](c) {
					active[c.ID] = true
				}
			}
			continue
		}
		if strings.HasPrefix(el, "@") {
			n, err := special(el)
			if err != nil {
				return nil, err
			}
			if n >= 0 {
				seclevel = n
			}
			continue
		}
		op := byte(0)
		if strings.ContainsRune("-!+", rune(el[0])) {
			op, el = el[0], el[1:]
		}
		match, err := cipherRule(el)
		if err != nil {
			return nil, err
		}
		for _, c := range goSuites {
			if !match(c) {
				continue
			}
			switch op {
			case 0:
				if !killed[c.ID] {
					active[c.ID] = true
				}
			case '-':
				delete(active, c.ID)
			case '!':
				delete(active, c.ID)
				killed[c.ID] = true
			}
		}
	}
	var out []CipherSuite
	for _, c := range goSuites {
		if active[c.ID] && secure(c, seclevel) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, &CipherListError{fmt.Sprintf("%q selects no cipher suite this appliance supports", s)}
	}
	return out, nil
}

// special handles @STRENGTH (order only: nothing to do) and @SECLEVEL=n,
// returning the level or -1.
func special(el string) (int, error) {
	switch {
	case el == "@STRENGTH":
		return -1, nil
	case strings.HasPrefix(el, "@SECLEVEL="):
		n, err := strconv.Atoi(strings.TrimPrefix(el, "@SECLEVEL="))
		if err != nil || n < 0 || n > 5 {
			return 0, &CipherListError{fmt.Sprintf("%q: the security level must be a number from 0 to 5", el)}
		}
		return n, nil
	}
	return 0, &CipherListError{fmt.Sprintf("unknown command %q (accepted: @STRENGTH, @SECLEVEL=n)", el)}
}

// secure applies OpenSSL's security level to a suite: level 2 needs 112
// bits, level 3 128 bits and forward secrecy, 4 192 bits and no SHA-1
// MAC, 5 256 bits.
func secure(c CipherSuite, level int) bool {
	minBits := [...]int{0, 80, 112, 128, 192, 256}[level]
	if c.Bits < minBits {
		return false
	}
	return (level < 3 || c.Kx != "RSA") && (level < 4 || c.Mac != macSHA1)
}

// cipherRule is one element without its prefix: names and keywords
// joined by '+', all of which a suite must match.
func cipherRule(el string) (func(CipherSuite) bool, error) {
	if el == "" {
		return nil, &CipherListError{"a '!', '-' or '+' must be followed by a cipher name or keyword"}
	}
	var preds []func(CipherSuite) bool
	for _, w := range strings.Split(el, "+") {
		p, err := cipherWord(w, el)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(c CipherSuite) bool {
		for _, p := range preds {
			if !p(c) {
				return false
			}
		}
		return true
	}, nil
}

func cipherWord(w, el string) (func(CipherSuite) bool, error) {
	if w == "" {
		return nil, &CipherListError{fmt.Sprintf("%q: '+' must join two cipher names or keywords", el)}
	}
	if p, ok := cipherKeywords[w]; ok {
		return p, nil
	}
	for _, k := range absentKeywords {
		if k == w {
			return none, nil
		}
	}
	for _, c := range goSuites {
		if c.Name == w {
			return suiteID(c.ID), nil
		}
	}
	if otherSuites[w] {
		return none, nil
	}
	if i := strings.IndexAny(w, "!@"); i >= 0 {
		return nil, &CipherListError{fmt.Sprintf("%q: %q may only begin an element; separate elements with ':'", el, w[i:i+1])}
	}
	if k := foldKeyword(w); k != "" {
		return nil, &CipherListError{fmt.Sprintf("unknown cipher or keyword %q (names and keywords are case-sensitive: %s)", w, k)}
	}
	return nil, &CipherListError{fmt.Sprintf("unknown cipher or keyword %q", w)}
}

// foldKeyword finds the keyword or name w would be in the right case.
func foldKeyword(w string) string {
	for k := range cipherKeywords {
		if strings.EqualFold(k, w) {
			return k
		}
	}
	for _, k := range absentKeywords {
		if strings.EqualFold(k, w) {
			return k
		}
	}
	for _, c := range goSuites {
		if strings.EqualFold(c.Name, w) {
			return c.Name
		}
	}
	return ""
}

// CipherSuiteName is OpenSSL's name of a suite crypto/tls negotiated
// (TLS 1.3 suites have one name everywhere), or crypto/tls's name for one
// the tables do not hold.
func CipherSuiteName(id uint16) string {
	for _, list := range [][]CipherSuite{goSuites, tls13Suites} {
		for _, c := range list {
			if c.ID == id {
				return c.Name
			}
		}
	}
	return tls.CipherSuiteName(id)
}

// CipherSuiteIDs lists the identifiers of suites, for tls.Config.
func CipherSuiteIDs(cs []CipherSuite) []uint16 {
	out := make([]uint16, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
