package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

const extValidateUsage = `Usage: skybot ext validate [--pub KEY.pub] <file.skyext|file.skypkg|dir> ...

Runs the checks a submission goes through: the header or package is read,
the code compiled, its top level run once in a sandbox worker (as an install
does) and what it registers checked, then the security scan. Every finding
is printed as "file:line: severity: message" ("file: ..." when it is about
the file as a whole), then a summary per file. A directory stands for the
.skyext and .skypkg files in it.

Exit code 1 when any finding is an error.
`

func extValidateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newExtFlags("validate", extValidateUsage)
	pubPath := fs.String("pub", "", "check each .skypkg's signature against this public key file (from skybot ext keygen)")
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, "validate", extValidateUsage, "name at least one .skyext or .skypkg file")
	}
	files, err := extensionFiles(pos, ".skyext", ".skypkg")
	if err != nil {
		return usageError(stderr, "validate", extValidateUsage, "%v", err)
	}
	var pub ed25519.PublicKey
	if *pubPath != "" {
		if pub, err = readPublicKey(*pubPath); err != nil {
			fmt.Fprintf(stderr, "skybot ext validate: %v\n", err)
			return exitUsage
		}
	}
	v, err := newValidator(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "skybot ext validate: %v\n", err)
		return exitFail
	}
	defer v.close()
	failed := false
	for _, f := range files {
		r := v.check(ctx, f)
		if pub != nil {
			r.checkSignature(pub, *pubPath)
		}
		r.print(stdout)
		failed = failed || r.errors() > 0
	}
	if failed {
		return exitFail
	}
	return exitOK
}

// validator runs the validation pipeline outside any guild: a sandbox
// worker for the top level, and a scratch store and manager whose system
// extension loader applies the same rules an upload meets (sizes, header,
// compile, the registrations' routing).
type validator struct {
	sup     *sandbox.Supervisor
	st      *store.Store
	mgr     *extensions.Manager
	scratch string
	limits  sandbox.Limits
}

// refuseActions answers host calls of a validation run: its top level
// may not make any, and nothing is granted anyway.
type refuseActions struct{}

func (refuseActions) Perform(context.Context, sandbox.Call) (json.RawMessage, error) {
	return nil, sandbox.Errorf(sandbox.CodeForbidden, "the top level may only register handlers; host APIs are for handlers")
}

