// Package exttest reads the case files of `skybot ext test`: scripted
// scenarios an extension ships next to its .skyext (tests.txt, or
// <name>.tests.txt). A case is a name and steps: things members do in the
// emulated guild, and what the guild must look like afterwards.
//
//	# comments and blank lines are ignored
//	case greets on !hello
//	  say alice: !hello
//	  expect reply: Hello, alice
//	case counts joins
//	  join carol
//	  slash admin: /welcome stats
//	  expect reply contains: 1 member
//
// Parse turns a file into Cases; Format writes Cases back in the same
// grammar (Parse(Format(cs)) == cs, which the fuzz test holds it to).
// The package only reads: running cases is the skybot command's job.
package exttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is what a step does.
type Kind string

// Actions: what a member (or the clock) does.
const (
	Say     Kind = "say"     // say <member> [in #<channel>]: <text>
	Slash   Kind = "slash"   // slash <member> [in #<channel>]: /<command> [<sub> ...] [<option>=<value> ...]
	Click   Kind = "click"   // click <member>: <button label>
	Join    Kind = "join"    // join <name>
	Leave   Kind = "leave"   // leave <member>
	Advance Kind = "advance" // advance <duration>
)

// Expectations: what must be true after the steps before them.
const (
	ExpectReply         Kind = "expect reply"          // expect reply: <text>
	ExpectReplyContains Kind = "expect reply contains" // expect reply contains: <text>
	ExpectNoReply       Kind = "expect no reply"       // expect no reply
	ExpectStorage       Kind = "expect storage"        // expect storage <key> = <json>
	ExpectNoStorage     Kind = "expect no storage"     // expect no storage <key>
	ExpectLogContains   Kind = "expect log contains"   // expect log contains: <text>
	ExpectBanned        Kind = "expect banned"         // expect banned <member>
	ExpectNotBanned     Kind = "expect not banned"     // expect not banned <member>
	ExpectRole          Kind = "expect role"           // expect role <member> <role>
	ExpectNoRole        Kind = "expect no role"        // expect no role <member> <role>
)

// IsAction reports whether the step makes something happen (and so
// produces the replies that expect reply looks at).
func (k Kind) IsAction() bool {
	switch k {
	case Say, Slash, Click, Join, Leave, Advance:
		return true
	}
	return false
}

// Case is one scenario: it runs against a fresh guild.
type Case struct {
	Name  string
	Line  int // of the "case" line
	Steps []Step
}

// Step is one line of a case. Which fields are set depends on Kind.
type Step struct {
	Line int
	Kind Kind
	// Member acts (say, slash, click, join, leave) or is checked
	// (banned, role).
	Member string
	// Channel is where say and slash happen ("" is #general).
	Channel string
	// Text is what is said, the button label, the expected reply or log
	// text, or the role name.
	Text     string
	Command  *Command      // slash
	Duration time.Duration // advance
	Key      string        // storage
	JSON     string        // storage: the expected value, compact JSON
}

// Command is a slash command line: /name sub... opt=value...
type Command struct {
	Name    string
	Path    []string // subcommand group and subcommand, as typed
	Options []Option
}

// Option is one opt=value of a slash command; the runner converts Value
// by the option's type (a member, channel or role is named).
type Option struct {
	Name, Value string
}

// Limits on what a case file may hold.
const (
	MaxFileBytes   = 1 << 20
	MaxCases       = 1000
	MaxSteps       = 1000
	MaxTextLen     = 2000 // a Discord message
	MaxAdvance     = 366 * 24 * time.Hour
	maxCaseNameLen = 200
	maxKeyLen      = 200
)

var (
	namePattern    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	channelPattern = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)
	cmdPattern     = regexp.MustCompile(`^[-_a-z0-9]{1,32}$`)
)

