package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body (Discord's upload limit for bots is 25 MiB
// for unboosted guilds, plus the JSON).
const maxBody = 26 << 20

// request is one parsed REST request.
type request struct {
	method      string
	path        string // the URL path as sent, with its /api/vN prefix
	route       string // the path after /api/vN
	params      map[string]string
	query       url.Values
	header      http.Header
	contentType string
	body        []byte
	payload     []byte   // the JSON body, or the payload_json part of a multipart body
	files       []upload // the files of a multipart body
	reason      string   // X-Audit-Log-Reason
	actor       string   // the bot's user id
}

type upload struct {
	filename    string
	contentType string
	data        []byte
}

// fields decodes the JSON payload as an object whose fields can be told apart
// as absent, null or set.
func (r *request) fields() (fields, error) {
	f := fields{}
	if len(bytes.TrimSpace(r.payload)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(r.payload, &f); err != nil {
		return nil, formError("", "MODEL_TYPE_CONVERT", "Invalid JSON body: "+err.Error())
	}
	return f, nil
}

// decode unmarshals the JSON payload into v.
func (r *request) decode(v any) error {
	if len(bytes.TrimSpace(r.payload)) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.payload, v); err != nil {
		return formError("", "MODEL_TYPE_CONVERT", "Invalid JSON body: "+err.Error())
	}
	return nil
}

// reply is a successful REST answer.
type reply struct {
	status int
	body   any // marshalled as JSON; nil with 204
}

func okJSON(v any) (reply, error)  { return reply{status: http.StatusOK, body: v}, nil }
func created(v any) (reply, error) { return reply{status: http.StatusCreated, body: v}, nil }
func noContent() (reply, error)    { return reply{status: http.StatusNoContent}, nil }

// handler serves one route. It runs with Server.mu held; events it emits are
// delivered after it returns.
type handler func(s *Server, r *request) (reply, error)

// route is one entry of the REST route table.
type route struct {
	method  string
	pattern []string // segments; "{name}" matches any one segment
	h       handler
	noAuth  bool // token-authenticated webhook and interaction routes
	noCheck bool // not checked by the RequestValidator (GET /gateway*)
}

var apiPrefix = regexp.MustCompile(`^/api/v(9|10)(/.*)$`)

// serveREST is the REST pipeline: latency, version prefix, auth, routing,
// contract validation, injected rate limits, then the handler.
func (s *Server) serveREST(w http.ResponseWriter, hr *http.Request) {
	if err := s.waitLatency(hr); err != nil {
		return
	}
	raw := hr.URL.Path
	m := apiPrefix.FindStringSubmatch(raw)
	if m == nil {
		s.mu.Lock()
		s.recordViolationLocked(hr.Method, raw, "unknown API version or path")
		s.mu.Unlock()
		writeError(w, discordError(codeHTTPNotFound))
		return
	}
	r := &request{method: hr.Method, path: raw, route: m[2], query: hr.URL.Query(), header: hr.Header, actor: s.botID}
	rt, params, methodMismatch := matchRoute(r.method, escapedRoute(hr), s.table)
	if rt == nil {
		code, problem := codeHTTPNotFound, "unknown route"
		if methodMismatch {
			code, problem = codeHTTPMethodNotAllowed, "method not allowed on this route"
		}
		s.mu.Lock()
		s.recordViolationLocked(r.method, raw, problem)
		s.mu.Unlock()
		writeError(w, discordError(code))
		return
	}
	r.params = params
	if !rt.noAuth && !s.authorized(hr) {
		writeError(w, discordError(codeHTTPUnauthorized))
		return
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Code: 40005, Message: "Request entity too large"})
		return
	}
	r.body = body
	r.contentType = hr.Header.Get("Content-Type")
	r.reason = hr.Header.Get("X-Audit-Log-Reason")
	if u, err := url.PathUnescape(r.reason); err == nil {
		r.reason = u // Discord wants the header URL-encoded; discordgo sends it as given
	}

	if v := s.opts.Validator; v != nil && !rt.noCheck {
		if err := v.ValidateRequest(r.method, raw, hr.URL.RawQuery, r.contentType, body); err != nil {
			s.mu.Lock()
			s.recordViolationLocked(r.method, raw, err.Error())
			s.mu.Unlock()
			writeError(w, formError("", "SPEC_VIOLATION", err.Error()))
			return
		}
	}
	if retryAfter, limited := s.takeRateLimit(r.method, raw); limited {
		writeRateLimited(w, retryAfter)
		return
	}
	if err := r.parseBody(); err != nil {
		writeError(w, err)
		return
	}

	s.mu.Lock()
	rep, err := rt.h(s, r)
	s.notifyLocked()
	s.mu.Unlock()
	s.flushEvents()

	status := rep.status
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = discordError(codeHTTPServerError)
			s.log.Error("discordtest: handler failed", "method", r.method, "path", raw, "err", err)
		}
		status = ae.Status
		writeError(w, ae)
	} else {
		writeRateLimitHeaders(w.Header(), r.route)
		writeJSON(w, rep.status, rep.body)
	}
	s.log.Debug("discordtest: rest", "method", r.method, "path", raw, "status", status)
}

