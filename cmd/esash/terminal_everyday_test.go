package main

import (
	"strings"
	"testing"
)

// TestTerminalEveryday drives the pager, menu completion and the banner on
// a real terminal (tmux, 100×30), in-process and attached to a daemon.
func TestTerminalEveryday(t *testing.T) {
	srv := startTmux(t)
	bin := buildEsash(t)
	cases := []struct {
		name string
		run  func(t *testing.T, a *termAppliance)
	}{
		{"PagerQuit", testPagerQuit},
		{"MenuCompletion", testMenuCompletion},
		{"Banner", testBanner},
	}
	for _, attached := range []bool{false, true} {
		mode := map[bool]string{false: "inprocess", true: "attached"}[attached]
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newTermAppliance(t, srv, bin, attached))
				})
			}
		})
	}
}

// help's list is longer than the 30-line screen: it stops at the pager;
// q leaves it (the commands after the first screen are not printed), and
// so does Ctrl-C; a space shows the rest.
func testPagerQuit(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("help", "-Press Any Key For More-")
	screen := p.press([]string{"q"}, factoryPrompt)
	if strings.Contains(screen, "whoami ") {
		t.Errorf("q at the pager printed the rest of the list:\n%s", screen)
	}
	p.alive()
	p.line("showchanges", noChanges)
	p.line("help", "-Press Any Key For More-")
	p.press([]string{"C-c"}, factoryPrompt)
	p.alive()
	p.line("showchanges", noChanges)
	p.line("help", "-Press Any Key For More-")
	p.press([]string{"Space"}, "whoami ", factoryPrompt)
	// exit as the first line after the pager ends the shell (it used to
	// wait for one more key: readline's terminal had read ahead).
	p.line("exit")
	p.exited("0")
}

// Tab in a menu writes the keyword as it is written, whatever the case
// typed; the completed keyword runs.
func testMenuCompletion(t *testing.T, a *termAppliance) {
	p := a.shell()
	p.expect(factoryPrompt)
	p.line("certconfig", "- CERTAUTHORITY - ")
	p.literal("certa")
	p.expect("[]> certa")
	p.press([]string{"Tab"}, "[]> CERTAUTHORITY")
	p.press([]string{"Enter"}, "- CUSTOM - ")
	p.line("", "- CERTIFICATE - ")
	p.line("", factoryPrompt)
	p.line("exit")
	p.exited("0")
}

// The first screen: the product line, and from the second login on the
// last login, as AsyncOS shows them.
func testBanner(t *testing.T, a *termAppliance) {
	p := a.shell()
	screen := p.expect(factoryPrompt)
	if !strings.Contains(screen, "Welcome to the esash Email Security Appliance") || strings.Contains(screen, "Last login:") {
		t.Errorf("first login's screen:\n%s", screen)
	}
	p.line("exit")
	p.exited("0")
	p = a.shell()
	p.expectLine(`^Last login: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} from console$`)
	p.expect("esash 0.0.0-000 (dev) for ESASH")
	p.expect(factoryPrompt)
	p.line("exit")
	p.exited("0")
}
