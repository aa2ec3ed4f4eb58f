package shell

// batchForms are the batch forms of the commands that do not describe
// their own (BatchUsage), as each one's Run accepts them; AsyncOS's are
// from the reference (asyncos-cli.md §1.5, asyncos-cli-2.md §4).
var batchForms = map[string]string{
	"commit":       "commit [COMMENT]\ncommit confirmed MINUTES [COMMENT]",
	"clear":        "clear (asks for confirmation when changes are staged)",
	"help":         "help [COMMAND]",
	"exit":         "exit",
	"quit":         "quit",
	"showchanges":  "showchanges",
	"commitdetail": "commitdetail",
	"certconfig":   "certconfig paste NAME (PEM blocks follow, ended by a line holding only '.')\ncertconfig csr NAME\ncertconfig delete NAME\ncertconfig list\ncertconfig print",
	"destconfig":   "destconfig list | detail | delete DOMAIN | clear | import FILE | export FILE",
	"smtproutes":   "smtproutes new DOMAIN DEST[,DEST...] | delete DOMAIN | print | clear | import FILE | export FILE",
	"delivernow":   "delivernow [DOMAIN|ALL]",
	"tlsverify":    "tlsverify DOMAIN [HOST[:PORT]]",
	"tail":         "tail LOG (for example: tail mail_logs)",
	"grep":         "grep -e REGEX [-c] [-C N] [-f PATTERN] [-i] [-p] [-t] LOG",
	"sethostname":  "sethostname HOSTNAME",
	"mailconfig":   "mailconfig ADDRESS[,ADDRESS...] [PASSPHRASE-OPTION]",
	"showqueue":    "showqueue [MID]",
	"saveconfig":   "saveconfig [y|n] [PASSPHRASE-OPTION]",
	"loadconfig":   "loadconfig FILE",
	"who":          "who",
	"whoami":       "whoami",
}