// escapedRoute is the request path after /api/vN split into unescaped
// segments (so that an emoji or "name:id" reaction segment survives).
func escapedRoute(hr *http.Request) []string {
	p := apiPrefix.FindStringSubmatch(hr.URL.EscapedPath())
	if p == nil {
		return nil
	}
	parts := strings.Split(strings.Trim(p[2], "/"), "/")
	for i, seg := range parts {
		if u, err := url.PathUnescape(seg); err == nil {
			parts[i] = u
		}
	}
	return parts
}

// matchRoute finds the first route of the table that matches; a literal
// segment must match exactly, so literal routes are listed before their
// parameterised neighbours.
func matchRoute(method string, segs []string, table []route) (*route, map[string]string, bool) {
	mismatch := false
	for i := range table {
		rt := &table[i]
		params, ok := matchPattern(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method != method {
			mismatch = true
			continue
		}
		return rt, params, false
	}
	return nil, nil, mismatch
}

// matchPattern matches path segments against a route pattern and returns
// the parameters.
func matchPattern(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func (s *Server) authorized(hr *http.Request) bool {
	auth := hr.Header.Get("Authorization")
	return strings.HasPrefix(auth, "Bot ") && strings.TrimPrefix(auth, "Bot ") == s.token
}

// parseBody splits a multipart body into payload_json and files; any other
// body is the JSON payload.
func (r *request) parseBody() error {
	mt, params, err := mime.ParseMediaType(r.contentType)
	if err != nil || mt != "multipart/form-data" {
		r.payload = r.body
		return nil
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formError("", "MULTIPART_INVALID", "Invalid multipart body: "+err.Error())
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return formError("", "MULTIPART_INVALID", "Invalid multipart body: "+err.Error())
		}
		switch {
		case part.FormName() == "payload_json":
			r.payload = data
		case part.FileName() != "":
			ct := part.Header.Get("Content-Type")
			if ct == "" {
				ct = "application/octet-stream"
			}
			r.files = append(r.files, upload{filename: part.FileName(), contentType: ct, data: data})
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if status == http.StatusNoContent || body == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b := mustJSON(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = discordError(codeHTTPServerError)
	}
	writeJSON(w, ae.Status, ae)
}

// writeRateLimitHeaders adds simple, never-exhausted rate limit headers:
// discordgo reads them and never has to wait.
func writeRateLimitHeaders(h http.Header, route string) {
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "4")
	h.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(time.Now().Add(time.Second).UnixMilli())/1000))
	h.Set("X-RateLimit-Reset-After", "1.000")
	h.Set("X-RateLimit-Bucket", bucketOf(route))
}

// bucketOf names a route's rate limit bucket: a hash of the route with the
// ids after the top-level resource id replaced, like Discord's major
// parameters.
func bucketOf(route string) string {
	segs := strings.Split(strings.Trim(route, "/"), "/")
	for i, seg := range segs {
		if i > 1 && seg != "" && seg[0] >= '0' && seg[0] <= '9' {
			segs[i] = "id"
		}
	}
	h := fnv.New64a()
	h.Write([]byte(strings.Join(segs, "/")))
	return strconv.FormatUint(h.Sum64(), 16)
}