// Error is a problem with a case file, at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads a case file; file names it in errors. The first problem is
// returned as an *Error naming the line.
func Parse(file string, data []byte) ([]Case, error) {
	bad := func(line int, format string, args ...any) ([]Case, error) {
		return nil, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxFileBytes {
		return bad(0, "the file is %d bytes; a case file is at most %d", len(data), MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return bad(0, "the file is not UTF-8 text")
	}
	var (
		cases []Case
		names = map[string]int{}
	)
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if word, rest := firstWord(line); word == "case" {
			name := strings.TrimSpace(rest)
			switch {
			case name == "":
				return bad(n, "a case needs a name: case <name>")
			case len(name) > maxCaseNameLen:
				return bad(n, "a case name is at most %d characters", maxCaseNameLen)
			case hasControl(name):
				return bad(n, "a case name cannot hold control characters")
			}
			if prev, dup := names[name]; dup {
				return bad(n, "case %q is already on line %d", name, prev)
			}
			if len(cases) == MaxCases {
				return bad(n, "a file holds at most %d cases", MaxCases)
			}
			names[name] = n
			cases = append(cases, Case{Name: name, Line: n})
			continue
		}
		if len(cases) == 0 {
			return bad(n, "a step before the first case; start with: case <name>")
		}
		c := &cases[len(cases)-1]
		if len(c.Steps) == MaxSteps {
			return bad(n, "a case holds at most %d steps", MaxSteps)
		}
		st, err := parseStep(line)
		if err != nil {
			return bad(n, "%s", err)
		}
		st.Line = n
		if needsAction(st.Kind) && !hasAction(c.Steps) {
			return bad(n, "%q looks at the replies to the step before it; put a say, slash, click, join, leave or advance first", st.Kind)
		}
		c.Steps = append(c.Steps, st)
	}
	for _, c := range cases {
		if len(c.Steps) == 0 {
			return bad(c.Line, "case %q has no steps", c.Name)
		}
	}
	return cases, nil
}

func needsAction(k Kind) bool {
	return k == ExpectReply || k == ExpectReplyContains || k == ExpectNoReply
}

func hasAction(steps []Step) bool {
	for _, s := range steps {
		if s.Kind.IsAction() {
			return true
		}
	}
	return false
}

// stepHelp lists the steps, for the error about an unknown one.
const stepHelp = "steps are say, slash, click, join, leave, advance and expect (reply, reply contains, no reply, storage, no storage, log contains, banned, not banned, role, no role)"

// ParseStep reads one step, as written in a case (skybot dev reads its
// prompt lines with it). It does not check what Parse checks across steps
// (an expect reply needs an action before it).
func ParseStep(line string) (Step, error) {
	line = strings.TrimSpace(line)
	if hasControl(line) {
		return Step{}, fmt.Errorf("the line has a control character")
	}
	return parseStep(line)
}

// parseStep reads one trimmed step line.
func parseStep(line string) (Step, error) {
	verb, rest := firstWord(line)
	switch verb {
	case "say", "slash", "click":
		return parseSaid(Kind(verb), line)
	case "join", "leave":
		name, extra := firstWord(rest)
		if name == "" || strings.TrimSpace(extra) != "" {
			return Step{}, fmt.Errorf("write: %s <name>", verb)
		}
		if !namePattern.MatchString(name) {
			return Step{}, fmt.Errorf("%q is not a member name (1 to 32 of A-Z, a-z, 0-9, _, . and -)", name)
		}
		return Step{Kind: Kind(verb), Member: name}, nil
	case "advance":
		arg, extra := firstWord(rest)
		if arg == "" || strings.TrimSpace(extra) != "" {
			return Step{}, fmt.Errorf("write: advance <duration>, e.g. advance 5m or advance 1d")
		}
		d, err := ParseDuration(arg)
		if err != nil {
			return Step{}, err
		}
		return Step{Kind: Advance, Duration: d}, nil
	case "expect":
		return parseExpect(rest)
	}
	return Step{}, fmt.Errorf("unknown step %q; %s", verb, stepHelp)
}

// parseSaid reads "verb member [in #channel]: body".
func parseSaid(kind Kind, line string) (Step, error) {
	head, body, ok := strings.Cut(line, ":")
	if !ok {
		return Step{}, fmt.Errorf("write: %s <member>: %s", kind, map[Kind]string{Say: "<text>", Slash: "/<command> [sub] [option=value ...]", Click: "<button label>"}[kind])
	}
	f := strings.Fields(head)
	st := Step{Kind: kind}
	switch {
	case len(f) == 2:
	case len(f) == 4 && f[2] == "in" && kind != Click:
		ch, ok := strings.CutPrefix(f[3], "#")
		if !ok || !channelPattern.MatchString(ch) {
			return Step{}, fmt.Errorf("%q is not a channel: write in #<name>", f[3])
		}
		st.Channel = ch
	default:
		return Step{}, fmt.Errorf("write: %s <member>%s: ...", kind, map[bool]string{true: " [in #<channel>]"}[kind != Click])
	}
	if !namePattern.MatchString(f[1]) {
		return Step{}, fmt.Errorf("%q is not a member name (1 to 32 of A-Z, a-z, 0-9, _, . and -)", f[1])
	}
	st.Member = f[1]
	switch kind {
	case Slash:
		cmd, err := ParseCommand(strings.TrimSpace(body))
		if err != nil {
			return Step{}, err
		}
		st.Command = &cmd
	default:
		text, err := parseText(body)
		if err != nil {
			return Step{}, err
		}
		if text == "" {
			return Step{}, fmt.Errorf("%s needs text after the colon", kind)
		}
		st.Text = text
	}
	return st, nil
}

func parseExpect(rest string) (Step, error) {
	f := strings.Fields(rest)
	if len(f) == 0 {
		return Step{}, fmt.Errorf("expect what? %s", stepHelp)
	}
	// Forms without a colon first: a storage value is JSON, which may hold one.
	switch {
	case f[0] == "storage":
		return parseStorage(ExpectStorage, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "storage")))
	case len(f) >= 2 && f[0] == "no" && f[1] == "storage":
		r := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "no"))
		return parseStorage(ExpectNoStorage, strings.TrimSpace(strings.TrimPrefix(r, "storage")))
	}
	if head, body, ok := strings.Cut(rest, ":"); ok {
		var kind Kind
		switch strings.Join(strings.Fields(head), " ") {
		case "reply":
			kind = ExpectReply
		case "reply contains":
			kind = ExpectReplyContains
		case "log contains":
			kind = ExpectLogContains
		}
		if kind != "" {
			text, err := parseText(body)
			if err != nil {
				return Step{}, err
			}
			if text == "" && kind != ExpectReply {
				return Step{}, fmt.Errorf("%s needs text after the colon", kind)
			}
			return Step{Kind: kind, Text: text}, nil
		}
	}
	member := func(kind Kind, args []string) (Step, error) {
		if len(args) != 1 {
			return Step{}, fmt.Errorf("write: %s <member>", kind)
		}
		if !namePattern.MatchString(args[0]) {
			return Step{}, fmt.Errorf("%q is not a member name", args[0])
		}
		return Step{Kind: kind, Member: args[0]}, nil
	}
	role := func(kind Kind, after string) (Step, error) {
		name, roleText := firstWord(after)
		if name == "" || strings.TrimSpace(roleText) == "" {
			return Step{}, fmt.Errorf("write: %s <member> <role>", kind)
		}
		if !namePattern.MatchString(name) {
			return Step{}, fmt.Errorf("%q is not a member name", name)
		}
		r, err := parseText(roleText)
		if err != nil {
			return Step{}, err
		}
		if r == "" {
			return Step{}, fmt.Errorf("write: %s <member> <role>", kind)
		}
		return Step{Kind: kind, Member: name, Text: r}, nil
	}
	switch {
	case len(f) == 2 && f[0] == "no" && f[1] == "reply":
		return Step{Kind: ExpectNoReply}, nil
	case f[0] == "banned":
		return member(ExpectBanned, f[1:])
	case len(f) >= 2 && f[0] == "not" && f[1] == "banned":
		return member(ExpectNotBanned, f[2:])
	case f[0] == "role":
		return role(ExpectRole, afterWords(rest, 1))
	case len(f) >= 2 && f[0] == "no" && f[1] == "role":
		return role(ExpectNoRole, afterWords(rest, 2))
	}
	return Step{}, fmt.Errorf("unknown expectation %q; %s", "expect "+strings.TrimSpace(rest), stepHelp)
}

