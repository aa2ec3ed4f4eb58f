package shell

import (
	"fmt"
	"strings"
)

// Menu keywords are matched as AsyncOS administrators type them: whatever
// the case, and by a unique prefix ("cert" for CERTIFICATE when no other
// operation starts so). The reference leaves prefixes unconfirmed ([U],
// asyncos-cli.md §1.1); issue 14 asks for them, and an exact keyword
// always wins over a prefix, so no script that types whole keywords
// changes meaning. An ambiguous prefix names the candidates.

// matchOperation finds the operation ans names: "" or the message saying
// why none is chosen.
func matchOperation(items []MenuItem, ans string) (MenuItem, string) {
	for _, it := range items {
		if strings.EqualFold(it.Name, ans) {
			return it, ""
		}
	}
	var found []MenuItem
	for _, it := range items {
		if !it.Hidden && len(ans) < len(it.Name) && strings.EqualFold(it.Name[:len(ans)], ans) {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 1:
		return found[0], ""
	case 0:
		return MenuItem{}, fmt.Sprintf("Unknown option %q: the value must be one of the operations listed.", ans)
	}
	names := make([]string, len(found))
	for i, it := range found {
		names[i] = it.Name
	}
	return MenuItem{}, fmt.Sprintf("Ambiguous option %q: it begins %s; type more of the operation's name.", ans, strings.Join(names, ", "))
}
