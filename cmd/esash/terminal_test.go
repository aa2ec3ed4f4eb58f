package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTerminal drives the shell on a real terminal: tmux runs `esash` in a
// pane of 100×30, the test types with send-keys and reads the screen with
// capture-pane. Every case runs twice: on the appliance run in-process by
// the shell, and attached to `esash serve` over DIR/esash.sock.
func TestTerminal(t *testing.T) {
	srv := startTmux(t)
	bin := buildEsash(t)
	modes := []struct {
		name     string
		attached bool
	}{{"inprocess", false}, {"attached", true}}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range terminalCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newTermAppliance(t, srv, bin, m.attached))
				})
			}
		})
	}
}

const (
	factoryPrompt = "esa.example.com> "
	noChanges     = "No changes have been made."
	exitQuestion  = "You have uncommitted changes. Are you sure you want to exit and discard them? [N]> "
)

var terminalCases = []struct {
	name string
	run  func(t *testing.T, a *termAppliance)
}{
	{"PromptAndCommit", testPromptAndCommit},
	{"CtrlC", testCtrlC},
	{"History", testHistory},
	{"HistorySkipsAnswers", testHistorySkipsAnswers},
	{"TabCompletion", testTabCompletion},
	{"PasteBurst", testPasteBurst},
	{"ExitWithChanges", testExitWithChanges},
}

// The prompt is the committed hostname: staging a new one does not change
// it, committing does.
func testPromptAndCommit(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("sethostname", "[esa.example.com]> ")
	p.line("mail1.example.com", factoryPrompt)
	p.line("commit", "Please enter some comments describing your changes:\n[]> ")
	p.line("new hostname", "Do you want to save the current configuration for rollback? [Y]> ")
	p.line("", "Changes committed: ", "mail1.example.com> ")
	p.line("showchanges", noChanges)
	p.line("exit")
	p.exited("0")

	// The committed name outlives the shell.
	p = a.shell()
	p.expect("mail1.example.com> ")
	p.line("exit")
	p.exited("0")
}

// Ctrl-C inside a dialog ends the command, drops what it staged and
// returns to the main prompt; at the main prompt it drops the line typed.
// Neither ends the shell.
func testCtrlC(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("sethostname", "[esa.example.com]> ")
	p.literal("x.example.com")
	p.expect("[esa.example.com]> x.example.com")
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	p.line("showchanges", noChanges)

	// A dialog that staged something before Ctrl-C: nothing of it stays.
	p.line("sethostname", "[esa.example.com]> ")
	p.line("y.example.com", factoryPrompt)
	p.line("commit", "[]> ")
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	p.line("showchanges", `"esa.example.com" -> "y.example.com"`)
	p.line("clear", "[Y]> ")
	p.line("y", "Changes cleared: ")

	p.literal("showch")
	p.expect(factoryPrompt + "showch")
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	p.line("showchanges", noChanges, factoryPrompt)
	p.line("exit")
	p.exited("0")
}

// Up recalls the last command, and the history outlives the shell.
func testHistory(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("showchanges", noChanges)
	p.press([]string{"Up"}, factoryPrompt+"showchanges")
	p.press([]string{"Enter"}, noChanges)
	p.line("exit")
	p.exited("0")

	if got, want := readHistory(t, a), []string{"showchanges", "exit"}; !slices.Equal(got, want) {
		t.Fatalf("history file %s holds %q, want %q", historyPath(a), got, want)
	}

	// A new shell starts from that history: exit was the last command.
	p = a.shell()
	p.expect(factoryPrompt)
	p.press([]string{"Up"}, factoryPrompt+"exit")
	p.press([]string{"Up"}, factoryPrompt+"showchanges")
	p.press([]string{"Enter"}, noChanges)
	p.line("exit")
	p.exited("0")
}

// Answers to questions (a hostname, Y or N) are not commands: the history
// keeps only what was typed at the main prompt.
func testHistorySkipsAnswers(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("sethostname", "[esa.example.com]> ")
	p.line("h.example.com", factoryPrompt)
	p.line("exit", exitQuestion)
	p.line("N", factoryPrompt)
	// The history is written as each command is read.
	if got, want := readHistory(t, a), []string{"sethostname", "exit"}; !slices.Equal(got, want) {
		t.Fatalf("after sethostname, an answer, exit and the answer N, the history file %s holds %q, want %q: answers to questions do not belong there", historyPath(a), got, want)
	}
	p.press([]string{"Up"}, factoryPrompt+"exit")
	p.press([]string{"Up"}, factoryPrompt+"sethostname")
	p.keys("C-u")
	p.line("exit", exitQuestion)
	p.line("Y")
	p.exited("0")
	// exit again right after exit is not a new entry.
	if got, want := readHistory(t, a), []string{"sethostname", "exit"}; !slices.Equal(got, want) {
		t.Errorf("history file %s holds %q, want %q: answers to questions do not belong there", historyPath(a), got, want)
	}
}

// Tab completes command names; when several match it offers them all.
func testTabCompletion(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.literal("setho")
	p.expect(factoryPrompt + "setho")
	p.press([]string{"Tab"}, factoryPrompt+"sethostname")
	p.press([]string{"Enter"}, "[esa.example.com]> ")
	p.press([]string{"C-c"}, factoryPrompt)

	p.literal("comm")
	p.expect(factoryPrompt + "comm")
	// The first Tab completes what both share; the next lists them.
	p.keys("Tab")
	p.expect(factoryPrompt + "commit")
	p.keys("Tab")
	p.expectLine(`^\s*commit\s+commitdetail\s*$`)
	p.keys("C-u")
	p.line("showchanges", noChanges)
	p.line("exit")
	p.exited("0")
}

// A burst of lines arriving at once, as a paste does, loses none: the
// dialog answer and the next commands are all read in order.
func testPasteBurst(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.step(func() { p.literal("sethostname\ra.example.com\rshowchanges\r") },
		"[esa.example.com]> ", `hostname: "esa.example.com" -> "a.example.com"`)
	p.expectLine(`^esa\.example\.com> \s*$`)

	// The same as separate keys in one send-keys call.
	p.step(func() { p.keys("clear", "Enter", "Y", "Enter", "showchanges", "Enter") },
		"Changes cleared: ", noChanges)
	p.expectLine(`^esa\.example\.com> \s*$`)
	p.line("exit")
	p.exited("0")
}

// exit with staged changes asks first: N keeps the shell and the changes,
// Y discards them and exits.
func testExitWithChanges(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("sethostname", "[esa.example.com]> ")
	p.line("b.example.com", factoryPrompt)
	p.line("exit", exitQuestion)
	p.line("N", factoryPrompt)
	p.alive()
	p.line("showchanges", `"esa.example.com" -> "b.example.com"`)
	p.line("exit", exitQuestion)
	p.line("Y")
	p.exited("0")

	// Nothing was committed.
	p = a.shell()
	p.expect(factoryPrompt)
	p.line("commitdetail", "Revision: 1\n")
	p.line("exit")
	p.exited("0")
}

func historyPath(a *termAppliance) string { return filepath.Join(a.data, "history", "admin") }

// readHistory returns the non-blank lines of the admin's history file.
func readHistory(t *testing.T, a *termAppliance) []string {
	t.Helper()
	raw, err := os.ReadFile(historyPath(a))
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
