package extensions

import (
	"cmp"
	"fmt"
	"slices"
)

// A finding is one thing the validation pipeline or the security scan has
// to say about a package, with the line of the code it is about (0 when it
// is about the manifest or the package as a whole).
type Finding struct {
	Severity string // SeverityError refuses a submission; SeverityWarning is shown to reviewers
	Stage    string // "package", "scan", "version", "author"
	Line     int
	Message  string
}

// Finding severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Pipeline stages, as Finding.Stage names them.
const (
	StagePackage = "package"
	StageScan    = "scan"
	StageVersion = "version"
	StageAuthor  = "author"
)

// ScanCode is the security scan of a version's code against its manifest
// (SKYEXT.md; the marketplace issue). It does not run the code. Its rules:
//
//   - Forbidden (errors): eval, the Function constructor (also reached as
//     .constructor.constructor or a function's .constructor), with,
//     import, assigning __proto__, require() of a module skybot does not
//     give code of this style. require() with a computed name is a
//     warning: the scan cannot follow it.
//   - Host APIs (sandbox.APIs) the code calls through require('x').f,
//     a variable or destructured name bound to it, or a handler's ctx
//     (ctx.reply of a prefix, keyword or message handler is message.reply;
//     an interaction's helpers need no scope): an API whose scope the
//     manifest lacks is an error, as is a legacy data module (member,
//     channel, guild, roles, config) required without its scope. A
//     declared scope nothing uses is a warning; embeds count for
//     embed_links, the messages and reactions modules for messages_global.
//   - Network: http.request with no @hosts (and, for legacy code, no
//     network capability) is an error; a URL literal whose host @hosts does
//     not cover, or a plain http:// URL without network_advanced, is a
//     warning when the code uses http; @hosts without any http is a warning.
//
// The code is parsed as the sandbox compiles it (legacy code wrapped in its
// async function, on the same lines), so every finding's Line is a line of
// the extension's own file; for a .skyext that file includes the header,
// and manifest-level findings point at its @scopes or @hosts line (0 when
// the code has no header). Code the sandbox would refuse to compile gives
// exactly one finding, an error with the line the parser or compiler
// named. ScanCode keeps no state between calls and is safe to call
// concurrently.
//
// The scan follows values the way code usually holds modules — a variable
// or destructured name bound to require('x'), aliases of those, and a
// handler's ctx — through JavaScript's scopes. What it cannot follow (a
// module passed to a function, a computed member) never makes an error;
// it only keeps the module's scopes from being reported as unused.
func ScanCode(man Manifest, code string) []Finding {
	tree, failed := parseForScan(man, code)
	if failed != nil {
		return []Finding{*failed}
	}
	s := newScanner(man, code, tree.File)
	s.stmts(tree.Body)
	s.finish()
	return sortFindings(s.findings)
}

// makeFinding builds a finding of stage; a line above 0 is named in the
// message too, so the sentence stands on its own in a card or a terminal.
func makeFinding(stage, severity string, line int, format string, args ...any) Finding {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	return Finding{Severity: severity, Stage: stage, Line: line, Message: msg}
}

// sortFindings orders findings by line, those about the whole package
// (line 0) last, keeping the order they were found in otherwise.
func sortFindings(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return fs
}
