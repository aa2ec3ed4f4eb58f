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
//
// A prefix takes at least two characters and is never a yes/no answer
// (y, ye, yes, n, no): a script whose dialog lost or gained a question
// sends such an answer to a menu, and it must be refused there, not run
// an operation (review of issue 14: a stray "N" ran certconfig NEW).

// matchOperation finds the operation ans names: "" or the message saying
// why none is chosen.
func matchOperation(items []MenuItem, ans string) (MenuItem, string) {
	for _, it := range items {
		if strings.EqualFold(it.Name, ans) {
			return it, ""
		}
	}
	if isYesNo(ans) {
		return MenuItem{}, fmt.Sprintf("Unknown option %q: the value must be one of the operations listed.", ans)
	}
	var found []MenuItem
	for _, it := range items {
		if !it.Hidden && len(ans) < len(it.Name) && strings.EqualFold(it.Name[:len(ans)], ans) {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 1:
		if len(ans) < 2 {
			return MenuItem{}, fmt.Sprintf("Unknown option %q: type at least two characters of the operation's name.", ans)
		}
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

// isYesNo says whether ans is an answer to a yes/no question, which
// never selects an operation by prefix.
func isYesNo(ans string) bool {
	switch strings.ToLower(ans) {
	case "y", "ye", "yes", "n", "no":
		return true
	}
	return false
}
