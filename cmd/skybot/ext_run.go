package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/exttest"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

const extTestUsage = `Usage: skybot ext test [-v] [--validate] [--timeout D] [--cases FILE] <file.skyext|dir> ...

Runs each extension (a .skyext, or every .skyext in a directory) in an
emulated guild with skybot, offline: the extension is validated, then
installed with /ext install and the admin's consent (every scope it
declares is granted). The guild: admin (Manage Server, Ban, Kick, Moderate,
Manage Roles/Messages/Nicknames/Channels; role Admins), alice and bob (role
Members), an unused role Helpers, channels #general and #random; the
command prefix is !.

With a case file next to the extension (<name>.tests.txt, or tests.txt when
the directory holds only that one .skyext), each case runs against a fresh
guild and prints "PASS name" or "FAIL name: why". Without one, each trigger
the extension declares fires once with plausible input, and the result says
whether it ran without error and what it did (host calls, replies).
The last line is "N passed, N failed"; the exit code is 1 when any failed.

Case files, one step per line under "case <name>" (# starts a comment):
  say <member> [in #<channel>]: <text>
  slash <member> [in #<channel>]: /<command> [<group>] [<sub>] [<option>=<value> ...]
        (a value is a word or a "quoted string"; users, channels and roles by name;
         an attachment by a file path relative to the case file)
  click <member>: <button label>       on the latest of skybot's messages with that button
  join <name>                          a new member joins
  leave <member>                       a member leaves
  advance <duration>                   moves the guild's clock (30s, 5m, 1h30m, 2d) and runs what is due:
                                       schedules, timers and sky.later jobs
  expect reply: <text>                 one of skybot's answers to the latest step is exactly <text>
  expect reply contains: <text>        one contains <text> (content, embed titles, descriptions, fields)
  expect no reply
  expect storage <key> = <json>        expect no storage <key>
  expect log contains: <text>          the extension's log so far (console output, errors, refusals)
  expect banned <member>               expect not banned <member>
  expect role <member> <role>          expect no role <member> <role>
A text that is a "quoted string" is unquoted (for line breaks: "a\nb").
`

// testOptions are ext test's flags.
type testOptions struct {
	verbose  bool
	validate bool
	timeout  time.Duration
	cases    string
}

// tally counts results across extensions.
type tally struct{ passed, failed, skipped int }

func extTestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newExtFlags("test", extTestUsage)
	var o testOptions
	fs.BoolVar(&o.verbose, "v", false, "print every step, the runs it caused and skybot's answers")
	fs.BoolVar(&o.validate, "validate", false, "check every request skybot sends against Discord's OpenAPI description")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to wait for skybot after each step")
	fs.StringVar(&o.cases, "cases", "", "read the cases from this file instead (one extension only)")
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, "test", extTestUsage, "name at least one .skyext file or directory")
	}
	files, err := extensionFiles(pos, ".skyext")
	if err != nil {
		return usageError(stderr, "test", extTestUsage, "%v", err)
	}
	if o.cases != "" && len(files) != 1 {
		return usageError(stderr, "test", extTestUsage, "--cases goes with one extension; %d were named", len(files))
	}
	if o.timeout <= 0 {
		return usageError(stderr, "test", extTestUsage, "--timeout must be positive")
	}
	v, err := newValidator(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "skybot ext test: %v\n", err)
		return exitFail
	}
	defer v.close()
	var t tally
	for _, f := range files {
		testExtension(ctx, v, f, len(files), o, stdout, &t)
	}
	if t.skipped > 0 {
		fmt.Fprintf(stdout, "(%d not fired)\n", t.skipped)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", t.passed, t.failed)
	if t.failed > 0 || ctx.Err() != nil {
		return exitFail
	}
	return exitOK
}

// testExtension validates one extension, then runs its cases or fires its
// triggers.
func testExtension(ctx context.Context, v *validator, file string, siblings int, o testOptions, out io.Writer, t *tally) {
	r := v.check(ctx, file)
	if r.errors() > 0 {
		r.print(out)
		fmt.Fprintf(out, "FAIL %s: it does not validate (%s)\n", file, plural(r.errors(), "error"))
		t.failed++
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: %v\n", file, err)
		t.failed++
		return
	}
	casesFile := o.cases
	if casesFile == "" {
		casesFile = findCases(file)
	}
	if casesFile == "" {
		fmt.Fprintf(out, "== %s: no case file (%s or tests.txt), so each trigger fires once\n", file, caseFileName(file))
		smoke(ctx, r, data, o, out, t)
		return
	}
	text, err := os.ReadFile(casesFile)
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: %v\n", file, err)
		t.failed++
		return
	}
	cases, err := exttest.Parse(casesFile, text)
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: the case file cannot be read: %v\n", file, err)
		t.failed++
		return
	}
	fmt.Fprintf(out, "== %s: %s from %s\n", file, plural(len(cases), "case"), casesFile)
	for _, c := range cases {
		if ctx.Err() != nil {
			return
		}
		if err := runCase(ctx, r, data, c, filepath.Dir(casesFile), o, out); err != nil {
			fmt.Fprintf(out, "FAIL %s: %v\n", c.Name, err)
			t.failed++
			continue
		}
		fmt.Fprintf(out, "PASS %s\n", c.Name)
		t.passed++
	}
}

