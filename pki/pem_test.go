package pki

import (
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseCertificates(t *testing.T) {
	root := issue(t, nil, certOpts{cn: "Test Root", isCA: true})
	leaf := issue(t, root, certOpts{cn: "mail.example.com"})
	keyPEM, err := EncodePrivateKeyPEM(leaf.key)
	if err != nil {
		t.Fatal(err)
	}
	one := string(EncodeCertificatePEM(leaf.cert))
	two := string(EncodeCertificatePEM(leaf.cert, root.cert))
	indent := func(s, by string) string {
		return by + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+by) + "\n"
	}
	// corrupt damages the base64 of the second certificate only.
	corrupt := one + strings.Replace(string(EncodeCertificatePEM(root.cert)), "MII", "M!I", 1)
	truncated := one + string(EncodeCertificatePEM(root.cert))[:200]

	tests := []struct {
		name    string
		in      string
		want    int
		wantErr error
		errText string
	}{
		{name: "single", in: one, want: 1},
		{name: "bundle", in: two, want: 2},
		{name: "crlf", in: strings.ReplaceAll(two, "\n", "\r\n"), want: 2},
		{name: "old mac cr", in: strings.ReplaceAll(two, "\n", "\r"), want: 2},
		{name: "blank lines between", in: "\n\n" + one + "\n\n\n" + string(EncodeCertificatePEM(root.cert)) + "\n\n", want: 2},
		{name: "indented paste", in: indent(two, "    "), want: 2},
		{name: "trailing blanks", in: strings.ReplaceAll(two, "\n", " \t\n"), want: 2},
		{name: "byte order mark", in: "\xef\xbb\xbf" + two, want: 2},
		{name: "openssl text around", in: "subject=CN = mail.example.com\nissuer=CN = Test Root\n" + one +
			"Bag Attributes\n    localKeyID: 01 02\n" + string(EncodeCertificatePEM(root.cert)) + "-- end of bundle --\n", want: 2},
		{name: "key in same file", in: string(keyPEM) + two, want: 2},
		{name: "der", in: string(leaf.cert.Raw), want: 1},
		{name: "empty", in: "", wantErr: ErrNoCertificate},
		{name: "only a key", in: string(keyPEM), wantErr: ErrNoCertificate},
		{name: "prose", in: "please find the certificate attached", wantErr: ErrNoCertificate},
		{name: "bad base64 in block 2", in: corrupt, wantErr: ErrMalformedPEM, errText: "PEM block 2"},
		{name: "truncated block 2", in: truncated, wantErr: ErrMalformedPEM, errText: "PEM block 2"},
		{name: "missing END before next BEGIN", in: strings.Replace(two, "-----END CERTIFICATE-----\n", "", 1),
			wantErr: ErrMalformedPEM, errText: "PEM block 1"},
		{name: "garbage DER in block 2", in: one + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}})),
			wantErr: ErrMalformedCertificate, errText: "PEM block 2 (line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseCertificates([]byte(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tc.want {
				t.Fatalf("got %d certificates, want %d", len(certs), tc.want)
			}
			if !certs[0].Equal(leaf.cert) {
				t.Error("first certificate is not the leaf")
			}
		})
	}
}
