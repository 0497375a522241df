// Package skyerr holds skybot's canonical errors: one typed error that
// carries a stable code (E_...) and one sentence for the person who sees it.
// Users are shown Code and Message; logs get the whole wrapped chain.
//
// The table below is the single list of codes. Commands, the lifecycle
// manager, config loading and the marketplace all return these; nothing else
// invents a code.
package skyerr

import (
	"errors"
	"fmt"
)

// Code is a canonical error code such as E_INVALID_ID.
type Code string

// The canonical codes. Keep this list and Describe in step.
const (
	InvalidID      Code = "E_INVALID_ID"      // a name, id or version that is malformed or unknown
	InvalidURL     Code = "E_INVALID_URL"     // a URL that is malformed or not allowed
	InvalidPath    Code = "E_INVALID_PATH"    // a file path that is malformed or outside what is allowed
	InvalidPackage Code = "E_INVALID_PACKAGE" // a .skyext/.skypkg that cannot be read or fails validation
	InvalidConfig  Code = "E_INVALID_CONFIG"  // configuration (the operator's, or an extension's settings) that is malformed or incomplete
	AlreadyExists  Code = "E_ALREADY_EXISTS"  // the thing to create is already there
	NotFound       Code = "E_NOT_FOUND"       // the thing asked for is not there
	Forbidden      Code = "E_FORBIDDEN"       // the caller lacks the right to do this
	TooLarge       Code = "E_TOO_LARGE"       // an input is over its size limit
	RateLimit      Code = "E_RATE_LIMIT"      // too many attempts; retry later
	InstallFailed  Code = "E_INSTALL_FAILED"  // an install could not complete; nothing changed
	Dependency     Code = "E_DEPENDENCY"      // an extension's @requires cannot be met: missing, conflicting, or a cycle
	LoadFailed     Code = "E_LOAD_FAILED"     // code could not be loaded into a sandbox
	RemoveFailed   Code = "E_REMOVE_FAILED"   // an uninstall could not complete
	UpdateFailed   Code = "E_UPDATE_FAILED"   // an update or rollback could not complete
	InvalidState   Code = "E_INVALID_STATE"   // the operation does not fit the current state
	Unknown        Code = "E_UNKNOWN"         // anything else
)

// Codes lists every canonical code with the meaning documented in README.md.
var Codes = []struct {
	Code    Code
	Meaning string
}{
	{InvalidID, "a name, id or version that is malformed or unknown"},
	{InvalidURL, "a URL that is malformed or not allowed"},
	{InvalidPath, "a file path that is malformed or outside what is allowed"},
	{InvalidPackage, "a .skyext or .skypkg that cannot be read or fails validation"},
	{InvalidConfig, "configuration (the operator's file, or an admin's settings for an extension) that is malformed or incomplete"},
	{AlreadyExists, "the thing to create is already there"},
	{NotFound, "the thing asked for is not there"},
	{Forbidden, "the caller lacks the right to do this"},
	{TooLarge, "an input is over its size limit"},
	{RateLimit, "too many attempts; the message says when to retry"},
	{InstallFailed, "an install could not complete; nothing was changed"},
	{Dependency, "an extension's `@requires` cannot be met: not in the gallery, in conflict with what is installed or another requirement, or a cycle; nothing was changed"},
	{LoadFailed, "code could not be loaded into a sandbox"},
	{RemoveFailed, "an uninstall could not complete"},
	{UpdateFailed, "an update or rollback could not complete"},
	{InvalidState, "the operation does not fit the current state (e.g. another operation is running)"},
	{Unknown, "anything else; the log has the details"},
}

// Error is the one typed error carrying a canonical code.
type Error struct {
	Code    Code
	Message string // one human sentence, shown to users
	Err     error  // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and a sentence built from format.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and sentence that keeps cause for the log.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// From finds the canonical error in err's chain. An error without one
// becomes E_UNKNOWN with a generic sentence (the chain stays in Err).
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Unknown, Message: "Something went wrong; the operator's log has the details.", Err: err}
}

// CodeOf returns the canonical code of err, E_UNKNOWN if it has none.
func CodeOf(err error) Code { return From(err).Code }

// Is reports whether err carries code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// UserText renders err as users see it: "E_CODE: sentence".
func UserText(err error) string {
	e := From(err)
	return string(e.Code) + ": " + e.Message
}