// caseFileName is an extension's own case file name: hello.tests.txt.
func caseFileName(file string) string {
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + ".tests.txt"
}

// findCases finds an extension's case file: <name>.tests.txt next to it,
// or tests.txt when the extension is the only .skyext in its directory.
func findCases(file string) string {
	dir := filepath.Dir(file)
	if own := filepath.Join(dir, caseFileName(file)); isFile(own) {
		return own
	}
	shared := filepath.Join(dir, "tests.txt")
	if !isFile(shared) {
		return ""
	}
	if others, err := filepath.Glob(filepath.Join(dir, "*.skyext")); err != nil || len(others) != 1 {
		return ""
	}
	return shared
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// runCase runs one case against a fresh guild; the error says why it
// failed, naming the line.
func runCase(ctx context.Context, r *report, data []byte, c exttest.Case, baseDir string, o testOptions, out io.Writer) error {
	var transcript io.Writer
	if o.verbose {
		transcript = out
		fmt.Fprintf(out, "-- case %s (line %d)\n", c.Name, c.Line)
	}
	g, err := newTestGuild(ctx, testGuildOptions{validate: o.validate, timeout: o.timeout, out: transcript})
	if err != nil {
		return fmt.Errorf("the emulated guild did not start: %w", err)
	}
	defer g.close()
	if err := g.install(r, data); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	g.printAction("install")
	for _, st := range c.Steps {
		if st.Kind.IsAction() {
			err := g.do(st, baseDir)
			g.printAction(st.String())
			if err != nil {
				return fmt.Errorf("line %d (%s): %v", st.Line, st.String(), err)
			}
			continue
		}
		if err := g.expect(st); err != nil {
			return fmt.Errorf("line %d: %v%s", st.Line, err, g.failureNote())
		}
		if transcript != nil {
			fmt.Fprintf(transcript, "  ✓ %s\n", st.String())
		}
	}
	if violations := g.srv.Violations(); len(violations) > 0 {
		return fmt.Errorf("skybot sent a request Discord would refuse: %s", strings.Join(violations, "; "))
	}
	return nil
}

// printAction writes an action, its runs and skybot's answers to the
// transcript.
func (g *testGuild) printAction(what string) {
	if g.out == nil {
		return
	}
	fmt.Fprintf(g.out, "  %s\n", what)
	g.printEffects("    ")
}

func (g *testGuild) printEffects(pad string) {
	for _, r := range g.runs {
		fmt.Fprintf(g.out, "%s· %s\n", pad, describeRun(r))
		for _, c := range r.Result.Console {
			fmt.Fprintf(g.out, "%s  console.%s: %s\n", pad, consoleMethod(c.Level), c.Text)
		}
		if n := r.Result.ConsoleDropped; n > 0 {
			fmt.Fprintf(g.out, "%s  (%d more console lines over the limit were not kept)\n", pad, n)
		}
	}
	for _, m := range g.replies {
		fmt.Fprintf(g.out, "%sskybot: %s\n", pad, strings.ReplaceAll(replyText(m), "\n", "\n"+pad+"  "))
	}
}

// consoleMethod is the console method that writes at a level.
func consoleMethod(level string) string {
	if level == "info" {
		return "log"
	}
	return level
}

// do performs an action step.
func (g *testGuild) do(st exttest.Step, baseDir string) error {
	switch st.Kind {
	case exttest.Say:
		return g.say(st.Member, st.Channel, st.Text)
	case exttest.Slash:
		opts, err := g.slashOptions(*st.Command, baseDir)
		if err != nil {
			return err
		}
		return g.slash(st.Member, st.Channel, st.Command.Name, opts)
	case exttest.Click:
		return g.click(st.Member, st.Text)
	case exttest.Join:
		return g.join(st.Member)
	case exttest.Leave:
		return g.leave(st.Member)
	case exttest.Advance:
		return g.advance(st.Duration)
	}
	return fmt.Errorf("%s is not an action", st.Kind)
}

// expect checks an expectation step.
func (g *testGuild) expect(st exttest.Step) error {
	switch st.Kind {
	case exttest.ExpectReply:
		for _, m := range g.replies {
			if m.Content == st.Text {
				return nil
			}
		}
		return fmt.Errorf("expected the reply %q; %s", st.Text, g.repliesText())
	case exttest.ExpectReplyContains:
		for _, m := range g.replies {
			if strings.Contains(replyText(m), st.Text) {
				return nil
			}
		}
		return fmt.Errorf("expected a reply containing %q; %s", st.Text, g.repliesText())
	case exttest.ExpectNoReply:
		if len(g.replies) > 0 {
			return fmt.Errorf("expected no reply; %s", g.repliesText())
		}
		return nil
	case exttest.ExpectStorage, exttest.ExpectNoStorage:
		value, ok, err := g.storage(st.Key)
		if err != nil {
			return fmt.Errorf("reading storage %q: %v", st.Key, err)
		}
		switch {
		case st.Kind == exttest.ExpectNoStorage && ok:
			return fmt.Errorf("storage %q is %s; expected it not to be set", st.Key, value)
		case st.Kind == exttest.ExpectNoStorage:
			return nil
		case !ok:
			return fmt.Errorf("storage %q is not set; expected %s", st.Key, st.JSON)
		case !sameJSON(value, st.JSON):
			return fmt.Errorf("storage %q is %s; expected %s", st.Key, value, st.JSON)
		}
		return nil
	case exttest.ExpectLogContains:
		entries, err := g.logs()
		if err != nil {
			return fmt.Errorf("reading the extension's log: %v", err)
		}
		var lines []string
		for _, e := range entries {
			line := logLine(e)
			if strings.Contains(line, st.Text) {
				return nil
			}
			lines = append(lines, line)
		}
		if len(lines) == 0 {
			return fmt.Errorf("the extension's log has no line containing %q; the log is empty", st.Text)
		}
		return fmt.Errorf("the extension's log has no line containing %q; it has: %s", st.Text, strings.Join(lastN(lines, 5), " | "))
	case exttest.ExpectBanned, exttest.ExpectNotBanned:
		m, err := g.member(st.Member)
		if err != nil {
			return err
		}
		switch banned := g.banned(m.UserID); {
		case st.Kind == exttest.ExpectBanned && !banned:
			return fmt.Errorf("%s is not banned", st.Member)
		case st.Kind == exttest.ExpectNotBanned && banned:
			return fmt.Errorf("%s is banned", st.Member)
		}
		return nil
	case exttest.ExpectRole, exttest.ExpectNoRole:
		m, err := g.member(st.Member)
		if err != nil {
			return err
		}
		role, err := g.role(st.Text)
		if err != nil {
			return err
		}
		switch has := g.hasRole(m.UserID, role.ID); {
		case st.Kind == exttest.ExpectRole && !has:
			return fmt.Errorf("%s does not have the role %s", st.Member, st.Text)
		case st.Kind == exttest.ExpectNoRole && has:
			return fmt.Errorf("%s has the role %s", st.Member, st.Text)
		}
		return nil
	}
	return fmt.Errorf("%s is not an expectation", st.Kind)
}

// repliesText says what skybot answered to the latest action.
func (g *testGuild) repliesText() string {
	if len(g.replies) == 0 {
		return "skybot did not reply"
	}
	var quoted []string
	for _, m := range g.replies {
		quoted = append(quoted, strconv.Quote(replyText(m)))
	}
	return "skybot replied " + strings.Join(quoted, " and ")
}

// failureNote names the extension's failed runs of the latest action,
// which usually explain a failed expectation.
func (g *testGuild) failureNote() string {
	for _, r := range g.runs {
		if f := r.Result.Failure; f != nil {
			return fmt.Sprintf(" (the extension's %s run failed: %s)", r.Trigger, failureText(f))
		}
	}
	return ""
}

// replyText is a message's content and the text of its embeds.
func replyText(m *discordgo.Message) string {
	parts := []string{}
	if m.Content != "" {
		parts = append(parts, m.Content)
	}
	for _, e := range m.Embeds {
		for _, s := range []string{e.Title, e.Description} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		for _, f := range e.Fields {
			parts = append(parts, f.Name+": "+f.Value)
		}
	}
	return strings.Join(parts, "\n")
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// slashOptions turns a case's /command line into interaction options,
// typed by the command skybot registered: subcommands by name, values
// converted by their option's type.
func (g *testGuild) slashOptions(c exttest.Command, baseDir string) ([]*discordgo.ApplicationCommandInteractionDataOption, error) {
	def := g.command(c.Name)
	if def == nil {
		var names []string
		for _, cmd := range g.srv.Commands(g.guild.ID) {
			names = append(names, "/"+cmd.Name)
		}
		return nil, fmt.Errorf("there is no /%s command here (commands: %s)", c.Name, strings.Join(names, ", "))
	}
	var root []*discordgo.ApplicationCommandInteractionDataOption
	into, defs, where := &root, def.Options, "/"+c.Name
	for _, word := range c.Path {
		d := findDef(defs, word)
		if d == nil || (d.Type != discordgo.ApplicationCommandOptionSubCommand && d.Type != discordgo.ApplicationCommandOptionSubCommandGroup) {
			return nil, fmt.Errorf("%s has no subcommand %q (it has: %s)", where, word, defNames(defs, true))
		}
		o := &discordgo.ApplicationCommandInteractionDataOption{Name: word, Type: d.Type}
		*into = append(*into, o)
		into, defs, where = &o.Options, d.Options, where+" "+word
	}
	if hasSubcommands(defs) {
		return nil, fmt.Errorf("%s needs a subcommand: %s", where, defNames(defs, true))
	}
	for _, opt := range c.Options {
		d := findDef(defs, opt.Name)
		if d == nil || d.Type == discordgo.ApplicationCommandOptionSubCommand || d.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			return nil, fmt.Errorf("%s has no option %q (options: %s)", where, opt.Name, defNames(defs, false))
		}
		value, err := g.optionValue(d, opt.Value, baseDir)
		if err != nil {
			return nil, fmt.Errorf("%s %s=%s: %v", where, opt.Name, opt.Value, err)
		}
		*into = append(*into, &discordgo.ApplicationCommandInteractionDataOption{Name: opt.Name, Type: d.Type, Value: value})
	}
	for _, d := range defs {
		if d.Required && !hasOption(*into, d.Name) {
			return nil, fmt.Errorf("%s needs the option %s", where, d.Name)
		}
	}
	return root, nil
}

func findDef(defs []*discordgo.ApplicationCommandOption, name string) *discordgo.ApplicationCommandOption {
	for _, d := range defs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func hasSubcommands(defs []*discordgo.ApplicationCommandOption) bool {
	for _, d := range defs {
		if d.Type == discordgo.ApplicationCommandOptionSubCommand || d.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			return true
		}
	}
	return false
}

func hasOption(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) bool {
	for _, o := range opts {
		if o.Name == name {
			return true
		}
	}
	return false
}

func defNames(defs []*discordgo.ApplicationCommandOption, subs bool) string {
	var names []string
	for _, d := range defs {
		isSub := d.Type == discordgo.ApplicationCommandOptionSubCommand || d.Type == discordgo.ApplicationCommandOptionSubCommandGroup
		if isSub == subs {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// optionValue converts a typed value: numbers and booleans parsed, a user
// or mentionable by member name (or id), a channel by #name, a role by
// name, an attachment read from a file.
func (g *testGuild) optionValue(d *discordgo.ApplicationCommandOption, raw, baseDir string) (any, error) {
	switch d.Type {
	case discordgo.ApplicationCommandOptionString:
		return raw, nil
	case discordgo.ApplicationCommandOptionInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("an integer option needs a whole number")
		}
		return n, nil
	case discordgo.ApplicationCommandOptionNumber:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("a number option needs a number")
		}
		return f, nil
	case discordgo.ApplicationCommandOptionBoolean:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("a boolean option is true or false")
		}
		return b, nil
	case discordgo.ApplicationCommandOptionUser:
		m, err := g.member(strings.TrimPrefix(raw, "@"))
		if err != nil {
			return nil, err
		}
		return m.UserID, nil
	case discordgo.ApplicationCommandOptionMentionable:
		if m, err := g.member(strings.TrimPrefix(raw, "@")); err == nil {
			return m.UserID, nil
		}
		r, err := g.role(strings.TrimPrefix(raw, "@"))
		if err != nil {
			return nil, fmt.Errorf("no member or role is called %q", raw)
		}
		return r.ID, nil
	case discordgo.ApplicationCommandOptionChannel:
		c, err := g.channel(strings.TrimPrefix(raw, "#"))
		if err != nil {
			return nil, err
		}
		return c.ID, nil
	case discordgo.ApplicationCommandOptionRole:
		r, err := g.role(strings.TrimPrefix(raw, "@"))
		if err != nil {
			return nil, err
		}
		return r.ID, nil
	case discordgo.ApplicationCommandOptionAttachment:
		path := raw
		if !filepath.IsAbs(path) {
			path = filepath.Join(baseDir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("an attachment is a file, relative to the case file: %v", err)
		}
		return discordtest.Upload{Filename: filepath.Base(path), Data: data}, nil
	}
	return nil, fmt.Errorf("options of type %v are not supported", d.Type)
}

// A smoke trigger is one thing the extension declared, fired once.
type smokeTrigger struct {
	label string
	want  func(extensions.Run) bool
	// fire acts and says how; skip, when set, says why it cannot be fired.
	fire func() (how string, skip string, err error)
}

// smoke installs the extension and fires each of its triggers once.
func smoke(ctx context.Context, r *report, data []byte, o testOptions, out io.Writer, t *tally) {
	var transcript io.Writer
	if o.verbose {
		transcript = out
	}
	g, err := newTestGuild(ctx, testGuildOptions{validate: o.validate, timeout: o.timeout, out: transcript})
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: the emulated guild did not start: %v\n", r.file, err)
		t.failed++
		return
	}
	defer g.close()
	if err := g.install(r, data); err != nil {
		fmt.Fprintf(out, "FAIL install %s: %v\n", r.man.Name, err)
		t.failed++
		return
	}
	if g.hasReg(sandbox.RegLifecycle, "install") {
		g.report(out, t, "onInstall", "at install", g.runs, nil)
	}
	for _, tr := range smokeTriggers(g) {
		if ctx.Err() != nil {
			return
		}
		n := g.runCount()
		g.runs, g.replies = nil, nil
		how, skip, err := tr.fire()
		if skip != "" {
			fmt.Fprintf(out, "SKIP %s: %s\n", tr.label, skip)
			t.skipped++
			continue
		}
		if err == nil {
			err = g.waitRun(n, tr.label, tr.want)
		}
		var runs []extensions.Run
		for _, run := range g.runsSince(n) {
			if tr.want(run) {
				runs = append(runs, run)
			}
		}
		g.report(out, t, tr.label, how, runs, err)
	}
	if violations := g.srv.Violations(); len(violations) > 0 {
		fmt.Fprintf(out, "FAIL Discord's rules: skybot sent requests Discord would refuse: %s\n", strings.Join(violations, "; "))
		t.failed++
	}
}

// report prints one fired trigger's result: PASS when it ran and every
// run ended well, with what the runs did and what skybot answered.
func (g *testGuild) report(out io.Writer, t *tally, label, how string, runs []extensions.Run, err error) {
	if err == nil {
		for _, r := range runs {
			if f := r.Result.Failure; f != nil {
				err = fmt.Errorf("%s", failureText(f))
				break
			}
		}
	}
	verdict := "PASS"
	if err != nil {
		verdict = "FAIL"
		t.failed++
	} else {
		t.passed++
	}
	line := fmt.Sprintf("%s %s (%s)", verdict, label, how)
	if err != nil {
		line += ": " + err.Error()
	}
	fmt.Fprintln(out, line)
	for _, r := range runs {
		fmt.Fprintf(out, "    · %s\n", describeRun(r))
		for _, c := range r.Result.Console {
			fmt.Fprintf(out, "    · console.%s: %s\n", c.Level, c.Text)
		}
	}
	for _, m := range g.replies {
		fmt.Fprintf(out, "    skybot: %s\n", strings.ReplaceAll(replyText(m), "\n", "\n      "))
	}
}

// smokeTriggers lists what to fire, in the order the extension declared
// it; components, jobs and the lifecycle come last, since they need the
// messages and jobs the other triggers made.
func smokeTriggers(g *testGuild) []smokeTrigger {
	man := g.ext.man
	if man.Legacy() {
		return legacyTriggers(g)
	}
	var list, late []smokeTrigger
	for _, r := range g.ext.regs {
		r := r
		switch r.Kind {
		case sandbox.RegPrefix:
			list = append(list, g.sayTrigger("prefix command !"+r.Key, g.prefix+r.Key, triggerIs("command")))
		case sandbox.RegKeyword:
			list = append(list, g.sayTrigger("keyword "+strings.Join(r.Keywords, ", "), keywordSample(r.Keywords), triggerIs("keyword")))
		case sandbox.RegCommand:
			list = append(list, g.slashTriggers(r.Key)...)
		case sandbox.RegEvent:
			list = append(list, g.eventTrigger(r.Key))
		case sandbox.RegEvery:
			d := time.Duration(r.EveryMS) * time.Millisecond
			list = append(list, g.advanceTrigger("every "+d.String(), func() time.Duration { return d }, triggerIs(sandbox.RegEvery)))
		case sandbox.RegCron:
			list = append(list, g.advanceTrigger("cron "+r.Cron, func() time.Duration { return g.untilCron(r.Cron) }, triggerIs(sandbox.RegCron)))
		case sandbox.RegAutocomplete:
			list = append(list, skipped("autocomplete of /"+r.Key, "it runs while a member types an option"))
		case sandbox.RegComponent:
			late = append(late, g.componentTrigger(r.Key))
		case sandbox.RegJob:
			late = append(late, g.jobTrigger(r.Key))
		case sandbox.RegLifecycle:
			switch r.Key {
			case "install":
				// reported at install
			case "update":
				late = append(late, skipped("onUpdate", "it runs on /ext update, which needs a newer version"))
			}
		}
	}
	list = append(list, late...)
	return append(list, g.lifecycleTriggers()...)
}

// lifecycleTriggers disable and enable the extension, then uninstall it,
// for the hooks it registered. It is enabled again after a disable.
func (g *testGuild) lifecycleTriggers() []smokeTrigger {
	var out []smokeTrigger
	hasDisable, hasEnable := g.hasReg(sandbox.RegLifecycle, "disable"), g.hasReg(sandbox.RegLifecycle, "enable")
	if hasDisable {
		out = append(out, smokeTrigger{label: "onDisable", want: triggerIs("disable"), fire: func() (string, string, error) {
			if err := g.extCommand("disable", "disable"); err != nil || hasEnable {
				return "admin runs /ext disable", "", err
			}
			return "admin runs /ext disable, then /ext enable", "", g.extCommand("enable", "")
		}})
	}
	if hasEnable {
		out = append(out, smokeTrigger{label: "onEnable", want: triggerIs("enable"), fire: func() (string, string, error) {
			if !hasDisable {
				if err := g.extCommand("disable", ""); err != nil {
					return "admin runs /ext disable", "", err
				}
			}
			return "admin runs /ext enable", "", g.extCommand("enable", "enable")
		}})
	}
	if g.hasReg(sandbox.RegLifecycle, "uninstall") {
		out = append(out, smokeTrigger{label: "onUninstall", want: triggerIs("uninstall"), fire: func() (string, string, error) {
			return "admin runs /ext uninstall", "", g.extCommand("uninstall", "uninstall")
		}})
	}
	return out
}

// legacyTriggers fires a SkynetBot-style extension's one trigger.
func legacyTriggers(g *testGuild) []smokeTrigger {
	man := g.ext.man
	switch man.Type {
	case extensions.TypeCommand:
		return []smokeTrigger{g.sayTrigger("command !"+man.Key, g.prefix+man.Key, triggerIs("command"))}
	case extensions.TypeKeyword:
		return []smokeTrigger{g.sayTrigger("keyword "+strings.Join(man.Keywords, ", "), keywordSample(man.Keywords), triggerIs("keyword"))}
	case extensions.TypeTimer:
		d := time.Duration(man.IntervalMS) * time.Millisecond
		return []smokeTrigger{g.advanceTrigger("timer every "+d.String(), func() time.Duration { return d }, triggerIs("timer"))}
	case extensions.TypeEvent:
		return []smokeTrigger{g.eventTrigger(man.Event)}
	case extensions.TypeSlash:
		return g.slashTriggers(strings.ToLower(man.Key))
	}
	return []smokeTrigger{skipped(man.Type, "ext test does not know this type")}
}

func skipped(label, why string) smokeTrigger {
	return smokeTrigger{label: label, want: anyRun, fire: func() (string, string, error) { return "", why, nil }}
}

// keywordSample is a message a keyword trigger matches.
func keywordSample(words []string) string {
	if len(words) == 0 || words[0] == "*" {
		return "hello everyone"
	}
	return "about " + words[0] + " today"
}

func (g *testGuild) sayTrigger(label, text string, want func(extensions.Run) bool) smokeTrigger {
	return smokeTrigger{label: label, want: want, fire: func() (string, string, error) {
		return "alice says " + strconv.Quote(text), "", g.say("alice", "", text)
	}}
}

func (g *testGuild) advanceTrigger(label string, by func() time.Duration, want func(extensions.Run) bool) smokeTrigger {
	return smokeTrigger{label: label, want: want, fire: func() (string, string, error) {
		d := by()
		return "advance " + d.String(), "", g.advance(d)
	}}
}

// untilCron is how far to advance for a cron schedule to be due.
func (g *testGuild) untilCron(spec string) time.Duration {
	sched, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor).Parse(spec)
	if err != nil {
		return time.Minute // validated at install; cannot happen
	}
	now := g.now()
	return sched.Next(now).Sub(now).Truncate(time.Second) + time.Second
}

