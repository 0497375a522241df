package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/exttest"
	"github.com/skyext/skybot/store"
)

const devUsage = `Usage: skybot dev [--validate] [--timeout D] <file.skyext>

Runs one extension in an emulated guild, offline, and gives you a prompt
to act in it as a member. The guild is skybot ext test's: admin (role
Admins: Manage Server and the moderation rights), alice and bob (role
Members), an unused role Helpers, channels #general and #random; the
command prefix is !. The extension is installed with /ext install and every
scope it declares.

Each line is a step of the case-file grammar ("skybot ext test -h"):
  say alice: !hello              slash admin: /welcome stats
  say bob in #random: hi         click bob: Soup
  join carol                     leave bob
  advance 5m                     expect storage joins = 1
What the guild did prints under it: each run of the extension with its
host calls and their scopes, its console output, errors with the line they
happened at, and skybot's messages. Also:
  storage     the extension's stored keys and values
  logs        the extension's log (console lines, errors, refusals)
  reload      reload the file now
  help        this text
  quit        stop (so does the end of input)

Saving the file reloads it: it is validated, then installed over the
running one with /ext update as version <version>-dev.N (new scopes are
accepted); its storage is kept. A file that does not validate is not
installed, and the previous version keeps running. Schedules fire on the
guild's clock: real time plus every advance.
`

// devPoll is how often skybot dev looks at the file and the schedule.
const devPoll = 200 * time.Millisecond

// devSession is one skybot dev run: the guild, the file it watches and
// how many times it was reloaded.
type devSession struct {
	ctx     context.Context
	v       *validator
	g       *testGuild
	file    string
	sum     [32]byte // of the file as last loaded (or refused)
	reloads int
	out     io.Writer
	echo    bool // print each line read: the input is not a terminal, so it is not on screen
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func devCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := &extFlags{FlagSet: flag.NewFlagSet("skybot dev", flag.ContinueOnError), usage: devUsage}
	fs.SetOutput(io.Discard)
	validate := fs.Bool("validate", false, "check every request skybot sends against Discord's OpenAPI description")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for skybot after each step")
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 || !strings.EqualFold(filepath.Ext(pos[0]), ".skyext") {
		fmt.Fprintf(stderr, "skybot dev: name one .skyext file\n\n%s", devUsage)
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "skybot dev: --timeout must be positive\n\n%s", devUsage)
		return exitUsage
	}
	v, err := newValidator(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "skybot dev: %v\n", err)
		return exitFail
	}
	defer v.close()
	d := &devSession{ctx: ctx, v: v, file: pos[0], out: stdout, echo: !isTerminal(stdin)}
	r, data, ok := d.load()
	if !ok {
		return exitFail
	}
	d.g, err = newTestGuild(ctx, testGuildOptions{validate: *validate, timeout: *timeout, out: stdout, installAttempts: 1 << 20})
	if err != nil {
		fmt.Fprintf(stderr, "skybot dev: the emulated guild did not start: %v\n", err)
		return exitFail
	}
	defer d.g.close()
	if err := d.g.install(r, data); err != nil {
		fmt.Fprintf(stderr, "skybot dev: install: %v\n", err)
		return exitFail
	}
	d.banner(r)
	d.g.printEffects("  ")
	return d.loop(stdin)
}

// load validates the file and gives it the next dev version; ok is false
// (and the findings are printed) when it does not validate.
func (d *devSession) load() (*report, []byte, bool) {
	data, err := os.ReadFile(d.file)
	if err != nil {
		fmt.Fprintf(d.out, "✗ %v\n", err)
		return nil, nil, false
	}
	d.sum = sha256.Sum256(data)
	r := d.v.check(d.ctx, d.file)
	if r.errors() > 0 {
		r.print(d.out)
		fmt.Fprintf(d.out, "✗ %s does not validate (%s)\n", d.file, plural(r.errors(), "error"))
		return nil, nil, false
	}
	d.reloads++
	return r, devVersion(data, r.man.Version, d.reloads), true
}

// versionLine is the @version line of a .skyext header.
var versionLine = regexp.MustCompile(`(?m)^(\s*//\s*@version\s+)\S+`)

// devVersion rewrites the file's @version to <version>-dev.n, so that each
// save is a newer version skybot can update to.
func devVersion(data []byte, version string, n int) []byte {
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return data // validated already; cannot happen
	}
	dev := fmt.Sprintf("%d.%d.%d-dev.%d", v.Major(), v.Minor(), v.Patch(), n)
	loc := versionLine.FindSubmatchIndex(data)
	if loc == nil {
		return data
	}
	return slices.Concat(data[:loc[3]], []byte(dev), data[loc[1]:])
}

func (d *devSession) banner(r *report) {
	g := d.g
	fmt.Fprintf(d.out, "skybot dev: %s %s is installed in an emulated guild (offline).\n", r.man.Name, d.runningVersion())
	fmt.Fprintf(d.out, "  members: admin (Admins), alice and bob (Members); roles: Admins, Members, Helpers; channels: #general, #random; prefix %s\n", g.prefix)
	if cmds := g.slashCommands(); len(cmds) > 0 {
		fmt.Fprintf(d.out, "  slash commands: /%s\n", strings.Join(cmds, ", /"))
	}
	fmt.Fprintf(d.out, "  type a step (say alice: %shello), help, or quit; saving %s reloads it\n", g.prefix, filepath.Base(d.file))
}

