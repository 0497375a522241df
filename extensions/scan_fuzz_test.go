package extensions

import (
	"strings"
	"testing"

	"github.com/skyext/skybot/sandbox"
)

// FuzzScanCode: the scan reads untrusted code in the trusted process. It
// must never panic, and code the sandbox cannot compile gives exactly one
// error finding, with the line the parser named. Seeds are in
// testdata/fuzz/FuzzScanCode.
func FuzzScanCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, code string, legacy bool) {
		man := Manifest{Name: "fuzz", Version: "1.0.0",
			Scopes: []string{"messages_write", "roles_manage", "http_request", "embed_links"},
			Hosts:  []string{"api.example.org"}}
		if legacy {
			man.Type, man.Key = TypeCommand, "fuzz"
		}
		got := ScanCode(man, code)
		maxLine := strings.Count(code, "\n") + strings.Count(code, "\r") + strings.Count(code, "\u2028") + strings.Count(code, "\u2029") + 2
		for _, f := range got {
			if f.Stage != StageScan || f.Message == "" || f.Line < 0 || f.Line > maxLine ||
				(f.Severity != SeverityError && f.Severity != SeverityWarning) {
				t.Fatalf("malformed finding %+v (code has at most %d lines)", f, maxLine)
			}
		}
		if _, err := sandbox.Compile("fuzz.skyext", code, legacy); err != nil {
			if len(got) != 1 || got[0].Severity != SeverityError {
				t.Fatalf("code the sandbox refuses (%v) gave %d findings: %+v", err, len(got), got)
			}
		}
	})
}
