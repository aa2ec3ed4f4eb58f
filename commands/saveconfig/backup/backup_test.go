package backup

import (
	"testing"

	"esash/config"
)

func TestFromArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want config.SecretMode
	}{
		{[]string{"1"}, config.MaskSecrets},
		{[]string{"2"}, config.EncryptSecrets},
		{[]string{"3"}, config.PlainSecrets},
		{[]string{"y"}, config.MaskSecrets},
		{[]string{"Yes"}, config.MaskSecrets},
		{[]string{"n"}, config.PlainSecrets},
		{[]string{"y", "1"}, config.MaskSecrets},
		{[]string{"n", "2"}, config.EncryptSecrets},
		{[]string{"n", "3"}, config.PlainSecrets},
		{[]string{"y", "3"}, ""},
		{[]string{"n", "1"}, ""},
		{[]string{"1", "1"}, ""},
		{[]string{"4"}, ""},
		{[]string{"mask"}, ""},
		{[]string{"y", "1", "x"}, ""},
	} {
		got, msg := fromArgs(tc.args)
		if got != tc.want || (msg == "") != (tc.want != "") {
			t.Errorf("fromArgs(%q) = %q, %q; want %q", tc.args, got, msg, tc.want)
		}
	}
}
