// Package spec holds the guild emulator to Discord's published HTTP contract.
//
// A Validator is built from Discord's official OpenAPI description
// (discord/discord-api-spec, openapi.json) and checks each REST request the
// bot sends: the method and path template, the query parameters and the JSON
// body (for multipart/form-data, the payload_json part). The few places where
// the published description and what Discord accepts from discordgo v0.29.0
// disagree are listed, with reasons, in gaps.go.
//
// Building a Validator parses the description and compiles its request
// schemas, which takes seconds; tests share one per process through Shared.
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/cache"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/radix"
	"github.com/pb33f/libopenapi-validator/requests"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// EnvSpecPath names the environment variable that points Shared at
// openapi.json when the file is not where the checkout layout puts it.
const EnvSpecPath = "SKYBOT_DISCORD_SPEC"

// repoSpecPath is where openapi.json sits relative to the directory that
// holds the checkout (X/main is the repository, X/shared the shared data).
var repoSpecPath = filepath.Join("shared", "discord-api-spec", "openapi.json")

// maxProblems bounds how many problems one Error keeps; the first is the one
// that matters, the rest are a hint that fixing it may not be the end.
const maxProblems = 8

// Validator checks REST requests against Discord's OpenAPI description.
// It is safe for concurrent use.
type Validator struct {
	doc      *v3.Document
	opts     *config.ValidationOptions
	basePath string // the servers' path, e.g. /api/v10

	// mu serialises validation: libopenapi-validator v0.13.8 does not promise
	// concurrent use, and helpers.ExtractParamsForOperation appends to the
	// path item's shared Parameters slice on every call.
	mu  sync.Mutex
	lib validator.Validator
}

// Load parses the OpenAPI description at specPath and builds a Validator.
// It costs a few seconds (most of it compiling the request body schemas);
// prefer Shared in tests.
func Load(specPath string) (*Validator, error) {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("load discord spec: %w", err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, fmt.Errorf("load discord spec %s: %w", specPath, err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("load discord spec %s: build model: %w", specPath, err)
	}
	m := &model.Model
	if m.Paths == nil || m.Paths.PathItems == nil || m.Paths.PathItems.Len() == 0 {
		return nil, fmt.Errorf("load discord spec %s: no paths", specPath)
	}

	// The requests carry no Authorization header (the emulator does not pass
	// headers), so security requirements are not checked.
	schemas := &lazyCache{}
	opts := config.NewValidationOptions(config.WithoutSecurityValidation(), config.WithSchemaCache(schemas))
	opts.PathTree = radix.BuildPathTree(m)

	schemas.building.Store(true)
	lib := validator.NewValidatorFromV3Model(m, config.WithExistingOpts(opts))
	schemas.building.Store(false)
	warmRequestSchemas(m, opts)

	v := &Validator{
		doc:      m,
		opts:     opts,
		basePath: serverBasePath(m),
		lib:      lib,
	}
	return v, nil
}

// warmRequestSchemas compiles the JSON request body schema of every
// operation into the cache (about 2 s) by validating {} against each, so
// that no request pays for compiling its schema: the interaction callback's
// takes 0.4 s, a fair part of the 3 s Discord gives a bot to answer.
func warmRequestSchemas(m *v3.Document, opts *config.ValidationOptions) {
	version := helpers.VersionToFloat(m.Version)
	for _, item := range m.Paths.PathItems.FromOldest() {
		for _, op := range item.GetOperations().FromOldest() {
			if op.RequestBody == nil {
				continue
			}
			mt, ok := op.RequestBody.Content.Get(helpers.JSONContentType)
			if !ok || mt.Schema == nil {
				continue
			}
			req := &http.Request{
				Method: http.MethodPost,
				URL:    &url.URL{Path: "/"},
				Header: http.Header{"Content-Type": {helpers.JSONContentType}},
				Body:   io.NopCloser(strings.NewReader("{}")),
			}
			requests.ValidateRequestSchema(&requests.ValidateRequestSchemaInput{
				Request: req,
				Schema:  mt.Schema.Schema(),
				Version: version,
				Options: []config.Option{config.WithExistingOpts(opts)},
			})
		}
	}
}

// lazyCache is the validator's cache of compiled schemas. Built with a
// plain cache, libopenapi-validator v0.13.8 compiles every request,
// response and parameter schema of the description up front: about 20 s
// and 6 GiB of allocation, leaving some 650 MiB live, for the few dozen
// request schemas a test run needs. While the library is being built this
// cache claims to hold every schema, so the warm-up compiles nothing;
// afterwards it is an ordinary cache that the library fills on the first
// use of each schema (it compiles on a miss and stores the result), and
// that warmRequestSchemas fills with the request bodies.
type lazyCache struct {
	building atomic.Bool
	m        sync.Map // uint64 → *cache.SchemaCacheEntry
}

func (c *lazyCache) Load(key uint64) (*cache.SchemaCacheEntry, bool) {
	if c.building.Load() {
		return &cache.SchemaCacheEntry{}, true
	}
	e, ok := c.m.Load(key)
	if !ok {
		return nil, false
	}
	return e.(*cache.SchemaCacheEntry), true
}

func (c *lazyCache) Store(key uint64, e *cache.SchemaCacheEntry) {
	if !c.building.Load() {
		c.m.Store(key, e)
	}
}

func (c *lazyCache) Range(f func(key uint64, e *cache.SchemaCacheEntry) bool) {
	c.m.Range(func(k, e any) bool { return f(k.(uint64), e.(*cache.SchemaCacheEntry)) })
}

// serverBasePath returns the path of the description's first server
// ("/api/v10" for https://discord.com/api/v10), or "" if it has none.
func serverBasePath(m *v3.Document) string {
	for _, s := range m.Servers {
		u, err := url.Parse(s.URL)
		if err == nil && u.Path != "" {
			return strings.TrimSuffix(u.Path, "/")
		}
	}
	return ""
}

var shared struct {
	once sync.Once
	v    *Validator
	err  error
}

// Shared returns the process-wide Validator, building it on first use from
// the file named by $SKYBOT_DISCORD_SPEC or, when that is unset, from
// shared/discord-api-spec/openapi.json in the working directory or the
// nearest parent that has it. A failure is remembered: later calls return
// the same error without retrying.
func Shared() (*Validator, error) {
	shared.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			shared.err = fmt.Errorf("locate discord spec: %w", err)
			return
		}
		path, err := Locate(os.Getenv(EnvSpecPath), wd)
		if err != nil {
			shared.err = err
			return
		}
		shared.v, shared.err = Load(path)
	})
	return shared.v, shared.err
}

