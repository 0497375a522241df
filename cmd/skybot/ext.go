package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The author's offline loop: skybot ext init|validate|pack|test|keygen.
// Each command returns its exit code: 0 done, 1 the extension has errors
// or its tests failed, 2 the command line cannot be acted on (a bad flag,
// a missing file, a name that is not a slug, a directory that exists).

const extUsage = `skybot ext — write, check, test and package extensions, offline.

Usage:
  skybot ext init <name> [--dir DIR]       scaffold DIR/<name>/: <name>.skyext, tests.txt, skybot.d.ts, README.md
  skybot ext validate [--pub KEY.pub] <file.skyext|file.skypkg|dir> ...
                                           the checks a submission goes through, each finding with its line
  skybot ext test [-v] [--validate] <file.skyext|dir> ...
                                           run the extension in an emulated guild: its tests.txt cases, or
                                           each trigger once when it has none; ends with "N passed, N failed"
  skybot ext pack <file.skyext|dir> [-o OUT] [--key KEYFILE]
                                           validate, then write a 2.0 .skypkg (signed with --key)
  skybot ext keygen <OUT>                  write an ed25519 key pair: OUT (private, 0600) and OUT.pub

Exit codes: 0 ok; 1 findings with errors, failed tests; 2 a command line that cannot be acted on.
Run "skybot ext <command> -h" for a command's options.
`

// Exit codes of the ext commands.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// extCmd dispatches skybot ext <command>.
func extCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, extUsage)
		return exitUsage
	}
	rest := args[1:]
	switch args[0] {
	case "init":
		return extInitCmd(rest, stdout, stderr)
	case "validate":
		return extValidateCmd(ctx, rest, stdout, stderr)
	case "test":
		return extTestCmd(ctx, rest, stdout, stderr)
	case "pack":
		return extPackCmd(ctx, rest, stdout, stderr)
	case "keygen":
		return extKeygenCmd(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, extUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "skybot ext: unknown command %q\n\n%s", args[0], extUsage)
	return exitUsage
}

// extFlags is a flag set whose -h prints the command's usage to stdout
// and whose errors print it to stderr.
type extFlags struct {
	*flag.FlagSet
	usage string
}

func newExtFlags(name, usage string) *extFlags {
	fs := flag.NewFlagSet("skybot ext "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &extFlags{FlagSet: fs, usage: usage}
}

// parse reads flags given before, between or after the positional
// arguments and returns those; exit is set when the command should stop
// (help was asked for: 0; a bad flag: 2).
func (f *extFlags) parse(args []string, stdout, stderr io.Writer) (positional []string, exit int, stop bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, f.usage)
				f.printOptions(stdout)
				return nil, exitOK, true
			}
			fmt.Fprintf(stderr, "%s: %v\n\n%s", f.Name(), err, f.usage)
			f.printOptions(stderr)
			return nil, exitUsage, true
		}
		args = f.Args()
		if len(args) == 0 {
			return positional, 0, false
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// PrintDefaults2 prints the flags' help to w.
func (f *extFlags) printOptions(w io.Writer) {
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if !has {
		return
	}
	fmt.Fprintln(w, "\nOptions:")
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// usageError prints a sentence and the command's usage to stderr.
func usageError(stderr io.Writer, cmd, usage, format string, args ...any) int {
	fmt.Fprintf(stderr, "skybot ext %s: %s\n\n%s", cmd, fmt.Sprintf(format, args...), usage)
	return exitUsage
}

// extensionFiles expands the arguments into extension files: a file as
// itself (it must end in one of exts), a directory into the files directly
// in it that do (sorted). A directory without any is an error.
func extensionFiles(args []string, exts ...string) ([]string, error) {
	var out []string
	matches := func(name string) bool {
		return slices.Contains(exts, strings.ToLower(filepath.Ext(name)))
	}
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("%s: no such file or directory", arg)
		}
		if !info.IsDir() {
			if !matches(arg) {
				return nil, fmt.Errorf("%s is not a %s file", arg, strings.Join(exts, " or "))
			}
			out = append(out, arg)
			continue
		}
		entries, err := os.ReadDir(arg)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", arg, err)
		}
		n := len(out)
		for _, e := range entries {
			if !e.IsDir() && matches(e.Name()) {
				out = append(out, filepath.Join(arg, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s holds no %s file", arg, strings.Join(exts, " or "))
		}
	}
	return out, nil
}

// plural writes "1 error" / "2 errors".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