// slashTriggers runs each leaf (subcommand) of a slash command once as the
// admin, with its required options filled by type.
func (g *testGuild) slashTriggers(name string) []smokeTrigger {
	def := g.command(name)
	if def == nil {
		return []smokeTrigger{{label: "slash command /" + name, want: anyRun, fire: func() (string, string, error) {
			return "admin runs /" + name, "", fmt.Errorf("skybot did not register /%s", name)
		}}}
	}
	var out []smokeTrigger
	var walk func(path []string, defs []*discordgo.ApplicationCommandOption)
	walk = func(path []string, defs []*discordgo.ApplicationCommandOption) {
		if hasSubcommands(defs) {
			for _, d := range defs {
				if d.Type == discordgo.ApplicationCommandOptionSubCommand || d.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
					walk(append(append([]string(nil), path...), d.Name), d.Options)
				}
			}
			return
		}
		label := strings.TrimSpace("slash command /" + name + " " + strings.Join(path, " "))
		out = append(out, smokeTrigger{label: label, want: slashRun, fire: func() (string, string, error) {
			// A member option names a member who joins for it, so that a
			// command that bans or kicks leaves alice and bob alone.
			cmd := exttest.Command{Name: name, Path: path}
			target := ""
			for _, d := range defs {
				if !d.Required {
					continue
				}
				switch d.Type {
				case discordgo.ApplicationCommandOptionAttachment:
					return "admin runs /" + name, "it needs an attachment; write a case with one", nil
				case discordgo.ApplicationCommandOptionUser, discordgo.ApplicationCommandOptionMentionable:
					if target == "" {
						target = g.freshName("target")
						if err := g.join(target); err != nil {
							return "admin runs /" + name, "", err
						}
					}
					cmd.Options = append(cmd.Options, exttest.Option{Name: d.Name, Value: target})
				default:
					cmd.Options = append(cmd.Options, exttest.Option{Name: d.Name, Value: sampleValue(d)})
				}
			}
			how := "admin runs " + cmd.String()
			opts, err := g.slashOptions(cmd, "")
			if err != nil {
				return how, "", err
			}
			return how, "", g.slash(testAdmin, "", name, opts)
		}})
	}
	walk(nil, def.Options)
	return out
}

