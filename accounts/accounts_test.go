package accounts

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"esash/config"
)

func TestPasswords(t *testing.T) {
	for pw, want := range map[string]string{
		"short":                   "at least 8",
		"alice":                   "at least 8",
		"AliceAlice":              "",
		"correct horse":           "",
		" padded-pw":              "begin or end with a space",
		strings.Repeat("x", 73):   "at most 72 bytes",
		strings.Repeat("é", 37):   "at most 72 bytes",
		"aliceali":                "",
		"ALICEXYZ":                "",
		"alicealice-but-not-name": "",
	} {
		got := CheckNewPassword("alice", pw)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("CheckNewPassword(%q) = %q, want %q", pw, got, want)
		}
	}
	if CheckNewPassword("longusername", "LongUserName") == "" {
		t.Error("a password equal to the user name was accepted")
	}
	// Stored hashes use the production cost (slow under -race: once).
	h, err := HashPassword("correct horse")
	if err != nil || !strings.HasPrefix(h, "$2a$10$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	cheap, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if !CheckPassword(string(cheap), "correct horse") || CheckPassword(string(cheap), "wrong horse") {
		t.Error("CheckPassword")
	}
}

func TestParseUserKey(t *testing.T) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	stored, fp, msg := ParseUserKey("  " + ed + "  admin@laptop  ")
	if msg != "" || stored != ed+" admin@laptop" || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("%q %q %q", stored, fp, msg)
	}
	if KeyFingerprint(stored) != fp {
		t.Error("KeyFingerprint differs")
	}
	for in, want := range map[string]string{
		"":                                   "You must enter",
		"not a key":                          "OpenSSH format",
		`command="ls" ` + ed:                 "without authorized_keys options",
		ed + " c\n" + ed:                     "single public key",
		"ssh-dss AAAAB3NzaC1kc3MAAACBAP0000": "OpenSSH format",
	} {
		if _, _, msg := ParseUserKey(in); !strings.Contains(msg, want) {
			t.Errorf("ParseUserKey(%q) = %q, want %q", in, msg, want)
		}
	}
}

// FuzzParseUserKey: whatever an administrator pastes, a key is either
// refused with a message or stored in a form that parses back to the same
// fingerprint, on one line.
func FuzzParseUserKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@laptop")
	f.Add("")
	f.Add("ssh-rsa AAAA")
	f.Fuzz(func(t *testing.T, in string) {
		stored, fp, msg := ParseUserKey(in)
		if msg != "" {
			if stored != "" || fp != "" {
				t.Fatalf("refused %q but returned %q %q", in, stored, fp)
			}
			return
		}
		if strings.ContainsAny(stored, "\r\n") || KeyFingerprint(stored) != fp || fp == "" {
			t.Fatalf("%q stored as %q (%s), which parses to %s", in, stored, fp, KeyFingerprint(stored))
		}
		if again, fp2, msg2 := ParseUserKey(stored); msg2 != "" || again != stored || fp2 != fp {
			t.Fatalf("stored form %q does not parse to itself: %q %q %q", stored, again, fp2, msg2)
		}
	})
}

func TestAuthorizedKey(t *testing.T) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFMx47Ue/j2B6d/msep5hEMl/kjlweBxrhZFcu5Hhws1"
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ed))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys []string
		want bool
	}{
		{"the user's key", []string{"not a key", ed + " laptop"}, true},
		{"another key", []string{other}, false},
		{"no keys", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &config.User{Name: "alice", SSHKeys: tc.keys}
			fp, ok := AuthorizedKey(u, pk)
			if ok != tc.want || ok && fp != ssh.FingerprintSHA256(pk) {
				t.Errorf("AuthorizedKey = %q, %v; want %v", fp, ok, tc.want)
			}
			if HasKey(u, ssh.FingerprintSHA256(pk)) != tc.want {
				t.Errorf("HasKey = %v, want %v", !tc.want, tc.want)
			}
		})
	}
}

func TestUsersAndRoles(t *testing.T) {
	c := &config.Config{Users: []config.User{{Name: "admin", Role: config.RoleAdmin}, {Name: "ro", Role: config.RoleReadOnly}}}
	if FindUser(c, "ro") != &c.Users[1] || FindUser(c, "nobody") != nil {
		t.Error("FindUser")
	}
	if HasAdminCredential(c) {
		t.Error("an admin without password or key counts as a credential")
	}
	c.Users[1].PasswordHash = "x"
	if HasAdminCredential(c) {
		t.Error("a read-only operator's password opens the first start")
	}
	c.Users[0].SSHKeys = []string{"k"}
	if !HasAdminCredential(c) {
		t.Error("the admin's key is not a credential")
	}
	for _, r := range Roles() {
		if !ValidRole(r) || RoleName(r) == string(r) || RoleHelp(r) == "" {
			t.Errorf("role %q: valid %v, name %q, help %q", r, ValidRole(r), RoleName(r), RoleHelp(r))
		}
	}
	if ValidRole("superuser") || ValidRole("") {
		t.Error("an unknown role is valid")
	}
}
