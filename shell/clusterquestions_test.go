package shell_test

import (
	"context"

	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store"
	"esash/store/etcdstore"
	"esash/store/etcdstore/etcdtest"

	goldenfile "esash/internal/golden"
)

// The commands of these tests stand in for the real ones, which the shell
// may not import: they bear the names of the table (commandSections) and
// edit the sections it names.

// fakeCommand asks one question and stores the answer.
type fakeCommand struct {
	name     string
	question func(c *config.Config) string
	set      func(c *config.Config, answer string)
}

func (f fakeCommand) Name() string    { return f.name }
func (f fakeCommand) Summary() string { return "test " + f.name }
func (f fakeCommand) Run(s *shell.Session, _ []string) error {
	ans, err := s.Ask("", f.question(s.Draft.Config()), nil)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error { f.set(c, ans); return nil })
}

var (
	fakeDestconfig = fakeCommand{name: "destconfig",
		question: func(c *config.Config) string { return strconv.Itoa(c.Destinations.Default.MaxMsgsPerConn) },
		set: func(c *config.Config, a string) {
			c.Destinations.Default.MaxMsgsPerConn, _ = strconv.Atoi(a)
		}}
	fakeSethostname = fakeCommand{name: "sethostname",
		question: func(c *config.Config) string { return c.Hostname },
		set:      func(c *config.Config, a string) { c.Hostname = a }}
	fakeUserconfig = fakeCommand{name: "userconfig",
		question: func(c *config.Config) string { return c.Users[0].FullName },
		set:      func(c *config.Config, a string) { c.Users[0].FullName = a }}
)

// levelCommand moves the session: `level group <name>`, `level cluster`.
type levelCommand struct{}

func (levelCommand) Name() string    { return "level" }
func (levelCommand) Summary() string { return "test clustermode" }
func (levelCommand) Run(s *shell.Session, args []string) error {
	l := config.ClusterLevel
	if len(args) == 2 {
		l = config.Level{Kind: config.LevelKind(args[0]), Name: args[1]}
	}
	return s.SetLevel(l)
}

// clustered is a one-member cluster with the fake commands.
func clustered(t *testing.T, ip string) (*shelltest.Appliance, *etcdstore.Store) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC) }
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: now})
	st := etcdtest.Solo(t, ip, "Test-Cluster", "m1", local)
	sh, err := shell.New(local, shell.Options{Now: now, Cluster: st},
		fakeDestconfig, fakeSethostname, fakeUserconfig, levelCommand{}, disconnectCommand{})
	if err != nil {
		t.Fatal(err)
	}
	return &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}, st
}

// commitTimes are the times of cluster commits: the cluster store's clock
// is the wall clock.
var commitTimes = regexp.MustCompile(`Changes committed: [^\n]*`)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "dialog", name+".golden"), got)
}

// The three answers of the NOTICE at a group that does not hold the
// command's sections, and the machine-only and cluster-only switches.
func TestClusterQuestions(t *testing.T) {
	a, st := clustered(t, "127.0.14.11")
	group := config.Level{Kind: config.LevelGroup, Name: etcdstore.DefaultGroup}
	out, code, _ := a.Run(true, strings.Join([]string{
		// At the cluster level every section is configured: no question.
		"destconfig", "13", "commit", "cluster 13", "",
		// 1: switch to where the settings come from.
		"level Group Main_Group", "destconfig", "1", "",
		// 2: a new, empty start (the factory's 50), then Ctrl-C drops it.
		"level Group Main_Group", "destconfig", "2", "^C",
		// 3: a copy of the cluster's 13, edited and committed.
		"destconfig", "3", "1", "20", "commit", "group 20", "",
		// Now the group holds it: no question.
		"destconfig", "",
		// Machine-only: asked to switch to this machine.
		"sethostname", "Y", "",
		// At the machine level the settings come from the group: both
		// the group and the cluster can be copied.
		"destconfig", "3", "2", "",
		// Cluster-only at the machine level; no stays put.
		"userconfig", "N",
		"userconfig", "Y", "",
	}, "\n")+"\n")
	golden(t, "cluster_questions", commitTimes.ReplaceAllString(out, "Changes committed: <time>"))
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	held := st.Layer(group)
	var d config.Destinations
	if raw, ok := held["destinations"]; !ok {
		t.Fatalf("group holds no destinations: %v", held)
	} else if err := jsonUnmarshal(raw, &d); err != nil || d.Default.MaxMsgsPerConn != 20 {
		t.Errorf("group destinations = %+v, %v; want 20", d.Default, err)
	}
	eff, origins, err := st.Effective()
	if err != nil {
		t.Fatal(err)
	}
	if eff.Destinations.Default.MaxMsgsPerConn != 20 || origins["destinations"] != group {
		t.Errorf("effective %d from %v, want 20 from %v", eff.Destinations.Default.MaxMsgsPerConn, origins["destinations"], group)
	}
}