// slashRun matches the run of a slash command (a legacy slash extension's
// are "slash").
func slashRun(r extensions.Run) bool { return r.Trigger == "command" || r.Trigger == "slash" }

// sampleValue is a plausible value of an option that is not a member, as a
// case file writes it.
func sampleValue(d *discordgo.ApplicationCommandOption) string {
	if len(d.Choices) > 0 {
		return fmt.Sprint(d.Choices[0].Value)
	}
	switch d.Type {
	case discordgo.ApplicationCommandOptionInteger, discordgo.ApplicationCommandOptionNumber:
		n := 1.0
		if d.MinValue != nil && *d.MinValue > n {
			n = *d.MinValue
		}
		if d.MaxValue != 0 && d.MaxValue < n {
			n = d.MaxValue
		}
		if d.Type == discordgo.ApplicationCommandOptionInteger {
			return strconv.FormatInt(int64(n), 10)
		}
		return strconv.FormatFloat(n, 'f', -1, 64)
	case discordgo.ApplicationCommandOptionBoolean:
		return "true"
	case discordgo.ApplicationCommandOptionChannel:
		return testGeneral
	case discordgo.ApplicationCommandOptionRole:
		return testMembers
	}
	s := "test"
	for d.MinLength != nil && len(s) < *d.MinLength {
		s += "x"
	}
	if d.MaxLength > 0 && len(s) > d.MaxLength {
		s = s[:d.MaxLength]
	}
	return s
}