// Locate finds openapi.json: envPath if it is non-empty (the value of
// $SKYBOT_DISCORD_SPEC), otherwise shared/discord-api-spec/openapi.json below
// dir or below the nearest of dir's parents that has it. The error says
// where it looked and how to point at the file.
func Locate(envPath, dir string) (string, error) {
	if envPath != "" {
		if _, err := os.Stat(envPath); err != nil {
			return "", fmt.Errorf("locate discord spec: %s=%q: %w; point it at Discord's openapi.json", EnvSpecPath, envPath, err)
		}
		return envPath, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("locate discord spec: %w", err)
	}
	for d := dir; ; {
		p := filepath.Join(d, repoSpecPath)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", fmt.Errorf("locate discord spec: %s is unset and %s exists neither in %s nor in any of its parent directories; "+
		"set %s to the path of Discord's openapi.json", EnvSpecPath, repoSpecPath, dir, EnvSpecPath)
}

// Problem is one way a request breaks the contract.
type Problem struct {
	// Part says what failed: "path", "method", "query param X",
	// "path param X", "content type", "body" or "body field X"
	// (X a dotted path such as embeds[0].title).
	Part   string
	Reason string
}

// Error is a request that breaks Discord's published contract.
type Error struct {
	Method   string
	Path     string    // as received
	Route    string    // the spec's path template; "" when the path is unknown
	Problems []Problem // at least one; the first is the most useful
	More     int       // problems found beyond those kept
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discord spec: %s %s", e.Method, e.Path)
	if e.Route != "" {
		fmt.Fprintf(&b, " (%s)", e.Route)
	}
	p := e.Problems[0]
	fmt.Fprintf(&b, ": %s: %s", p.Part, p.Reason)
	if len(e.Problems) > 1 {
		p = e.Problems[1]
		fmt.Fprintf(&b, "\n  also %s: %s", p.Part, p.Reason)
		if more := len(e.Problems) - 2 + e.More; more > 0 {
			fmt.Fprintf(&b, " (and %d more)", more)
		}
	}
	return b.String()
}

var apiVersionPrefix = regexp.MustCompile(`^/api/v[0-9]+(/|$)`)

