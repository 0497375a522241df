package extensions

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

// ScanCode is the security scan of a version's code against its manifest
// (SKYEXT.md; the marketplace issue): forbidden constructs, host APIs the
// code calls against the scopes it declares (used without the scope,
// declared but unused), network hosts the code names against @hosts.
// It does not run the code.
func ScanCode(man Manifest, code string) []Finding {
	return nil // filled in by the scan change
}
