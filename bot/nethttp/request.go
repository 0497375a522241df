package nethttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Option bounds of part B 3.13.
const (
	DefaultTimeout  = 6000 * time.Millisecond
	MinTimeout      = 1000 * time.Millisecond
	MaxTimeout      = 15000 * time.Millisecond
	DefaultMaxBytes = 1 << 20
	MinMaxBytes     = 1 << 10
	MaxMaxBytes     = 1 << 20
	// MaxBodyBytes bounds an encoded POST body.
	MaxBodyBytes = 100 << 10
	// maxHeaders and maxHeaderBytes bound what code may send as headers
	// (its own and injected ones together).
	maxHeaders     = 64
	maxHeaderBytes = 16 << 10
)

// Request is one http.request call's options as extension code gave them.
// Zero fields take part B's defaults; Do clamps the numbers.
type Request struct {
	URL string
	// Method is GET or POST in any case; "" means GET.
	Method string
	// Headers are sent as given, except that user-agent defaults to the
	// client's.
	Headers map[string]string
	// Body is the JS value to send with a POST, as JSON: a string is sent
	// as its text, anything else JSON-encoded with content-type
	// application/json unless the code set one. Ignored for GET.
	Body json.RawMessage
	// TimeoutMs bounds the wait for the response headers and, separately,
	// for the body: 6000 when 0, clamped to 1000..15000.
	TimeoutMs int
	// MaxBytes bounds the response body: 1 MiB when 0, clamped to
	// 1024..1048576.
	MaxBytes int
	// ResponseType "text" skips JSON parsing; anything else means json.
	ResponseType string
	// InjectSecrets maps a header name to the id of a secret field of the
	// install; Grant.Secrets resolves them (part B 3.13).
	InjectSecrets map[string]string

	// invalid notes options whose JS type was wrong, by option name; Do
	// reports each at its place in the order of checks.
	invalid map[string]string
}

// ParseOptions reads the options object extension code passed to
// http.request (as JSON). It never fails: a missing or malformed option is
// kept and reported by Do in part B's order (MISSING_URL before
// METHOD_NOT_ALLOWED before the URL policy, and so on), after the rate
// limit has counted the call.
func ParseOptions(raw json.RawMessage) Request {
	var r Request
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return r // not an object: no url
	}
	note := func(option, why string) {
		if r.invalid == nil {
			r.invalid = map[string]string{}
		}
		r.invalid[option] = why
	}
	if v, ok := present(fields, "url"); ok {
		if err := json.Unmarshal(v, &r.URL); err != nil {
			note("url", "url must be a string")
		}
	}
	if v, ok := present(fields, "method"); ok {
		if err := json.Unmarshal(v, &r.Method); err != nil {
			note("method", "method must be the string GET or POST")
		}
	}
	if v, ok := present(fields, "headers"); ok {
		h, why := stringMap(v, "headers", true)
		if why != "" {
			note("headers", why)
		}
		r.Headers = h
	}
	if v, ok := present(fields, "body"); ok {
		r.Body = v
	}
	r.TimeoutMs = number(fields, "timeoutMs")
	r.MaxBytes = number(fields, "maxBytes")
	if v, ok := present(fields, "responseType"); ok {
		_ = json.Unmarshal(v, &r.ResponseType) // anything but "text" means json
	}
	if v, ok := present(fields, "injectSecrets"); ok {
		s, why := stringMap(v, "injectSecrets", false)
		if why != "" {
			note("injectSecrets", why)
		}
		r.InjectSecrets = s
	}
	return r
}

// present returns an option that is there and not null (JSON.stringify
// drops undefined ones).
func present(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	v, ok := fields[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// number reads a numeric option, truncated; 0 (the default) when absent
// or not a number.
func number(fields map[string]json.RawMessage, name string) int {
	v, ok := present(fields, name)
	if !ok {
		return 0
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return 0
	}
	switch {
	case f > 1<<31:
		return 1 << 31
	case f < -(1 << 31):
		return -(1 << 31)
	}
	return int(f)
}

// stringMap reads a plain object of strings. With scalars, numbers and
// booleans are taken as their text (as JS would send them) and null
// entries are left out.
func stringMap(v json.RawMessage, option string, scalars bool) (map[string]string, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(v, &fields); err != nil {
		return nil, option + " must be a plain object"
	}
	out := make(map[string]string, len(fields))
	for _, k := range sortedKeys(fields) {
		raw := fields[k]
		var s string
		switch {
		case string(raw) == "null":
		case json.Unmarshal(raw, &s) == nil:
			out[k] = s
		case scalars && (string(raw) == "true" || string(raw) == "false" || isJSONNumber(raw)):
			out[k] = string(raw)
		default:
			return nil, fmt.Sprintf("%s.%s must be a string", option, k)
		}
	}
	return out, ""
}

func isJSONNumber(raw json.RawMessage) bool {
	var n json.Number
	return json.Unmarshal(raw, &n) == nil
}

// method returns the request's method in upper case ("GET" when unset).
func (r Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return strings.ToUpper(r.Method)
}

// Describe returns the method and host for logs and audit rows, as far as
// the options give them ("?" for a method that is not a string, "" for a
// host that cannot be read).
func (r Request) Describe() (method, host string) {
	method = r.method()
	if _, bad := r.invalid["method"]; bad {
		method = "?"
	}
	if u, err := url.Parse(r.URL); err == nil {
		host = strings.ToLower(u.Hostname())
	}
	return method, host
}

func (r Request) timeout() time.Duration {
	if r.TimeoutMs == 0 {
		return DefaultTimeout
	}
	return min(max(time.Duration(r.TimeoutMs)*time.Millisecond, MinTimeout), MaxTimeout)
}

func (r Request) maxBytes() int {
	if r.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return min(max(r.MaxBytes, MinMaxBytes), MaxMaxBytes)
}

// encodeBody returns the bytes a POST sends and whether they are JSON
// (and so want content-type application/json).
func (r Request) encodeBody() ([]byte, bool, error) {
	if len(r.Body) == 0 || string(r.Body) == "null" {
		return nil, false, nil
	}
	var s string
	if err := json.Unmarshal(r.Body, &s); err == nil {
		return []byte(s), false, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, r.Body); err != nil {
		return nil, false, fmt.Errorf("body is not valid JSON: %w", err)
	}
	return buf.Bytes(), true, nil
}

// refusedHeaders are the headers the client manages itself; code that
// sets one gets INVALID_OPTIONS rather than a header silently dropped.
var refusedHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true,
	"te": true, "trailer": true, "upgrade": true,
}

// checkHeader reports what is wrong with one header, or "".
func checkHeader(name, value string) string {
	if name == "" || !isToken(name) {
		return fmt.Sprintf("%q is not a valid header name", name)
	}
	if refusedHeaders[strings.ToLower(name)] {
		return fmt.Sprintf("the %s header is set by skybot, not by extensions", strings.ToLower(name))
	}
	for i := 0; i < len(value); i++ {
		if b := value[i]; b < 0x20 && b != '\t' || b == 0x7f {
			return fmt.Sprintf("the value of header %s contains a control character", name)
		}
	}
	return ""
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0) {
			return false
		}
	}
	return true
}