// parseStorage reads "<key> = <json>" (ExpectStorage) or "<key>".
func parseStorage(kind Kind, s string) (Step, error) {
	form := "expect storage <key> = <json>"
	if kind == ExpectNoStorage {
		form = "expect no storage <key>"
	}
	var key, rest string
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return Step{}, fmt.Errorf("the key %s is not a closed quoted string", s)
		}
		key, _ = strconv.Unquote(q)
		rest = s[len(q):]
	} else {
		key, rest = firstWord(s)
	}
	if key == "" || len(key) > maxKeyLen {
		return Step{}, fmt.Errorf("write: %s (a key is 1 to %d bytes)", form, maxKeyLen)
	}
	rest = strings.TrimSpace(rest)
	if kind == ExpectNoStorage {
		if rest != "" {
			return Step{}, fmt.Errorf("write: %s", form)
		}
		return Step{Kind: kind, Key: key}, nil
	}
	value, ok := strings.CutPrefix(rest, "=")
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return Step{}, fmt.Errorf("write: %s", form)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(value)); err != nil {
		return Step{}, fmt.Errorf("the expected value %s is not JSON (a string needs quotes: \"text\")", value)
	}
	return Step{Kind: kind, Key: key, JSON: compact.String()}, nil
}

// ParseCommand reads "/name [sub ...] [opt=value ...]". A value is a word
// without spaces or a Go-quoted string ("two words").
func ParseCommand(s string) (Command, error) {
	rest, ok := strings.CutPrefix(s, "/")
	if !ok {
		return Command{}, fmt.Errorf("a slash command starts with /, as in /welcome stats")
	}
	var cmd Command
	first := true
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		end := strings.IndexFunc(rest, unicode.IsSpace)
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		name, value, isOpt := strings.Cut(word, "=")
		if !isOpt || first {
			if !cmdPattern.MatchString(word) {
				return Command{}, fmt.Errorf("%q is not a command or subcommand name (1 to 32 of a-z, 0-9, - and _)", word)
			}
			if first {
				cmd.Name, first = word, false
			} else {
				if len(cmd.Options) > 0 {
					return Command{}, fmt.Errorf("subcommand %q comes after an option; write subcommands first", word)
				}
				if len(cmd.Path) == 2 {
					return Command{}, fmt.Errorf("a command has at most a group and a subcommand before its options")
				}
				cmd.Path = append(cmd.Path, word)
			}
			rest = rest[end:]
			continue
		}
		if !cmdPattern.MatchString(name) {
			return Command{}, fmt.Errorf("%q is not an option name (1 to 32 of a-z, 0-9, - and _)", name)
		}
		after := rest[len(name)+1:]
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return Command{}, fmt.Errorf("the value of %s is not a closed quoted string", name)
			}
			value, _ = strconv.Unquote(q)
			rest = after[len(q):]
			if rest != "" && !unicode.IsSpace(rune(rest[0])) {
				return Command{}, fmt.Errorf("put a space after the quoted value of %s", name)
			}
		} else {
			rest = rest[end:]
		}
		if value == "" {
			return Command{}, fmt.Errorf("option %s has no value (write %s=\"\" for an empty string)", name, name)
		}
		for _, o := range cmd.Options {
			if o.Name == name {
				return Command{}, fmt.Errorf("option %s is given twice", name)
			}
		}
		cmd.Options = append(cmd.Options, Option{Name: name, Value: value})
	}
	if first {
		return Command{}, fmt.Errorf("a slash command needs a name after /")
	}
	return cmd, nil
}

// ParseDuration reads a Go duration ("90s", "1h30m") with days allowed in
// front ("1d", "2d12h"), between a millisecond and MaxAdvance.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > int(MaxAdvance/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h30m, 1d)", s)
		}
		d, rest = time.Duration(days)*24*time.Hour, s[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || more < 0 {
			return 0, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h30m, 1d)", s)
		}
		d += more
	}
	if d < time.Millisecond || d > MaxAdvance {
		return 0, fmt.Errorf("advance by 1ms to %s, not %q", "366d", s)
	}
	return d, nil
}

// parseText reads the text after a colon: verbatim, trimmed, unless it is
// one Go-quoted string ("line one\nline two"), which is unquoted.
func parseText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	if len(s) > MaxTextLen {
		return "", fmt.Errorf("the text is %d bytes; at most %d", len(s), MaxTextLen)
	}
	return s, nil
}

func firstWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

// afterWords drops n words from the front of s.
func afterWords(s string, n int) string {
	for range n {
		_, s = firstWord(s)
	}
	return s
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
