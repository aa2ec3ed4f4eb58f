package pki

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

func TestBuildChain(t *testing.T) {
	root := issue(t, nil, certOpts{cn: "Test Root", isCA: true})
	inter := issue(t, root, certOpts{cn: "Test Intermediate", isCA: true})
	leaf := issue(t, inter, certOpts{cn: "mail.example.com", dnsNames: []string{"mail.example.com"}})
	otherRoot := issue(t, nil, certOpts{cn: "Other Root", isCA: true})
	otherInter := issue(t, otherRoot, certOpts{cn: "Other Intermediate", isCA: true})
	expiredLeaf := issue(t, inter, certOpts{cn: "old.example.com", notBefore: testNow.AddDate(-2, 0, 0), notAfter: testNow.AddDate(0, 0, -1)})
	futureLeaf := issue(t, inter, certOpts{cn: "new.example.com", notBefore: testNow.AddDate(0, 0, 1)})
	expiredInter := issue(t, root, certOpts{cn: "Expired Intermediate", isCA: true, notBefore: testNow.AddDate(-2, 0, 0), notAfter: testNow.AddDate(0, -1, 0)})
	leafOfExpired := issue(t, expiredInter, certOpts{cn: "x.example.com", notBefore: testNow.AddDate(-1, -6, 0)})
	selfSigned, err := SelfSigned(leaf.key, Subject{CommonName: "gw.example.com"}, 30, testNow)
	if err != nil {
		t.Fatal(err)
	}

	pool := func(cs ...*x509.Certificate) *x509.CertPool {
		p := x509.NewCertPool()
		for _, c := range cs {
			p.AddCert(c)
		}
		return p
	}
	certs := func(cs ...*testCert) []*x509.Certificate {
		var out []*x509.Certificate
		for _, c := range cs {
			out = append(out, c.cert)
		}
		return out
	}

	tests := []struct {
		name           string
		leaf           *x509.Certificate
		intermediates  []*x509.Certificate
		roots          *x509.CertPool
		wantPath       []*x509.Certificate
		wantTrusted    bool
		wantSelfSigned bool
		wantDups       []*x509.Certificate
		wantUnrelated  []*x509.Certificate
		wantErr        error
		errText        string
	}{
		{name: "good chain", leaf: leaf.cert, intermediates: certs(inter), roots: pool(root.cert),
			wantPath: certs(leaf, inter, root), wantTrusted: true},
		{name: "root included and order reversed", leaf: leaf.cert, intermediates: certs(root, inter), roots: pool(root.cert),
			wantPath: certs(leaf, inter, root), wantTrusted: true},
		{name: "duplicate intermediate", leaf: leaf.cert, intermediates: certs(inter, inter, inter), roots: pool(root.cert),
			wantPath: certs(leaf, inter, root), wantTrusted: true, wantDups: certs(inter, inter)},
		{name: "leaf repeated in bundle", leaf: leaf.cert, intermediates: certs(leaf, inter), roots: pool(root.cert),
			wantPath: certs(leaf, inter, root), wantTrusted: true, wantDups: certs(leaf)},
		{name: "unrelated intermediate", leaf: leaf.cert, intermediates: certs(otherInter, inter), roots: pool(root.cert, otherRoot.cert),
			wantPath: certs(leaf, inter, root), wantTrusted: true, wantUnrelated: certs(otherInter)},
		{name: "missing intermediate", leaf: leaf.cert, roots: pool(root.cert),
			wantPath: certs(leaf), wantErr: ErrUntrusted, errText: "unable to get local issuer certificate: issuer"},
		{name: "missing intermediate with unrelated one", leaf: leaf.cert, intermediates: certs(otherInter), roots: pool(root.cert),
			wantPath: certs(leaf), wantUnrelated: certs(otherInter), wantErr: ErrUntrusted},
		{name: "untrusted root", leaf: leaf.cert, intermediates: certs(inter), roots: pool(otherRoot.cert),
			wantPath: certs(leaf, inter), wantErr: ErrUntrusted},
		{name: "untrusted root supplied", leaf: leaf.cert, intermediates: certs(inter, root), roots: pool(otherRoot.cert),
			wantPath: certs(leaf, inter, root), wantErr: ErrUntrusted, errText: "self-signed"},
		{name: "empty root pool", leaf: leaf.cert, intermediates: certs(inter), roots: x509.NewCertPool(),
			wantPath: certs(leaf, inter), wantErr: ErrUntrusted},
		{name: "expired leaf", leaf: expiredLeaf.cert, intermediates: certs(inter), roots: pool(root.cert),
			wantPath: certs(expiredLeaf, inter, root), wantTrusted: true, wantErr: ErrExpired, errText: "old.example.com"},
		{name: "not yet valid leaf", leaf: futureLeaf.cert, intermediates: certs(inter), roots: pool(root.cert),
			wantPath: certs(futureLeaf, inter, root), wantTrusted: true, wantErr: ErrNotYetValid},
		{name: "expired intermediate", leaf: leafOfExpired.cert, intermediates: certs(expiredInter), roots: pool(root.cert),
			wantPath: certs(leafOfExpired, expiredInter), wantErr: ErrExpired, errText: "Expired Intermediate"},
		{name: "self-signed leaf", leaf: selfSigned, intermediates: certs(inter), roots: pool(root.cert),
			wantPath: []*x509.Certificate{selfSigned}, wantSelfSigned: true, wantUnrelated: certs(inter)},
		{name: "self-signed leaf trusted", leaf: selfSigned, roots: pool(selfSigned),
			wantPath: []*x509.Certificate{selfSigned}, wantSelfSigned: true, wantTrusted: true},
		{name: "nil leaf", wantErr: ErrNoCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := BuildChain(tc.leaf, tc.intermediates, tc.roots, testNow)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errText)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.leaf == nil {
				return
			}
			checkCerts(t, "Path", r.Path, tc.wantPath)
			checkCerts(t, "Duplicates", r.Duplicates, tc.wantDups)
			checkCerts(t, "Unrelated", r.Unrelated, tc.wantUnrelated)
			if r.Trusted != tc.wantTrusted {
				t.Errorf("Trusted = %v, want %v", r.Trusted, tc.wantTrusted)
			}
			if r.SelfSigned != tc.wantSelfSigned {
				t.Errorf("SelfSigned = %v, want %v", r.SelfSigned, tc.wantSelfSigned)
			}
		})
	}

	t.Run("intermediates to serve", func(t *testing.T) {
		r, err := BuildChain(leaf.cert, certs(root, inter, inter), pool(root.cert), testNow)
		if err != nil {
			t.Fatal(err)
		}
		checkCerts(t, "Intermediates()", r.Intermediates(), certs(inter))
	})
}

func checkCerts(t *testing.T, what string, got, want []*x509.Certificate) {
	t.Helper()
	names := func(cs []*x509.Certificate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Equal(want[i])
	}
	if !ok {
		t.Errorf("%s = %q, want %q", what, names(got), names(want))
	}
}