// loop reads prompt lines until quit or the end of input, and between
// lines watches the file and fires what the schedule has due.
func (d *devSession) loop(stdin io.Reader) int {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-d.ctx.Done():
				return
			}
		}
	}()
	poll := time.NewTicker(devPoll)
	defer poll.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return exitOK
		case line, ok := <-lines:
			if ok && d.echo {
				fmt.Fprintf(d.out, "> %s\n", line)
			}
			if !ok || !d.line(strings.TrimSpace(line)) {
				fmt.Fprintln(d.out, "bye")
				return exitOK
			}
		case <-poll.C:
			d.watch()
			d.tick()
		}
	}
}

// line runs one prompt line; it returns false to stop.
func (d *devSession) line(line string) bool {
	g := d.g
	switch line {
	case "", "#":
		return true
	case "quit", "exit":
		return false
	case "help":
		fmt.Fprint(d.out, devUsage)
		return true
	case "storage":
		d.printStorage()
		return true
	case "logs":
		d.printLogs()
		return true
	case "reload":
		d.reload()
		return true
	}
	if strings.HasPrefix(line, "#") {
		return true
	}
	st, err := exttest.ParseStep(line)
	if err != nil {
		fmt.Fprintf(d.out, "? %v (help lists the steps)\n", err)
		return true
	}
	if !st.Kind.IsAction() {
		if err := g.expect(st); err != nil {
			fmt.Fprintf(d.out, "✗ %v%s\n", err, g.failureNote())
		} else {
			fmt.Fprintf(d.out, "✓ %s\n", st.String())
		}
		return true
	}
	if err := g.do(st, filepath.Dir(d.file)); err != nil {
		fmt.Fprintf(d.out, "✗ %v\n", err)
	}
	d.printReaction()
	return true
}

// printReaction prints what the latest action caused.
func (d *devSession) printReaction() {
	if len(d.g.runs) == 0 && len(d.g.replies) == 0 {
		fmt.Fprintln(d.out, "  (nothing happened: the extension did not run and skybot sent nothing)")
		return
	}
	d.g.printEffects("  ")
}

// watch reloads the file when its content changed since the last load.
func (d *devSession) watch() {
	data, err := os.ReadFile(d.file)
	if err != nil || sha256.Sum256(data) == d.sum {
		return // a save in progress (or a deleted file) is looked at again next time
	}
	d.reload()
}

// reload installs the file over the running version, keeping its storage.
func (d *devSession) reload() {
	g := d.g
	fmt.Fprintf(d.out, "↻ %s changed; reloading\n", filepath.Base(d.file))
	r, data, ok := d.load()
	if !ok {
		fmt.Fprintf(d.out, "  not reloaded: %s %s keeps running\n", g.ext.man.Name, d.runningVersion())
		return
	}
	if r.man.Name != g.ext.man.Name {
		fmt.Fprintf(d.out, "✗ not reloaded: @name changed from %s to %s; restart skybot dev to run another extension\n", g.ext.man.Name, r.man.Name)
		return
	}
	answer, err := g.update(r, data)
	if err != nil || !strings.HasPrefix(answer, "Updated") {
		if err != nil {
			answer = err.Error()
		}
		fmt.Fprintf(d.out, "✗ not reloaded: %s\n", answer)
		return
	}
	g.ext = r
	for _, name := range g.slashCommands() {
		if err := g.waitFor("registering /"+name, func() bool { return g.command(name) != nil }); err != nil {
			fmt.Fprintf(d.out, "✗ /%s is not registered: %v\n", name, err)
		}
	}
	kept := "storage kept"
	if n, _, err := g.app.store.StorageUsage(d.ctx, store.GuildID(g.guild.ID), g.extID); err != nil {
		kept += " (its size could not be read: " + err.Error() + ")"
	} else {
		kept += " (" + plural(n, "key") + ")"
	}
	fmt.Fprintf(d.out, "  reloaded as %s %s; %s\n", r.man.Name, d.runningVersion(), kept)
	g.printEffects("  ")
}

// runningVersion is the installed version as the store has it.
func (d *devSession) runningVersion() string {
	in, err := d.g.app.store.InstallByName(d.ctx, store.GuildID(d.g.guild.ID), d.g.ext.man.Name)
	if err != nil {
		return "?"
	}
	return in.Version
}

// tick fires what the schedule has due on the guild's clock and prints
// it; when nothing was due, the latest action's replies stay what expect
// reply looks at.
func (d *devSession) tick() {
	g := d.g
	runs, replies := g.runs, g.replies
	a := g.begin()
	g.app.scheduler.SyncDirty(g.ctx)
	g.app.scheduler.RunDue(g.ctx, g.now())
	a.finish()
	if len(g.runs) == 0 && len(g.replies) == 0 {
		g.runs, g.replies = runs, replies
		return
	}
	fmt.Fprintln(d.out, "⏰ the schedule fired:")
	g.printEffects("  ")
}

func (d *devSession) printStorage() {
	g := d.g
	kvs, err := g.app.store.StorageList(d.ctx, store.GuildID(g.guild.ID), g.extID, "", 100)
	if err != nil {
		fmt.Fprintf(d.out, "✗ reading storage: %v\n", err)
		return
	}
	if len(kvs) == 0 {
		fmt.Fprintln(d.out, "  (storage is empty)")
		return
	}
	for _, kv := range kvs {
		fmt.Fprintf(d.out, "  %s = %s\n", kv.Key, kv.Value)
	}
	if len(kvs) == 100 {
		fmt.Fprintln(d.out, "  (the first 100 keys)")
	}
}

func (d *devSession) printLogs() {
	entries, err := d.g.logs()
	if err != nil {
		fmt.Fprintf(d.out, "✗ reading the log: %v\n", err)
		return
	}
	if len(entries) == 0 {
		fmt.Fprintln(d.out, "  (the log is empty)")
		return
	}
	for _, e := range entries[max(0, len(entries)-30):] {
		fmt.Fprintf(d.out, "  %s\n", logLine(e))
	}
}
