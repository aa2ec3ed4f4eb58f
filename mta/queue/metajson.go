package queue

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendMeta appends m's JSON, byte for byte what json.Marshal(m) makes
// (TestAppendMetaMatchesJSON), without reflection: encoding/json cost
// about a tenth of the server's CPU for a 4 KiB message (its per-field
// reflection, the time's MarshalJSON, the copies), and every received
// message is encoded once. Strings with bytes outside ASCII, and times
// json would refuse, go through encoding/json itself, so its escaping
// rules (invalid UTF-8, U+2028) stay its own.
func appendMeta(b []byte, m *Meta) ([]byte, error) {
	b = append(b, `{"mid":`...)
	b = strconv.AppendInt(b, m.MID, 10)
	b = append(b, `,"icid":`...)
	b = strconv.AppendInt(b, m.ICID, 10)
	b = appendField(b, "listener", m.Listener)
	b = appendField(b, "interface", m.Interface)
	b = appendField(b, "remote_ip", m.RemoteIP)
	if m.RemoteHost != "" {
		b = appendField(b, "remote_host", m.RemoteHost)
	}
	b = appendField(b, "helo", m.HELO)
	b = appendField(b, "from", m.From)
	b = append(b, `,"to":`...)
	if m.To == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range m.To {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if t := m.TLS; t != nil {
		b = append(b, `,"tls":{"version":`...)
		b = appendString(b, t.Version)
		b = appendField(b, "cipher", t.Cipher)
		if t.ServerName != "" {
			b = appendField(b, "sni", t.ServerName)
		}
		if t.PeerCert != "" {
			b = appendField(b, "peer_cn", t.PeerCert)
		}
		b = append(b, '}')
	}
	if m.Relay {
		b = append(b, `,"relay":true`...)
	}
	var err error
	b = append(b, `,"time":`...)
	if b, err = appendTime(b, m.Time); err != nil {
		return nil, err
	}
	if m.Received != "" {
		b = appendField(b, "received", m.Received)
	}
	if m.RecvLen != 0 {
		b = append(b, `,"recv_len":`...)
		b = strconv.AppendInt(b, int64(m.RecvLen), 10)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, m.Size, 10)
	if len(m.RIDs) > 0 {
		b = append(b, `,"rids":[`...)
		for i, r := range m.RIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(r), 10)
		}
		b = append(b, ']')
	}
	if m.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(m.Attempts), 10)
	}
	if !m.NextTry.IsZero() {
		b = append(b, `,"next_try":`...)
		if b, err = appendTime(b, m.NextTry); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds), leaving the years it refuses to it.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		raw, err := json.Marshal(t)
		return append(b, raw...), err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendString appends s as a JSON string with encoding/json's escapes:
// the short forms of \b \f \n \r \t, \u00XX for the other control
// characters, and <, > and & as \u003c, \u003e, \u0026 (its HTML-safe
// default).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendRemoveMeta appends the meta of a removal record, what
// json.Marshal(recordMeta{MID: mid}) makes.
func appendRemoveMeta(b []byte, mid int64) []byte {
	b = append(b, `{"mid":`...)
	b = strconv.AppendInt(b, mid, 10)
	return append(b, '}')
}