// ValidateRequest checks one request as discordgo sent it: path is the URL
// path (decoded, like http.Request.URL.Path, or escaped), normally starting
// /api/v9; rawQuery is the query without "?"; contentType and body are the
// header and the bytes sent. A nil error means the request keeps to the
// contract; otherwise the error is an *Error.
func (v *Validator) ValidateRequest(method, path, rawQuery, contentType string, body []byte) error {
	return v.validate(gaps, method, path, rawQuery, contentType, body)
}

// validate is ValidateRequest with the gaps to allow as a parameter, so a
// test can check that each entry of gaps is needed.
func (v *Validator) validate(gs gapList, method, path, rawQuery, contentType string, body []byte) error {
	fail := &Error{Method: method, Path: path}
	add := func(part, format string, args ...any) {
		if len(fail.Problems) == maxProblems {
			fail.More++
			return
		}
		fail.Problems = append(fail.Problems, Problem{Part: part, Reason: fmt.Sprintf(format, args...)})
	}

	// discordgo v0.29.0 calls /api/v9; the description's server is
	// /api/v10 with the same routes for what the bot uses.
	if !apiVersionPrefix.MatchString(path) {
		add("path", "not under /api/vN")
		return fail
	}
	specPath := apiVersionPrefix.ReplaceAllString(path, v.basePath+"$1")

	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		add("query", "malformed: %v", err)
		return fail
	}
	req := &http.Request{
		Method: method,
		URL:    &url.URL{Path: specPath, RawQuery: rawQuery},
		Header: make(http.Header),
	}

	v.mu.Lock()
	defer v.mu.Unlock()

	item, errs, route := paths.FindPath(req, v.doc, v.opts)
	fail.Route = route
	if item == nil {
		add("path", "unknown: no route in Discord's API description matches %s", strings.TrimPrefix(specPath, v.basePath))
		return fail
	}
	op := helpers.ExtractOperation(req, item)
	if len(errs) > 0 || op == nil {
		add("method", "%s is not defined for this route (it has %s)", method, strings.Join(methods(item), ", "))
		return fail
	}

	// Query parameters the description does not declare: the library lets
	// them through; Discord ignores them, which hides a typo or a removed
	// option, so they fail here unless gaps.go accepts them.
	declared := map[string]bool{}
	for _, p := range slices.Concat(item.Parameters, op.Parameters) {
		if p.In == helpers.Query {
			declared[p.Name] = true
		}
	}
	for _, name := range sortedKeys(query) {
		if !declared[name] && !gs.query(method, route, name) {
			add("query param "+name, "not declared for %s %s", method, route)
		}
	}

	body, contentType, ok := prepareBody(gs, method, route, op, contentType, body, add)
	if ok {
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		valid, verrs := v.lib.ValidateHttpRequestSyncWithPathItem(req, item, route)
		if !valid {
			var found []Problem
			for _, ve := range verrs {
				found = append(found, describe(ve)...)
			}
			if len(found) == 0 {
				found = append(found, Problem{"request", "rejected without a reason"})
			}
			for _, p := range tidy(found) {
				add(p.Part, "%s", p.Reason)
			}
		}
	}

	if len(fail.Problems) > 0 {
		return fail
	}
	return nil
}

// prepareBody turns what was sent into the JSON the operation's schema can
// judge: the payload_json part of a multipart body, {} for an empty body
// that gaps.go allows, and the rewrites of gaps.go. ok is false when a
// problem was added and there is nothing more to check.
func prepareBody(gs gapList, method, route string, op *v3.Operation, contentType string, body []byte,
	add func(part, format string, args ...any)) (_ []byte, _ string, ok bool) {
	rb := op.RequestBody
	if len(body) == 0 {
		if rb == nil || rb.Required == nil || !*rb.Required {
			return nil, "", true
		}
		if !gs.emptyBody(method, route) {
			add("body", "required by the spec but empty")
			return nil, "", false
		}
		body, contentType = []byte("{}"), helpers.JSONContentType
	}
	if rb == nil {
		// Discord ignores a body on a route that takes none.
		return nil, "", true
	}
	if contentType == "" {
		add("content type", "missing for a %d-byte body", len(body))
		return nil, "", false
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		add("content type", "%q: %v", contentType, err)
		return nil, "", false
	}
	if _, declared := rb.Content.Get(mediaType); !declared {
		add("content type", "%s is not accepted here (the spec lists %s)", mediaType, strings.Join(contentTypes(op), ", "))
		return nil, "", false
	}
	if mediaType == "multipart/form-data" {
		payload, err := payloadJSON(body, params["boundary"])
		if err != nil {
			add("body", "%v", err)
			return nil, "", false
		}
		if _, hasJSON := rb.Content.Get(helpers.JSONContentType); !hasJSON {
			add("content type", "multipart payload_json cannot be checked: the route has no application/json body")
			return nil, "", false
		}
		body, mediaType = payload, helpers.JSONContentType
	}
	if mediaType == helpers.JSONContentType {
		body, err = gs.body(method, route, body, add)
		if err != nil {
			add("body", "not JSON: %v", err)
			return nil, "", false
		}
	}
	return body, mediaType, true
}