func newValidator(ctx context.Context) (*validator, error) {
	cfg := config.Default()
	scratch, err := os.MkdirTemp("", "skybot-validate-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	// The code is untrusted (a reviewer validates others' submissions), so
	// it runs in a worker process with the same limits as in a guild.
	sup, err := sandbox.NewWorkerSupervisor(refuseActions{}, nil, sandbox.Options{Workers: 1})
	if err != nil {
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("start a sandbox worker: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(scratch, "validate.db"))
	if err != nil {
		sup.Close()
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("scratch store: %w", err)
	}
	limits := sandbox.Limits{
		Timeout:      cfg.Sandbox.Timeout.Duration,
		MaxCallStack: cfg.Sandbox.MaxCallStack,
		MaxHostCalls: cfg.Sandbox.MaxHostCalls,
		MaxAlloc:     int64(cfg.Sandbox.MemoryLimitMB) << 20,
	}
	mgr := extensions.NewManager(st, sup, extensions.Options{
		MaxAttachmentBytes: cfg.Extensions.MaxAttachmentBytes,
		MaxSourceBytes:     cfg.Extensions.MaxSourceBytes,
		Limits:             limits,
	})
	return &validator{sup: sup, st: st, mgr: mgr, scratch: scratch, limits: limits}, nil
}

func (v *validator) close() {
	v.sup.Close()
	_ = v.st.Close()
	os.RemoveAll(v.scratch)
}

// report is what validation found about one file.
type report struct {
	file     string
	parsed   bool // the manifest and code were read
	man      extensions.Manifest
	code     string
	pkg      *extensions.Package // a .skypkg
	regs     []sandbox.Registration
	findings []extensions.Finding
}

func (r *report) add(severity, stage string, line int, msg string) {
	r.findings = append(r.findings, extensions.Finding{Severity: severity, Stage: stage, Line: line, Message: msg})
}

func (r *report) errors() int {
	n := 0
	for _, f := range r.findings {
		if f.Severity == extensions.SeverityError {
			n++
		}
	}
	return n
}

// check runs the pipeline on one file. Each stage runs only when the one
// before it passed; the security scan runs whenever the code compiles.
func (v *validator) check(ctx context.Context, path string) *report {
	r := &report{file: path}
	data, err := os.ReadFile(path)
	if err != nil {
		r.add(extensions.SeverityError, "package", 0, fmt.Sprintf("cannot read the file: %v", err))
		return r
	}
	if strings.EqualFold(filepath.Ext(path), ".skypkg") {
		pkg, err := extensions.ParseSkypkg(data)
		if err != nil {
			r.addError("package", err)
			return r
		}
		r.pkg, r.man, r.code = &pkg, pkg.Manifest, pkg.Code
		for _, w := range pkg.Warnings {
			r.add(extensions.SeverityWarning, "package", 0, w)
		}
	} else if r.man, r.code, err = extensions.ParseSkyext(data); err != nil {
		r.addError("package", err)
		return r
	}
	r.parsed = true

	prog, err := sandbox.Compile(r.man.Name+".skyext", r.code, r.man.Legacy())
	if err != nil {
		line, msg := 0, err.Error()
		if m := syntaxError.FindStringSubmatch(msg); m != nil { // goja names the program, not the file
			line, _ = strconv.Atoi(m[1])
			msg = fmt.Sprintf("syntax error at column %s: %s", m[2], m[3])
		}
		r.add(extensions.SeverityError, "package", line, "The code does not compile: "+msg+".")
		return r
	}
	// The scan reads code that compiles (it would only repeat a syntax
	// error), whatever the later stages find.
	defer func() {
		r.findings = append(r.findings, extensions.ScanCode(r.man, r.code)...)
		slices.SortStableFunc(r.findings, func(a, b extensions.Finding) int { return cmp.Compare(a.Line, b.Line) })
	}()
	if !r.man.Legacy() {
		res, err := v.sup.Deliver(ctx, sandbox.Delivery{
			Spec: sandbox.Spec{Key: sandbox.Key{Guild: "validate", Extension: r.man.Name}, Version: r.man.Version,
				Program: prog, Granted: sandbox.NewScopeSet(), Limits: v.limits},
			Event: sandbox.Event{Kind: sandbox.EventDescribe},
		})
		switch {
		case err != nil:
			r.add(extensions.SeverityError, "package", 0, "The top level could not be run: "+err.Error())
			return r
		case res.Failure != nil:
			f := res.Failure
			r.add(extensions.SeverityError, "package", stackLine(f.Stack+" "+f.Message),
				fmt.Sprintf("The top level failed (%s): %s", f.Kind, f.Message))
			return r
		}
		r.regs = res.Registrations
	}
	// The loader of system extensions reads a file exactly as an upload is
	// read, and refuses what a guild would: the checks not repeated above.
	dir, err := os.MkdirTemp(v.scratch, "load-")
	if err != nil {
		r.add(extensions.SeverityError, "package", 0, "scratch directory: "+err.Error())
		return r
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o600); err != nil {
		r.add(extensions.SeverityError, "package", 0, "scratch copy: "+err.Error())
		return r
	}
	if err := v.mgr.LoadSystem(ctx, dir); err != nil {
		e := skyerr.From(err)
		r.add(extensions.SeverityError, "package", lineMentioning(r.code, e.Message), string(e.Code)+": "+e.Message)
	}
	return r
}

// addError records a refusal, with the line its sentence names.
func (r *report) addError(stage string, err error) {
	msg := err.Error()
	if e := skyerr.From(err); e.Code != skyerr.Unknown || e.Err == nil {
		msg = string(e.Code) + ": " + e.Message
	}
	line := 0
	if m := headerLine.FindStringSubmatch(msg); m != nil { // "Line 3: @version ..."
		line, _ = strconv.Atoi(m[2])
		msg = m[1] + m[3]
	}
	r.add(extensions.SeverityError, stage, line, msg)
}

var (
	headerLine  = regexp.MustCompile(`^(.*?)Line (\d+): (.*)$`)
	syntaxError = regexp.MustCompile(`Line (\d+):(\d+) (.*?)\.?$`)
	stackPos    = regexp.MustCompile(`\.skyext:(\d+)(?::\d+)?`)
	quoted      = regexp.MustCompile(`"([^"]+)"`)
)

// stackLine is the line of the first position in a JS stack.
func stackLine(stack string) int {
	if m := stackPos.FindStringSubmatch(stack); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// lineMentioning guesses the line a registration refusal is about: the
// first line of code holding the first quoted word of the message as a
// JS string (sky.on('guildMemberAd', ...)). 0 when there is none.
func lineMentioning(code, msg string) int {
	m := quoted.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	for i, line := range strings.Split(code, "\n") {
		for _, q := range []string{"'", `"`, "`"} {
			if strings.Contains(line, q+m[1]+q) {
				return i + 1
			}
		}
	}
	return 0
}

// checkSignature checks a .skypkg's signature with pub.
func (r *report) checkSignature(pub ed25519.PublicKey, keyFile string) {
	if r.pkg == nil {
		return
	}
	switch {
	case len(r.pkg.Signature) == 0:
		r.add(extensions.SeverityError, "package", 0, "the package is not signed")
	case !verifySignature(pub, *r.pkg):
		r.add(extensions.SeverityError, "package", 0, "the signature does not match the code and the key in "+keyFile)
	}
}

// print writes the findings and a summary.
func (r *report) print(w io.Writer) {
	if r.parsed {
		style := "handler style"
		if r.man.Legacy() {
			style = "legacy @type " + r.man.Type
		}
		scopes := "no scopes"
		if len(r.man.Scopes) > 0 {
			scopes = "scopes " + strings.Join(r.man.Scopes, ", ")
		}
		fmt.Fprintf(w, "%s: %s %s, %s, %s\n", r.file, r.man.Name, r.man.Version, style, scopes)
		if r.man.Legacy() {
			fmt.Fprintf(w, "  trigger: %s\n", extensions.DescribeTrigger(r.man))
		} else if len(r.regs) > 0 {
			var regs []string
			for _, reg := range r.regs {
				regs = append(regs, describeReg(reg))
			}
			fmt.Fprintf(w, "  registers: %s\n", strings.Join(regs, "; "))
		}
		if r.pkg != nil && len(r.pkg.Signature) > 0 {
			fmt.Fprintf(w, "  signed (%d-byte ed25519 signature)\n", len(r.pkg.Signature))
		}
	}
	warnings := 0
	for _, f := range r.findings {
		if f.Severity != extensions.SeverityError {
			warnings++
		}
		if f.Line > 0 {
			fmt.Fprintf(w, "%s:%d: %s: %s\n", r.file, f.Line, f.Severity, f.Message)
		} else {
			fmt.Fprintf(w, "%s: %s: %s\n", r.file, f.Severity, f.Message)
		}
	}
	verdict := "ok"
	if r.errors() > 0 {
		verdict = "refused"
	}
	fmt.Fprintf(w, "%s: %s, %s, %s\n", r.file, verdict, plural(r.errors(), "error"), plural(warnings, "warning"))
}

// describeReg says in a few words what a registration handles.
func describeReg(r sandbox.Registration) string {
	switch r.Kind {
	case sandbox.RegEvent:
		if r.Bots {
			return "event " + r.Key + " (bots' too)"
		}
		return "event " + r.Key
	case sandbox.RegCommand:
		return "slash command /" + r.Key
	case sandbox.RegAutocomplete:
		return "autocomplete of /" + r.Key
	case sandbox.RegPrefix:
		return "prefix command !" + r.Key
	case sandbox.RegKeyword:
		return "keyword " + strings.Join(r.Keywords, ", ")
	case sandbox.RegEvery:
		return "every " + (time.Duration(r.EveryMS) * time.Millisecond).String()
	case sandbox.RegCron:
		return "cron " + r.Cron
	case sandbox.RegComponent:
		return "components " + r.Key + "*"
	case sandbox.RegJob:
		return "jobs " + r.Key + "*"
	case sandbox.RegLifecycle:
		if r.Key == "" {
			return "a lifecycle hook"
		}
		return "on" + strings.ToUpper(r.Key[:1]) + r.Key[1:]
	}
	return r.Kind + " " + r.Key
}
