package nethttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
)

// Codes an extension sees in {success: false, error}. The first fifteen are
// SkynetBot's (SKYEXT.md part B 3.13) and appear in the order the checks
// run; the rest are skybot's.
const (
	CodeNetworkNotEnabled  = "NETWORK_NOT_ENABLED"
	CodeTierRequired       = "TIER_REQUIRED"
	CodeRateLimit          = "RATE_LIMIT"
	CodeMissingURL         = "MISSING_URL"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeInvalidURL         = "INVALID_URL"
	CodeInvalidProtocol    = "INVALID_PROTOCOL"
	CodeOnlyHTTPS          = "ONLY_HTTPS"
	CodeInvalidHost        = "INVALID_HOST"
	CodeHostNotAllowed     = "HOST_NOT_ALLOWED"
	CodePrivateIPBlocked   = "PRIVATE_IP_BLOCKED"
	CodeNetworkNotApproved = "NETWORK_NOT_APPROVED"
	CodeInvalidCapability  = "INVALID_CAPABILITY"
	CodeBodyTooLarge       = "BODY_TOO_LARGE"
	CodeResponseTooLarge   = "RESPONSE_TOO_LARGE"

	// CodeInvalidOptions: headers or injectSecrets are not what they must
	// be (checked after the URL policy, before BODY_TOO_LARGE).
	CodeInvalidOptions = "INVALID_OPTIONS"
	// CodeTimeout: no response headers, or not the whole body, within
	// timeoutMs (or the run ended first).
	CodeTimeout = "TIMEOUT"
)

// Error is a request that was refused or failed. Code is one of the
// constants above, or "" for a transport failure that only has a message
// (part B: "the request itself, whose exceptions are returned as their
// message text"). Messages never carry header values, so secrets cannot
// leak through them.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// JSValue is what the extension finds in result.error: the code, or the
// message when there is none.
func (e *Error) JSValue() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code
}

func refuse(code, message string) *Error { return &Error{Code: code, Message: message} }

// AsError returns err as an *Error; an error of another kind becomes a
// transport failure carrying its text.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Message: err.Error()}
}

// Response is an HTTP answer of any status, 3xx and 4xx/5xx included.
type Response struct {
	Status int
	// Headers by lower-case name, in the order the server sent them.
	Headers map[string][]string
	// Body is the response body as UTF-8 text (invalid sequences replaced
	// by U+FFFD).
	Body string
	// JSON is the parsed body, or nil (null) when it does not parse, is
	// nested too deeply, or the request asked for text.
	JSON json.RawMessage
}

// ResultJSON encodes the JS-facing result of a request: part B's
// {success: true, status, headers, body, json} for a response, or
// {success: false, error, message} for err. Header values are a string,
// or a list when the server repeated the header. Unlike json.Marshal it
// leaves <, > and & alone: an HTML body would otherwise grow sixfold.
func ResultJSON(resp *Response, err error) (json.RawMessage, error) {
	var v any
	if err != nil || resp == nil {
		if err == nil {
			err = errors.New("no response")
		}
		e := AsError(err)
		v = struct {
			Success bool   `json:"success"`
			Error   string `json:"error"`
			Message string `json:"message"`
		}{false, e.JSValue(), e.Message}
	} else {
		headers := make(map[string]any, len(resp.Headers))
		for name, values := range resp.Headers {
			if len(values) == 1 {
				headers[name] = values[0]
			} else {
				headers[name] = values
			}
		}
		parsed := resp.JSON
		if len(parsed) == 0 {
			parsed = json.RawMessage("null")
		}
		v = struct {
			Success bool            `json:"success"`
			Status  int             `json:"status"`
			Headers map[string]any  `json:"headers"`
			Body    string          `json:"body"`
			JSON    json.RawMessage `json:"json"`
		}{true, resp.Status, headers, resp.Body, parsed}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sortedKeys returns m's keys in order, so that headers given twice in
// different case resolve the same way every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
