package certconfig

import (
	"fmt"
	"strings"

	"esash/pki"
	"esash/shell"
)

// maxColumn bounds a text column of the list; longer values are cut.
const maxColumn = 40

func cut(v string) string {
	if len(v) <= maxColumn {
		return v
	}
	return v[:maxColumn-3] + "..."
}

// printList shows the profiles before the CERTIFICATE menu: name, common
// name, issuer, status and days left. Profiles whose key is not committed
// yet are marked, since their key is lost if the change is cleared.
func printList(s *shell.Session) {
	cfg := s.Draft.Config()
	if len(cfg.Certificates) == 0 {
		s.Println("No certificate profiles are configured.")
		s.Println()
		return
	}
	rows := [][]string{{"Name", "Common Name", "Issued By", "Status", "Remaining"}}
	staged := false
	now := s.Now()
	for _, p := range cfg.Certificates {
		n := p.Name
		if !committed(s, p) {
			n += "*"
			staged = true
		}
		leaf, err := leafOf(p)
		if err != nil {
			rows = append(rows, []string{n, "-", "-", "Invalid", "-"})
			continue
		}
		info := pki.Info(leaf)
		left := plural(info.DaysLeft(now), "day")
		if info.Status(now) == pki.StatusExpired {
			left = "-"
		}
		rows = append(rows, []string{n, cut(info.CommonName), cut(info.Issuer), info.Status(now), left})
	}
	s.Println("List of Certificates")
	writeTable(s, rows)
	if staged {
		s.Println("* not committed yet: the private key exists only once you commit.")
	}
	s.Println()
}

// writeTable prints rows in columns, the first row as the header
// underlined with dashes.
func writeTable(s *shell.Session, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			}
		}
		s.Println(strings.TrimRight(b.String(), " "))
	}
	line(rows[0])
	dashes := make([]string, len(widths))
	for i, w := range widths {
		dashes[i] = strings.Repeat("-", w)
	}
	line(dashes)
	for _, r := range rows[1:] {
		line(r)
	}
}