// eventTrigger makes a guild event happen, for the events a test guild can
// produce.
func (g *testGuild) eventTrigger(event string) smokeTrigger {
	want := g.eventRun(event)
	label := "event " + event
	general := g.channels[testGeneral].ID
	fire := func(how string, act func() error) smokeTrigger {
		return smokeTrigger{label: label, want: want, fire: func() (string, string, error) { return how, "", act() }}
	}
	// prepare posts a message as alice, outside the measured action.
	prepare := func(text string) (*discordgo.Message, error) {
		msg, err := g.srv.SendMessage(general, g.members["alice"].UserID, text)
		if err == nil {
			err = g.waitHandled(msg.ID)
		}
		return msg, err
	}
	switch event {
	case "guildMemberAdd":
		name := g.freshName("carol")
		return fire(name+" joins", func() error { return g.join(name) })
	case "guildMemberRemove":
		name := g.freshName("dave")
		return fire(name+" joins and leaves", func() error {
			if err := g.join(name); err != nil {
				return err
			}
			return g.leave(name)
		})
	case "messageCreate":
		return fire(`alice says "hello"`, func() error { return g.say("alice", "", "hello") })
	case "messageUpdate":
		return fire("alice edits a message", func() error {
			msg, err := prepare("hello")
			if err != nil {
				return err
			}
			a := g.begin()
			defer a.finish()
			_, err = g.srv.EditMessage(general, msg.ID, g.members["alice"].UserID, "hello (edited)")
			return err
		})
	case "messageDelete":
		return fire("alice deletes a message", func() error {
			msg, err := prepare("oops")
			if err != nil {
				return err
			}
			a := g.begin()
			defer a.finish()
			return g.srv.DeleteMessage(general, msg.ID, g.members["alice"].UserID)
		})
	case "messageReactionAdd":
		return fire("bob reacts 👍 to alice's message", func() error {
			msg, err := prepare("react to me")
			if err != nil {
				return err
			}
			a := g.begin()
			defer a.finish()
			return g.srv.AddReaction(general, msg.ID, g.members["bob"].UserID, "👍")
		})
	case "guildMemberUpdate":
		return fire("alice gets a nickname", func() error {
			a := g.begin()
			defer a.finish()
			return g.srv.SetNick(g.guild.ID, g.members["alice"].UserID, "Alice")
		})
	}
	return skipped(label, "ext test cannot make this event happen yet; write a case that causes it")
}

