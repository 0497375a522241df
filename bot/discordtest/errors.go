package discordtest

import (
	"fmt"
	"net/http"
)

// Discord's JSON error codes that the emulator answers with. They are the
// codes discordgo exposes as ErrCode* constants.
const (
	codeGeneral             = 0
	codeUnknownChannel      = 10003
	codeUnknownGuild        = 10004
	codeUnknownMember       = 10007
	codeUnknownMessage      = 10008
	codeUnknownRole         = 10011
	codeUnknownUser         = 10013
	codeUnknownEmoji        = 10014
	codeUnknownWebhook      = 10015
	codeUnknownBan          = 10026
	codeUnknownInteraction  = 10062
	codeUnknownCommand      = 10063
	codeAlreadyAcknowledged = 40060
	codeMissingAccess       = 50001
	codeCannotEditOthers    = 50005
	codeEmptyMessage        = 50006
	codeCannotMessageUser   = 50007
	codeMissingPermissions  = 50013
	codeInvalidWebhookToken = 50027
	codeBulkDeleteTooOld    = 50034
	codeInvalidFormBody     = 50035
	codeReplyWithoutHistory = 160002

	// Negative pseudo codes name the plain HTTP errors, which Discord answers
	// with code 0.
	codeHTTPUnauthorized     = -401
	codeHTTPNotFound         = -404
	codeHTTPMethodNotAllowed = -405
	codeHTTPServerError      = -500
)

// apiError is an error answered to a REST request as Discord's JSON error
// body {"message": ..., "code": ...} with an HTTP status.
type apiError struct {
	Status  int            `json:"-"`
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Errors  map[string]any `json:"errors,omitempty"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("discord %d: %s (code %d)", e.Status, e.Message, e.Code)
}

// discordError returns the error Discord answers for code. This switch is the
// one table of the emulator's error codes, statuses and messages.
func discordError(code int) *apiError {
	status, msg := http.StatusBadRequest, ""
	switch code {
	case codeHTTPUnauthorized:
		status, msg = http.StatusUnauthorized, "401: Unauthorized"
	case codeHTTPNotFound:
		status, msg = http.StatusNotFound, "404: Not Found"
	case codeHTTPMethodNotAllowed:
		status, msg = http.StatusMethodNotAllowed, "405: Method Not Allowed"
	case codeHTTPServerError:
		status, msg = http.StatusInternalServerError, "500: Internal Server Error"
	case codeUnknownChannel:
		status, msg = http.StatusNotFound, "Unknown Channel"
	case codeUnknownGuild:
		status, msg = http.StatusNotFound, "Unknown Guild"
	case codeUnknownMember:
		status, msg = http.StatusNotFound, "Unknown Member"
	case codeUnknownMessage:
		status, msg = http.StatusNotFound, "Unknown Message"
	case codeUnknownRole:
		status, msg = http.StatusNotFound, "Unknown Role"
	case codeUnknownUser:
		status, msg = http.StatusNotFound, "Unknown User"
	case codeUnknownEmoji:
		status, msg = http.StatusBadRequest, "Unknown Emoji"
	case codeUnknownWebhook:
		status, msg = http.StatusNotFound, "Unknown Webhook"
	case codeUnknownBan:
		status, msg = http.StatusNotFound, "Unknown Ban"
	case codeUnknownInteraction:
		status, msg = http.StatusNotFound, "Unknown interaction"
	case codeUnknownCommand:
		status, msg = http.StatusNotFound, "Unknown application command"
	case codeAlreadyAcknowledged:
		status, msg = http.StatusBadRequest, "Interaction has already been acknowledged."
	case codeMissingAccess:
		status, msg = http.StatusForbidden, "Missing Access"
	case codeCannotEditOthers:
		status, msg = http.StatusForbidden, "Cannot edit a message authored by another user"
	case codeEmptyMessage:
		status, msg = http.StatusBadRequest, "Cannot send an empty message"
	case codeCannotMessageUser:
		status, msg = http.StatusForbidden, "Cannot send messages to this user"
	case codeMissingPermissions:
		status, msg = http.StatusForbidden, "Missing Permissions"
	case codeInvalidWebhookToken:
		status, msg = http.StatusUnauthorized, "Invalid Webhook Token"
	case codeBulkDeleteTooOld:
		status, msg = http.StatusBadRequest, "You can only bulk delete messages that are under 14 days old."
	case codeInvalidFormBody:
		status, msg = http.StatusBadRequest, "Invalid Form Body"
	case codeReplyWithoutHistory:
		status, msg = http.StatusForbidden, "Cannot reply without permission to read message history"
	default:
		msg = fmt.Sprintf("Error %d", code)
	}
	if code < 0 {
		code = codeGeneral
	}
	return &apiError{Status: status, Code: code, Message: msg}
}

// formError is Discord's 50035 Invalid Form Body naming one bad field:
// {"errors": {"field": {"_errors": [{"code": ..., "message": ...}]}}}.
// An empty field puts the problem at the top level of "errors".
func formError(field, code, message string) *apiError {
	e := discordError(codeInvalidFormBody)
	item := map[string]any{"_errors": []map[string]string{{"code": code, "message": message}}}
	if field == "" {
		e.Errors = item
	} else {
		e.Errors = map[string]any{field: item}
	}
	return e
}