// "Start a new, empty configuration" starts from the factory's section
// and commits it as the group's own.
func TestClusterQuestionsEmptyStart(t *testing.T) {
	a, st := clustered(t, "127.0.14.12")
	out, code, _ := a.Run(false, "destconfig\n13\ncommit\nc\nn\nlevel Group Main_Group\ndestconfig\n2\n\ndestconfig\n7\ncommit\ng\nn\n")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "mode.\n[1]> 2\n[50]> \n") {
		t.Errorf("the empty start does not show the factory value:\n%s", out)
	}
	if strings.Count(out, "NOTICE:") != 1 {
		t.Errorf("want one NOTICE: the second destconfig finds the section staged:\n%s", out)
	}
	eff, _, err := st.Effective()
	if err != nil {
		t.Fatal(err)
	}
	if eff.Destinations.Default.MaxMsgsPerConn != 7 {
		t.Errorf("effective max messages %d, want 7", eff.Destinations.Default.MaxMsgsPerConn)
	}
}

// A standalone appliance asks no cluster question.
func TestClusterQuestionsStandalone(t *testing.T) {
	out, code, _ := shelltest.RunSession(t, false, "destconfig\n13\nsethostname\nmail.example.com\nuserconfig\nAdmin\nclear\nY\n",
		fakeDestconfig, fakeSethostname, fakeUserconfig)
	golden(t, "cluster_questions_standalone", out)
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// On a disconnected machine a configuration command first says so and
// offers to reconnect it: no leaves the command (what it committed would
// not run here), yes reconnects and the command's own questions follow.
func TestClusterQuestionsDisconnected(t *testing.T) {
	a, st := clustered(t, "127.0.14.13")
	ctx := context.Background()
	if err := st.Disconnect(ctx, "m1", store.Meta{User: "admin", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	out, code, _ := a.Run(true, "destconfig\nN\nsethostname\nY\n\n\n")
	golden(t, "cluster_questions_disconnected", out)
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, held := st.Held(); held {
		t.Error("still disconnected after answering yes")
	}
	if strings.Count(out, "is currently disconnected") != 2 {
		t.Errorf("want the notice twice (refused, then reconnected):\n%s", out)
	}
}

// disconnectCommand disconnects the machine the session runs on.
type disconnectCommand struct{}

func (disconnectCommand) Name() string    { return "disconnect" }
func (disconnectCommand) Summary() string { return "test DISCONNECT" }
func (disconnectCommand) Run(s *shell.Session, _ []string) error {
	c := s.Cluster()
	return c.Disconnect(s.Ctx, c.Machine(), store.Meta{User: s.User, Source: s.Source})
}

// Changes staged before the machine was disconnected are not committed:
// the machine would not run them. Once reconnected they commit.
func TestClusterCommitDisconnected(t *testing.T) {
	a, st := clustered(t, "127.0.14.14")
	out, _, _ := a.Run(true, "destconfig\n21\ndisconnect\ncommit\nstaged\nn\n")
	if !strings.Contains(out, shell.ErrDisconnected.Error()+"; it runs cluster revision 1 until it is reconnected") {
		t.Fatalf("the commit was not refused:\n%s", out)
	}
	if eff, _, err := st.Effective(); err != nil || eff.Destinations.Default.MaxMsgsPerConn == 21 {
		t.Fatalf("the refused change is in the cluster (%v)", err)
	}
	if err := st.Reconnect(context.Background(), "m1", store.Meta{User: "admin"}); err != nil {
		t.Fatal(err)
	}
	out, _, _ = a.Run(true, "destconfig\n21\ncommit\nstaged\nn\n")
	if eff, _, err := st.Effective(); err != nil || eff.Destinations.Default.MaxMsgsPerConn != 21 {
		t.Fatalf("after reconnecting the commit did not go through (%v):\n%s", err, out)
	}
}