// componentTrigger clicks a button of the extension's own messages whose
// custom id starts with the registered prefix.
func (g *testGuild) componentTrigger(prefix string) smokeTrigger {
	label := "components " + prefix + "*"
	return smokeTrigger{label: label, want: triggerIs(extensions.InteractionComponent), fire: func() (string, string, error) {
		want := extensions.ComponentID(g.ext.man.Name, prefix)
		for i := len(g.sent) - 1; i >= 0; i-- {
			msg, ok := g.srv.Message(g.sent[i].ChannelID, g.sent[i].ID)
			if !ok {
				continue
			}
			for _, row := range msg.Components {
				r, ok := row.(*discordgo.ActionsRow)
				if !ok {
					continue
				}
				for _, c := range r.Components {
					if b, ok := c.(*discordgo.Button); ok && strings.HasPrefix(b.CustomID, want) && !b.Disabled {
						return fmt.Sprintf("alice clicks [%s]", b.Label), "", g.click("alice", b.Label)
					}
				}
			}
		}
		return "", "none of the extension's messages so far shows a button whose custom id starts with " + strconv.Quote(prefix), nil
	}}
}

// jobTrigger advances the clock to the extension's pending sky.later jobs.
func (g *testGuild) jobTrigger(prefix string) smokeTrigger {
	label := "jobs " + prefix + "*"
	return smokeTrigger{label: label, want: triggerIs(sandbox.RegJob), fire: func() (string, string, error) {
		g.app.scheduler.SyncDirty(g.ctx)
		now := g.now()
		var until time.Duration // 0: none pending
		marker := g.ext.man.Name + " job:" + prefix
		for _, p := range g.app.scheduler.Pending(store.GuildID(g.guild.ID)) {
			if !strings.HasPrefix(p, marker) {
				continue
			}
			_, at, ok := strings.Cut(p, " @ ")
			due, err := time.Parse(time.RFC3339, at)
			if !ok || err != nil {
				continue
			}
			until = max(until, advanceFor(due, now))
		}
		if until == 0 {
			return "", "no sky.later job with this prefix was pending after the other triggers ran", nil
		}
		return "advance " + until.String(), "", g.advance(until)
	}}
}

// advanceFor is how far to move the clock from now so that a job the
// scheduler lists as due (in whole seconds, so really due up to a second
// later) has come: rounded up to a second, plus one, and at least one.
// Rounding down failed whenever the clock's fraction of a second was
// below the job's.
func advanceFor(due, now time.Time) time.Duration {
	return max((due.Sub(now)+time.Second-1).Truncate(time.Second)+time.Second, time.Second)
}

// freshName is base, or base2, base3, ... : a name no member has had.
func (g *testGuild) freshName(base string) string {
	name := base
	for i := 2; g.named[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	g.named[name] = true
	return name
}
