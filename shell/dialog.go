package shell

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	prompt "github.com/c-bata/go-prompt"
)

// The dialog rules of AsyncOS live here, once: the question on its own
// line, the answer prompt "[default]> ", a blank answer taking the
// default, invalid answers asked again on a terminal and ending a script.

// read asks at prompt p and maps input errors to the session's rules.
func (s *Session) read(p string) (string, error) {
	line, err := s.In.ReadLine(p)
	switch {
	case errors.Is(err, io.EOF):
		return "", &InputError{Line: s.In.Line(), Msg: ErrEOF.Error()}
	case err != nil:
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// invalid reports a rejected answer: on a terminal it is shown and the
// question asked again (nil), in a script it ends the session.
func (s *Session) invalid(msg string) error {
	if s.In.Interactive() {
		s.Println(msg)
		return nil
	}
	s.Println(msg)
	return &InputError{Line: s.In.Line(), Msg: msg}
}

// Ask asks a free-text question. check (optional) returns "" for a valid
// answer or the message to show. A blank answer takes def; when def is ""
// a blank answer is ErrBack unless optional is set.
func (s *Session) Ask(question, def string, check func(string) string) (string, error) {
	return s.ask(question, def, false, check)
}

// AskOptional is Ask where a blank answer with no default is the empty value.
func (s *Session) AskOptional(question, def string, check func(string) string) (string, error) {
	return s.ask(question, def, true, check)
}

func (s *Session) ask(question, def string, optional bool, check func(string) string) (string, error) {
	for {
		if question != "" {
			s.Println(question)
		}
		ans, err := s.read("[" + def + "]> ")
		if err != nil {
			return "", err
		}
		if ans == "" {
			if def == "" && !optional {
				return "", ErrBack
			}
			ans = def
		}
		if check != nil {
			if msg := check(ans); msg != "" {
				if err := s.invalid(msg); err != nil {
					return "", err
				}
				continue
			}
		}
		return ans, nil
	}
}

// AskConfigFile asks for the name of a file in the configuration
// directory (IMPORT, EXPORT), refusing names ConfigFile does not accept.
func (s *Session) AskConfigFile(question, def string) (string, error) {
	return s.Ask(question, def, func(a string) string {
		_, msg := s.ConfigFile(a)
		return msg
	})
}

// YesNo asks a yes/no question: "question? [Y]> ".
func (s *Session) YesNo(question string, def bool) (bool, error) {
	d := "N"
	if def {
		d = "Y"
	}
	for {
		ans, err := s.read(question + " [" + d + "]> ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(ans) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		if err := s.invalid("Please answer Y or N."); err != nil {
			return false, err
		}
	}
}

// AskInt asks for an integer in [min, max].
func (s *Session) AskInt(question string, def, min, max int) (int, error) {
	ans, err := s.Ask(question, strconv.Itoa(def), func(a string) string {
		n, err := strconv.Atoi(a)
		if err != nil || n < min || n > max {
			return fmt.Sprintf("The value must be an integer from %d to %d.", min, max)
		}
		return ""
	})
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(ans)
}

// Choose shows a numbered list and returns the index chosen. def is the
// 1-based default (0: none, a blank answer goes back). byName lets the
// answer be an item's text, case-insensitive, as AsyncOS allows for lists
// of named objects.
func (s *Session) Choose(question string, items []string, def int, byName bool) (int, error) {
	s.setChoices(items, nil)
	defer s.setChoices(nil, nil)
	for {
		if question != "" {
			s.Println(question)
		}
		for i, it := range items {
			s.Printf("%d. %s\n", i+1, it)
		}
		d := ""
		if def > 0 {
			d = strconv.Itoa(def)
		}
		ans, err := s.read("[" + d + "]> ")
		if err != nil {
			return 0, err
		}
		if ans == "" {
			if def == 0 {
				return 0, ErrBack
			}
			return def - 1, nil
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(items) {
			return n - 1, nil
		}
		if byName {
			for i, it := range items {
				if strings.EqualFold(it, ans) {
					return i, nil
				}
			}
		}
		msg := fmt.Sprintf("The value must be a number from 1 to %d.", len(items))
		if byName {
			msg = fmt.Sprintf("The value must be a number from 1 to %d or one of the names listed.", len(items))
		}
		if err := s.invalid(msg); err != nil {
			return 0, err
		}
	}
}

// Secret asks for a passphrase: the prompt ends with ':' and the answer is
// not echoed.
func (s *Session) Secret(p string) (string, error) {
	ans, err := s.In.ReadSecret(p)
	switch {
	case errors.Is(err, io.EOF):
		return "", &InputError{Line: s.In.Line(), Msg: ErrEOF.Error()}
	case err != nil:
		return "", err
	}
	return ans, nil
}

// NewSecret asks for a passphrase twice until both agree.
func (s *Session) NewSecret(first, confirm string, check func(string) string) (string, error) {
	for {
		a, err := s.Secret(first)
		if err != nil {
			return "", err
		}
		if check != nil {
			if msg := check(a); msg != "" {
				if err := s.invalid(msg); err != nil {
					return "", err
				}
				continue
			}
		}
		b, err := s.Secret(confirm)
		if err != nil {
			return "", err
		}
		if a == b {
			return a, nil
		}
		if err := s.invalid("The passphrases do not match."); err != nil {
			return "", err
		}
	}
}

// Paste reads a multi-line block (PEM) ended by a line holding only ".".
// Blank lines inside are dropped: pasted chains often carry them. A script's
// echo leaves out the inside of private key blocks, so a session transcript
// never carries a key.
func (s *Session) Paste(instruction string) (string, error) {
	s.Println(instruction)
	var b strings.Builder
	inKey, hidden := false, 0
	for {
		read := s.In.ReadLine
		if inKey && !s.In.Interactive() {
			read = s.In.ReadSecret
		}
		line, err := read("")
		switch {
		case errors.Is(err, io.EOF):
			return "", &InputError{Line: s.In.Line(), Msg: "end of input before the line holding only '.'"}
		case err != nil:
			return "", err
		}
		t := strings.TrimSpace(line)
		if inKey && !s.In.Interactive() {
			hidden++
			if strings.HasPrefix(t, "-----END ") || t == "." {
				s.Printf("[%d lines of private key not shown]\n%s\n", hidden-1, t)
			}
		}
		if strings.HasPrefix(t, "-----BEGIN ") && strings.Contains(t, "PRIVATE KEY") {
			inKey, hidden = true, 0
		} else if strings.HasPrefix(t, "-----END ") {
			inKey = false
		}
		if t == "." {
			return b.String(), nil
		}
		if t == "" {
			continue
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
}

// MenuItem is one operation of a menu.
type MenuItem struct {
	Name string // the keyword: NEW, EDIT ...
	Help string // "Create a new entry."
	Run  func(s *Session) error
	// Hidden items run but are not listed (compatibility keywords).
	Hidden bool
}

// Menu shows "Choose the operation you want to perform:" until a blank
// answer goes back one level. header, when set, is printed before each
// round (the list of profiles, listeners ...). An item that returns ErrBack
// brings its menu back; other errors end the menu.
func (s *Session) Menu(header func(*Session), items []MenuItem) error {
	for {
		if header != nil {
			header(s)
		}
		it, err := s.chooseOperation(items)
		if err != nil {
			if errors.Is(err, ErrBack) {
				return nil
			}
			return err
		}
		if err := it.Run(s); err != nil && !errors.Is(err, ErrBack) {
			return err
		}
	}
}

func (s *Session) chooseOperation(items []MenuItem) (MenuItem, error) {
	var sugg []prompt.Suggest
	for _, it := range items {
		if !it.Hidden {
			sugg = append(sugg, prompt.Suggest{Text: it.Name, Description: it.Help})
		}
	}
	if s.probe != nil {
		s.probe.ops = items
		return MenuItem{}, errProbe
	}
	s.choices = sugg
	defer func() { s.choices = nil }()
	for {
		s.Println("Choose the operation you want to perform:")
		for _, it := range items {
			if !it.Hidden {
				s.Printf("- %s - %s\n", it.Name, it.Help)
			}
		}
		ans, err := s.read("[]> ")
		if err != nil {
			return MenuItem{}, err
		}
		if ans == "" {
			return MenuItem{}, ErrBack
		}
		it, msg := matchOperation(items, ans)
		if msg == "" {
			return it, nil
		}
		if err := s.invalid(msg); err != nil {
			return MenuItem{}, err
		}
	}
}

func (s *Session) setChoices(items []string, help []string) {
	s.choices = nil
	for i, it := range items {
		sg := prompt.Suggest{Text: it}
		if i < len(help) {
			sg.Description = help[i]
		}
		s.choices = append(s.choices, sg)
	}
}
