package config

import "testing"

func TestParseExportArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want SecretMode
	}{
		{[]string{"1"}, MaskSecrets},
		{[]string{"2"}, EncryptSecrets},
		{[]string{"3"}, PlainSecrets},
		{[]string{"y"}, MaskSecrets},
		{[]string{"Yes"}, MaskSecrets},
		{[]string{"n"}, PlainSecrets},
		{[]string{"y", "1"}, MaskSecrets},
		{[]string{"n", "2"}, EncryptSecrets},
		{[]string{"n", "3"}, PlainSecrets},
		{[]string{"y", "3"}, ""},
		{[]string{"n", "1"}, ""},
		{[]string{"1", "1"}, ""},
		{[]string{"4"}, ""},
		{[]string{"mask"}, ""},
		{[]string{"y", "1", "x"}, ""},
		{nil, ""},
	} {
		got, msg := ParseExportArgs(tc.args)
		if got != tc.want || (msg == "") != (tc.want != "") {
			t.Errorf("ParseExportArgs(%q) = %q, %q; want %q", tc.args, got, msg, tc.want)
		}
	}
}
