package main

import (
	"os/exec"
	"testing"
)

// TestTailFollowTerminal: on a terminal, tail shows the last lines, then
// every new line as it is written, until Ctrl-C brings the prompt back;
// grep's "tail the logs" does the same for matching lines. The shell is
// attached to the daemon so that another session's commands can write the
// lines it follows.
func TestTailFollowTerminal(t *testing.T) {
	srv := startTmux(t)
	bin := buildEsash(t)
	a := newTermAppliance(t, srv, bin, true)
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("tail cli_logs", "Press Ctrl-C to stop.")
	// Another session's command lands in cli_logs; the tail shows it.
	cmd := exec.Command(bin, "--data", a.data, "-c", "showqueue")
	cmd.Env = termEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second session: %v %s", err, out)
	}
	p.expect("ran: showqueue")
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	// The numbered list, then grep with its questions and follow.
	p.line("tail", "Enter the number of the log you wish to tail.")
	p.line("2", "Press Ctrl-C to stop.")
	p.press([]string{"C-c"}, factoryPrompt)
	p.line("grep", "Enter the number of the log you wish to grep.")
	p.line("1", "Enter the regular expression to grep.")
	p.line("ran: who", "case insensitive? [Y]> ")
	p.line("", "tail the logs? [N]> ")
	p.line("y", "paginate the output? [N]> ")
	p.line("", "Press Ctrl-C to stop.")
	cmd = exec.Command(bin, "--data", a.data, "-c", "who")
	cmd.Env = termEnv()
	cmd.Run()
	p.expectLine(`Info: PID \d+: User admin \(script\) ran: who`)
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
}