// payloadJSON returns the payload_json part of a multipart/form-data body.
// The files are not looked at.
func payloadJSON(body []byte, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, errors.New("multipart/form-data without a boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return nil, errors.New("multipart/form-data without a payload_json part")
		}
		if err != nil {
			return nil, fmt.Errorf("malformed multipart/form-data: %w", err)
		}
		if part.FormName() != "payload_json" {
			continue
		}
		payload, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("read payload_json: %w", err)
		}
		return payload, nil
	}
}

// describe turns one library error into problems named by the part that
// failed.
func describe(ve *liberrors.ValidationError) []Problem {
	switch ve.ValidationType {
	case helpers.ParameterValidation:
		part := ve.ValidationSubType + " param"
		if ve.ParameterName != "" {
			part += " " + ve.ParameterName
		}
		reason := firstNonEmpty(ve.Reason, ve.Message)
		if len(ve.SchemaValidationErrors) > 0 {
			// The schema's reason is the short one ("'x' does not match
			// pattern ..."); ve.Reason restates the parameter's type.
			reason = ve.SchemaValidationErrors[0].Reason
		}
		return []Problem{{part, reason}}
	case helpers.RequestBodyValidation:
		if len(ve.SchemaValidationErrors) == 0 {
			return []Problem{{"body", firstNonEmpty(ve.Reason, ve.Message)}}
		}
		var ps []Problem
		for _, f := range ve.SchemaValidationErrors {
			part := "body"
			if field := fieldPath(f.InstancePath); field != "" {
				part = "body field " + field
			}
			ps = append(ps, Problem{part, f.Reason})
		}
		return ps
	}
	return []Problem{{ve.ValidationType, firstNonEmpty(ve.Reason, ve.Message)}}
}

var mustBe = regexp.MustCompile(`^value must be (?:one of )?(.+)$`)

// tidy makes the library's problems readable. A body checked against a
// union (anyOf, as for interaction callbacks) fails in every branch, so
// the same problem comes several times and the discriminator "type" fails
// once per branch ("value must be 8", "value must be 9", ...): duplicates
// go, the "must be" values of one field merge into one problem, and the
// deepest fields, where the branch that fits failed, come first.
func tidy(ps []Problem) []Problem {
	var out []Problem
	allowed := map[string]int{} // part → index in out of its merged "must be"
	seen := map[Problem]bool{}
	for _, p := range ps {
		if seen[p] {
			continue
		}
		seen[p] = true
		if m := mustBe.FindStringSubmatch(p.Reason); m != nil {
			if i, ok := allowed[p.Part]; ok {
				out[i].Reason += ", " + m[1]
				continue
			}
			allowed[p.Part] = len(out)
		}
		out = append(out, p)
	}
	for _, i := range allowed {
		if strings.Contains(out[i].Reason, ", ") {
			out[i].Reason = "value must be one of " + mustBe.FindStringSubmatch(out[i].Reason)[1]
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return depth(b.Part) - depth(a.Part) })
	return out
}

// depth is how deep in the body a part lies: 0 for anything but a body
// field, 1 for "body field type", 3 for "body field data.embeds[0]".
func depth(part string) int {
	field, ok := strings.CutPrefix(part, "body field ")
	if !ok {
		return 0
	}
	return 1 + strings.Count(field, ".") + strings.Count(field, "[")
}

// fieldPath renders a JSON instance path as embeds[0].fields[2].name.
func fieldPath(segments []string) string {
	var b strings.Builder
	for _, s := range segments {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			fmt.Fprintf(&b, "[%s]", s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func methods(item *v3.PathItem) []string {
	var ms []string
	for m := range item.GetOperations().KeysFromOldest() {
		ms = append(ms, strings.ToUpper(m))
	}
	return ms
}

func contentTypes(op *v3.Operation) []string {
	var cts []string
	for ct := range op.RequestBody.Content.KeysFromOldest() {
		cts = append(cts, ct)
	}
	return cts
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
