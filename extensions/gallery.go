package extensions

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// The gallery is skybot's marketplace, shared by every guild: authors
// submit versions, the validation pipeline checks them, maintainers claim
// and decide them, and published versions are what guilds install
// (Manager.PlanInstallPublished). Every method checks who is asking;
// anyone else gets E_FORBIDDEN and nothing changes.
//
// A version moves queue → review → published, or → rejected with the
// reviewer's feedback; its owner can withdraw it from the queue (→ saved).
// Each move and its review_history row are one transaction. An extension
// has at most one version waiting at a time, and a rejected newer version
// never touches the published one guilds run.

// GalleryOptions configure a Gallery. Zero sizes take the Manager's defaults.
type GalleryOptions struct {
	Maintainers []store.UserID // may claim, approve and reject
	// MaintainerRole is a role id whose members are maintainers too ("": none).
	MaintainerRole string
	// Admins may do everything maintainers do, decide a version someone
	// else claimed, and manage the gallery (feature, unlist, ban).
	Admins             []store.UserID
	MaxAttachmentBytes int64 // largest submitted file read at all
	MaxSourceBytes     int64 // largest code
	Now                func() time.Time
	Log                *slog.Logger
	// OnChange, when set, is told of every version that entered the
	// queue or moved (claimed, published, rejected, withdrawn), after the
	// move is stored: the review channel's cards, the author's DMs and the
	// support threads follow from it. It runs on the caller's goroutine.
	OnChange func(context.Context, Change)
}

// Change is one stored step of a version's review: what moved, where to,
// who moved it and why.
type Change struct {
	Version store.VersionID
	Name    string
	Number  string // the version's semver
	State   string // the state it is in now (store.State...)
	Action  store.ReviewAction
	Actor   store.UserID
	Reason  string // the reviewer's feedback for rejections and requests
}

// Gallery is the marketplace service; it is safe for concurrent use.
type Gallery struct {
	store  *store.Store
	runner Runner
	opts   GalleryOptions
	log    *slog.Logger
	// reader reads, compiles and describes packages with the very rules a
	// guild install uses (a Manager that serves no guild). It also caches
	// the compiled programs and registrations of published versions that
	// submissions are compared with.
	reader *Manager
}

// NewGallery returns the gallery over st, running code with runner.
func NewGallery(st *store.Store, runner Runner, opts GalleryOptions) *Gallery {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reader := NewManager(st, runner, Options{
		MaxAttachmentBytes: opts.MaxAttachmentBytes, MaxSourceBytes: opts.MaxSourceBytes,
		Now: opts.Now, Log: log,
	})
	return &Gallery{store: st, runner: runner, opts: opts, log: log, reader: reader}
}

func (g *Gallery) now() time.Time {
	if g.opts.Now != nil {
		return g.opts.Now()
	}
	return time.Now()
}

// IsAdmin reports whether actor is one of skybot's administrators.
func (g *Gallery) IsAdmin(actor store.UserID) bool {
	return actor != "" && slices.Contains(g.opts.Admins, actor)
}

// IsMaintainer reports whether actor, holding roles, may review.
func (g *Gallery) IsMaintainer(actor store.UserID, roles []string) bool {
	return g.IsAdmin(actor) || (actor != "" && slices.Contains(g.opts.Maintainers, actor)) ||
		(g.opts.MaintainerRole != "" && slices.Contains(roles, g.opts.MaintainerRole))
}

func (g *Gallery) requireMaintainer(actor store.UserID, roles []string, doing string) error {
	if !g.IsMaintainer(actor, roles) {
		return skyerr.New(skyerr.Forbidden, "Only gallery maintainers can %s.", doing)
	}
	return nil
}

func (g *Gallery) requireAdmin(actor store.UserID, doing string) error {
	if !g.IsAdmin(actor) {
		return skyerr.New(skyerr.Forbidden, "Only skybot's administrators can %s.", doing)
	}
	return nil
}

// refuseBanned refuses a banned author.
func (g *Gallery) refuseBanned(ctx context.Context, actor store.UserID) error {
	b, err := g.store.AuthorBan(ctx, actor)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read the gallery's bans.")
	case b.Reason != "":
		return skyerr.New(skyerr.Forbidden, "You are banned from the gallery: %s.", strings.TrimSuffix(b.Reason, "."))
	}
	return skyerr.New(skyerr.Forbidden, "You are banned from the gallery.")
}

// Submission is a version that passed the pipeline and waits in the queue.
type Submission struct {
	Version       store.Version // state queue, with its code
	Manifest      Manifest
	Registrations []sandbox.Registration // handler style: what its top level registered
	// Findings are the pipeline's warnings, kept for the reviewers.
	Findings []Finding
	// NewExtension is set when this submission created the name, owned
	// from now on by the submitter.
	NewExtension bool
}

// maxListedFindings is how many findings a refusal's sentence names.
const maxListedFindings = 3

// Submit runs an author's upload through the publication pipeline and
// queues it: package validation (the upload rules guild installs use,
// compile, the top level's registrations, @requires resolvable in the
// gallery), the security scan, version verification against the newest
// published version, and author authentication (the submitter owns the
// name; once they registered a key, the package must carry a signature
// over its code's sha256 that verifies). Any error finding refuses the
// submission with E_INVALID_PACKAGE and nothing is written; warnings are
// stored with the version for its reviewers. The first submission of a
// name makes actor its owner. Any user who is not banned may submit:
// roles are not needed for it.
func (g *Gallery) Submit(ctx context.Context, actor store.UserID, roles []string, up Upload, fetch Fetch) (Submission, error) {
	return g.take(ctx, actor, up, fetch, store.StateQueue)
}

// Save runs an upload through the same pipeline as Submit and keeps it in
// state saved: checked and stored for its author, not queued, so no
// reviewer sees it until SubmitSaved. A version of the extension waiting
// for review does not stop a save.
func (g *Gallery) Save(ctx context.Context, actor store.UserID, up Upload, fetch Fetch) (Submission, error) {
	return g.take(ctx, actor, up, fetch, store.StateSaved)
}

// take is Submit (state queue) and Save (state saved).
func (g *Gallery) take(ctx context.Context, actor store.UserID, up Upload, fetch Fetch, state string) (Submission, error) {
	if actor == "" {
		return Submission{}, skyerr.New(skyerr.Forbidden, "A submission needs an author.")
	}
	if err := g.refuseBanned(ctx, actor); err != nil {
		return Submission{}, err
	}
	u, err := g.reader.readUpload(ctx, up, fetch)
	if err != nil {
		return Submission{}, err
	}
	vt, err := g.vet(ctx, actor, u, 0, state == store.StateQueue)
	if err != nil {
		return Submission{}, err
	}
	man := vt.u.man
	nv, err := newVersion(man, vt.u.code, "", vt.owner, actor)
	if err != nil {
		return Submission{}, err
	}
	nv.Signature = vt.u.signature
	put := g.store.SubmitVersion
	if state == store.StateSaved {
		put = g.store.SaveGalleryVersion
	}
	ver, err := put(ctx, nv, storedFindings(vt.findings))
	switch {
	case errors.Is(err, store.ErrOwner):
		return Submission{}, skyerr.New(skyerr.Forbidden, "The name %s belongs to another author.", man.Name)
	case errors.Is(err, store.ErrExists):
		return Submission{}, skyerr.New(skyerr.AlreadyExists, "%s@%s was submitted or saved before; versions never change, so raise @version.", man.Name, man.Version)
	case errors.Is(err, store.ErrState):
		return Submission{}, skyerr.New(skyerr.InvalidState, "%s already has a version waiting for review.", man.Name)
	case err != nil:
		return Submission{}, skyerr.Wrap(err, skyerr.Unknown, "Could not store %s@%s.", man.Name, man.Version)
	}
	g.log.Info("gallery version stored", "state", state, "ext", man.Name, "version", man.Version, "version_id", ver.ID,
		"actor", actor, "warnings", len(vt.findings), "new_extension", vt.newName)
	if state == store.StateQueue {
		g.changed(ctx, Change{Version: ver.ID, Name: man.Name, Number: man.Version, State: ver.State, Action: store.ReviewSubmitted, Actor: actor})
	}
	return Submission{Version: ver, Manifest: man, Registrations: vt.u.regs, Findings: vt.findings, NewExtension: vt.newName}, nil
}

// SubmitSaved queues a saved version of name (version "" is the newest
// saved one): one its owner saved, or withdrew from the queue. The whole
// pipeline runs again over the stored package, since the gallery may have
// changed since (a newer version published, a signing key registered).
func (g *Gallery) SubmitSaved(ctx context.Context, actor store.UserID, name, version string) (Submission, error) {
	if err := g.refuseBanned(ctx, actor); err != nil {
		return Submission{}, err
	}
	ext, err := g.extension(ctx, name)
	if err != nil {
		return Submission{}, err
	}
	if ext.OwnerID != actor {
		return Submission{}, skyerr.New(skyerr.Forbidden, "Only the owner of %s can submit its versions.", name)
	}
	versions, err := g.store.Versions(ctx, ext.ID)
	if err != nil {
		return Submission{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", name)
	}
	at := slices.IndexFunc(versions, func(v store.Version) bool {
		return v.Version == version || (version == "" && v.State == store.StateSaved)
	})
	switch {
	case at < 0 && version == "":
		return Submission{}, skyerr.New(skyerr.NotFound, "%s has no saved version; save one with /publish save or submit a file.", name)
	case at < 0:
		return Submission{}, skyerr.New(skyerr.NotFound, "%s has no version %s.", name, version)
	case versions[at].State != store.StateSaved:
		return Submission{}, skyerr.New(skyerr.InvalidState, "%s@%s is %s, so it cannot be submitted.", name, versions[at].Version, stateWords(versions[at].State))
	}
	stored, err := g.store.Version(ctx, versions[at].ID)
	if err != nil {
		return Submission{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", name, versions[at].Version)
	}
	if sha256Hex(stored.Code) != stored.SHA256 {
		g.log.Error("gallery version code does not match its sha256", "ext", name, "version", stored.Version, "version_id", stored.ID)
		return Submission{}, skyerr.New(skyerr.LoadFailed, "The stored code of %s@%s does not match its sha256; it will not be submitted.", name, stored.Version)
	}
	u := uploaded{code: stored.Code, signature: stored.Signature}
	if err := json.Unmarshal(stored.Manifest, &u.man); err != nil {
		return Submission{}, skyerr.Wrap(err, skyerr.LoadFailed, "The stored manifest of %s@%s cannot be read.", name, stored.Version)
	}
	// What a 1.0 package lost on the way in was said when it was saved;
	// only the saved findings know it now.
	old, err := g.store.Findings(ctx, stored.ID)
	if err != nil {
		return Submission{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the findings of %s@%s.", name, stored.Version)
	}
	for _, f := range old {
		if f.Stage == StagePackage && f.Severity == SeverityWarning {
			u.warnings = append(u.warnings, f.Message)
		}
	}
	vt, err := g.vet(ctx, actor, u, stored.ID, true)
	if err != nil {
		return Submission{}, err
	}
	ver, err := g.store.SubmitSaved(ctx, stored.ID, actor, storedFindings(vt.findings))
	switch {
	case errors.Is(err, store.ErrState):
		if cur, rerr := g.store.Version(ctx, stored.ID); rerr == nil && cur.State == store.StateSaved {
			return Submission{}, skyerr.New(skyerr.InvalidState, "%s already has a version waiting for review.", name)
		}
		return Submission{}, g.stateRefusal(ctx, stored.ID, stored, "submitted")
	case err != nil:
		return Submission{}, skyerr.Wrap(err, skyerr.Unknown, "Could not queue %s@%s.", name, stored.Version)
	}
	g.log.Info("gallery version submitted", "ext", name, "version", ver.Version, "version_id", ver.ID, "actor", actor,
		"warnings", len(vt.findings), "from", store.StateSaved)
	g.changed(ctx, Change{Version: ver.ID, Name: name, Number: ver.Version, State: ver.State, Action: store.ReviewSubmitted, Actor: actor})
	return Submission{Version: ver, Manifest: vt.u.man, Registrations: vt.u.regs, Findings: vt.findings}, nil
}

// vetted is an upload the pipeline passed: compiled, with its findings
// (warnings only) and who owns its name.
type vetted struct {
	u        uploaded
	owner    store.UserID
	newName  bool
	findings []Finding
}

// vet runs the publication pipeline over u for actor. self is the stored
// version u was read from (0 for a new upload): it is not one of its own
// earlier versions. queueing refuses while another version of the
// extension waits for review.
func (g *Gallery) vet(ctx context.Context, actor store.UserID, u uploaded, self store.VersionID, queueing bool) (vetted, error) {
	name := u.man.Name
	// Who owns the name, and what it has already: refusals that need no
	// code run come first.
	owner, newName := actor, true
	var versions []store.Version
	ext, err := g.store.ExtensionByName(ctx, "", name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return vetted{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the gallery entry of %s.", name)
	case ext.OwnerID != actor:
		return vetted{}, skyerr.New(skyerr.Forbidden, "The name %s belongs to another author.", name)
	default:
		owner, newName = ext.OwnerID, false
		if versions, err = g.store.Versions(ctx, ext.ID); err != nil {
			return vetted{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", name)
		}
		versions = slices.DeleteFunc(versions, func(v store.Version) bool { return v.ID == self })
		if p := pendingVersion(versions); p != nil && queueing {
			return vetted{}, skyerr.New(skyerr.InvalidState,
				"%s %s is still waiting for review; withdraw it or wait for the decision before submitting another version.", name, p.Version)
		}
	}

	defer g.runner.Evict(sandboxKey("", name)) // the describe runs' isolate
	if u, err = g.reader.compileUpload(ctx, "", u); err != nil {
		return vetted{}, packageFault(err)
	}
	man := u.man
	var (
		prev     *Manifest
		prevRegs []sandbox.Registration
	)
	if !newName {
		if live, ok := newestPublished(versions); ok {
			pm, regs, err := g.describeStored(ctx, live.ID)
			if err != nil {
				return vetted{}, err
			}
			prev, prevRegs = &pm, regs
		}
	}

	// CheckPackage says again what it said at a save; the carried
	// warnings add only what reading the package said.
	findings := CheckPackage(man, u.code, PackageLimits{MaxCodeBytes: int(g.reader.opts.MaxSourceBytes)})
	for _, w := range u.warnings {
		if !slices.ContainsFunc(findings, func(f Finding) bool { return f.Stage == StagePackage && f.Message == w }) {
			findings = append(findings, Finding{Severity: SeverityWarning, Stage: StagePackage, Message: w})
		}
	}
	deps, err := g.checkRequires(ctx, man)
	if err != nil {
		return vetted{}, err
	}
	findings = append(findings, deps...)
	findings = append(findings, ScanCode(man, u.code)...)
	findings = append(findings, notAboveEarlier(man, versions)...)
	findings = append(findings, VerifyVersion(man, u.regs, prev, prevRegs)...)
	key, err := g.store.AuthorKey(ctx, actor)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return vetted{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read your signing key.")
	}
	claimed := string(owner) // "" for a name nobody owns yet, as VerifyAuthor wants it
	if newName {
		claimed = ""
	}
	findings = append(findings, VerifyAuthor(claimed, string(actor), sha256Hex(u.code), u.signature, ed25519.PublicKey(key))...)

	if refused := errorFindings(findings); len(refused) > 0 {
		g.log.Info("gallery submission refused", "ext", man.Name, "version", man.Version, "actor", actor, "errors", len(refused))
		return vetted{}, refusal(man, refused)
	}
	return vetted{u: u, owner: owner, newName: newName, findings: findings}, nil
}

func storedFindings(fs []Finding) []store.Finding {
	out := make([]store.Finding, len(fs))
	for i, f := range fs {
		out[i] = store.Finding{Severity: f.Severity, Stage: f.Stage, Line: f.Line, Message: f.Message}
	}
	return out
}

// packageFault turns a failed describe run, which is the package's fault,
// into E_INVALID_PACKAGE with the same sentence. A sandbox that could not
// run it at all (a cause in the chain) stays E_LOAD_FAILED.
func packageFault(err error) error {
	if e := skyerr.From(err); e.Code == skyerr.LoadFailed && e.Err == nil {
		return skyerr.New(skyerr.InvalidPackage, "%s", e.Message)
	}
	return err
}

// describeStored returns the manifest and, for handler style, the
// registrations of a stored version (compiled and described once per
// version, sha256 checked).
func (g *Gallery) describeStored(ctx context.Context, id store.VersionID) (Manifest, []sandbox.Registration, error) {
	ver, err := g.store.Version(ctx, id)
	if err != nil {
		return Manifest{}, nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read version %d.", id)
	}
	var man Manifest
	if err := json.Unmarshal(ver.Manifest, &man); err != nil {
		return Manifest{}, nil, skyerr.Wrap(err, skyerr.LoadFailed, "The stored manifest of %s@%s cannot be read.", ver.Name, ver.Version)
	}
	if man.Legacy() {
		return man, nil, nil
	}
	prog, err := g.reader.program(ver, man)
	if err != nil {
		return Manifest{}, nil, err
	}
	defer g.runner.Evict(sandboxKey("", ver.Name))
	regs, err := g.reader.describe(ctx, "", ver, prog, sandbox.Limits{})
	if err != nil {
		return Manifest{}, nil, err
	}
	return man, regs, nil
}

// checkRequires finds the @requires no published gallery version satisfies:
// no guild could install the extension.
func (g *Gallery) checkRequires(ctx context.Context, man Manifest) ([]Finding, error) {
	var out []Finding
	for _, d := range man.Requires {
		bad := func(format string, args ...any) {
			out = append(out, Finding{Severity: SeverityError, Stage: StagePackage, Message: fmt.Sprintf(format, args...)})
		}
		if d.Name == man.Name {
			bad("@requires names %s itself", d.Name)
			continue
		}
		rng, err := semver.NewConstraint(d.Range)
		if err != nil {
			bad("@requires %s has an invalid range %q", d.Name, d.Range)
			continue
		}
		ext, err := g.store.ExtensionByName(ctx, "", d.Name)
		if errors.Is(err, store.ErrNotFound) {
			bad("@requires names %s, which is not in the gallery", d.Name)
			continue
		}
		if err != nil {
			return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the gallery entry of %s.", d.Name)
		}
		vs, err := g.store.Versions(ctx, ext.ID)
		if err != nil {
			return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", d.Name)
		}
		if !slices.ContainsFunc(vs, func(v store.Version) bool {
			sv, err := semver.StrictNewVersion(v.Version)
			return v.State == store.StatePublished && err == nil && rng.Check(sv)
		}) {
			bad("@requires %s %s, and no published version of %s satisfies it", d.Name, d.Range, d.Name)
		}
	}
	return out, nil
}

// notAboveEarlier refuses a version that is not greater than one submitted
// before and never published (queued, rejected or withdrawn): versions
// only go up. The published ones are VerifyVersion's.
func notAboveEarlier(man Manifest, versions []store.Version) []Finding {
	next, err := semver.StrictNewVersion(man.Version)
	if err != nil {
		return nil // Validate refused it already
	}
	var out []Finding
	for _, v := range versions {
		sv, err := semver.StrictNewVersion(v.Version)
		if v.State == store.StatePublished || err != nil || next.GreaterThan(sv) {
			continue
		}
		out = append(out, Finding{Severity: SeverityError, Stage: StageVersion,
			Message: fmt.Sprintf("version %s is not greater than %s, submitted before (%s); versions only go up", man.Version, v.Version, stateWords(v.State))})
	}
	return out
}

func errorFindings(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// refusal is the E_INVALID_PACKAGE of a submission with error findings:
// the first few, with their lines.
func refusal(man Manifest, fs []Finding) error {
	var parts []string
	for _, f := range fs[:min(len(fs), maxListedFindings)] {
		parts = append(parts, findingText(f))
	}
	more := ""
	if n := len(fs) - maxListedFindings; n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	return skyerr.New(skyerr.InvalidPackage, "%s@%s was not submitted: %s%s.", man.Name, man.Version, strings.Join(parts, "; "), more)
}

// findingText is a finding as a clause, with its line: "line 12: eval
// is forbidden" (the scan's messages name their line already).
func findingText(f Finding) string {
	msg := strings.TrimSuffix(strings.TrimSpace(f.Message), ".")
	if at := fmt.Sprintf("line %d", f.Line); f.Line > 0 && !strings.HasPrefix(msg, at) {
		return at + ": " + msg
	}
	return msg
}

// pendingVersion is the version waiting in the queue or in review, if any.
func pendingVersion(vs []store.Version) *store.Version {
	for i, v := range vs {
		if v.State == store.StateQueue || v.State == store.StateReview {
			return &vs[i]
		}
	}
	return nil
}

// publishedNewestFirst keeps the published versions, highest version first.
func publishedNewestFirst(vs []store.Version) []store.Version {
	var out []store.Version
	for _, v := range vs {
		if v.State == store.StatePublished {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Version) int {
		va, erra := semver.StrictNewVersion(a.Version)
		vb, errb := semver.StrictNewVersion(b.Version)
		if erra != nil || errb != nil {
			return cmp.Compare(b.ID, a.ID)
		}
		return vb.Compare(va)
	})
	return out
}

func newestPublished(vs []store.Version) (store.Version, bool) {
	if p := publishedNewestFirst(vs); len(p) > 0 {
		return p[0], true
	}
	return store.Version{}, false
}

// stateWords says where a version is, for sentences.
func stateWords(state string) string {
	switch state {
	case store.StateQueue:
		return "waiting in the queue"
	case store.StateReview:
		return "in review"
	case store.StatePublished:
		return "published"
	case store.StateRejected:
		return "rejected"
	case store.StateSaved:
		return "withdrawn or saved by its author"
	case store.StateDraft:
		return "a draft"
	}
	return state
}

// The review queue's priority: an author's reputation, then age.
//
//	score = approvedWeight·approved − rejectedWeight·rejected
//	        + ratingWeight·(average stars − 3)·min(ratings, ratingsForFullWeight)/ratingsForFullWeight
//
// over every gallery extension the author owns. Approvals raise it,
// rejections lower it more (a rejection cost a reviewer's time), and the
// ratings term moves it by at most ±ratingWeight·2, reaching full weight
// at ratingsForFullWeight ratings so that one rating cannot dominate.
// Requests for changes do not count: iterating is normal. Higher scores
// come first; equal scores go oldest submission first.
const (
	approvedWeight       = 10
	rejectedWeight       = 15
	ratingWeight         = 5
	ratingsForFullWeight = 10
)

// Reputation is an author's record and the queue score it gives
// (ReputationOf computes it).
type Reputation struct {
	store.AuthorStats
	Score float64
}

func ReputationOf(a store.AuthorStats) Reputation {
	score := float64(approvedWeight*a.Approved - rejectedWeight*a.Rejected)
	if a.Ratings > 0 {
		score += ratingWeight * (a.Average() - 3) * float64(min(a.Ratings, ratingsForFullWeight)) / ratingsForFullWeight
	}
	return Reputation{AuthorStats: a, Score: score}
}

// QueueEntry is one version waiting for a decision.
type QueueEntry struct {
	Version    store.Version // without code
	Owner      store.UserID
	Reviewer   store.UserID // who claimed it; "" while it waits in the queue
	Reputation Reputation   // the owner's
	Waiting    time.Duration
}

// Queue lists the versions waiting in the queue or in review, highest
// priority first (see Reputation's formula above).
func (g *Gallery) Queue(ctx context.Context) ([]QueueEntry, error) {
	pending, err := g.store.PendingReviews(ctx)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the review queue.")
	}
	reps := map[store.UserID]Reputation{}
	out := make([]QueueEntry, 0, len(pending))
	for _, p := range pending {
		rep, ok := reps[p.Owner]
		if !ok {
			stats, err := g.store.AuthorStats(ctx, p.Owner)
			if err != nil {
				return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the record of %s.", p.Owner)
			}
			rep = ReputationOf(stats)
			reps[p.Owner] = rep
		}
		out = append(out, QueueEntry{Version: p.Version, Owner: p.Owner, Reviewer: p.Reviewer, Reputation: rep,
			Waiting: max(0, g.now().Sub(p.Version.CreatedAt))})
	}
	slices.SortStableFunc(out, func(a, b QueueEntry) int {
		return cmp.Or(
			cmp.Compare(b.Reputation.Score, a.Reputation.Score),
			a.Version.CreatedAt.Compare(b.Version.CreatedAt),
			cmp.Compare(a.Version.ID, b.Version.ID))
	})
	return out, nil
}

// Review is everything a reviewer sees of one version.
type Review struct {
	Version  store.Version // with its code
	Owner    store.UserID
	Manifest Manifest
	Reviewer store.UserID // who claimed it, "" if nobody has
	History  []store.ReviewEntry
	Findings []Finding
	// Live is the newest published version other than this one (with its
	// code, for the diff), nil when there is none.
	Live *store.Version
}

// Lookup resolves name@version to a gallery version id, in any state.
func (g *Gallery) Lookup(ctx context.Context, name, version string) (store.VersionID, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return 0, err
	}
	v, err := g.store.FindVersion(ctx, ext.ID, version)
	if errors.Is(err, store.ErrNotFound) {
		return 0, skyerr.New(skyerr.NotFound, "%s@%s is not in the gallery.", name, version)
	}
	if err != nil {
		return 0, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", name, version)
	}
	return v.ID, nil
}

// ReviewOf returns a version's review record; maintainers and the
// extension's owner may read it.
func (g *Gallery) ReviewOf(ctx context.Context, actor store.UserID, roles []string, id store.VersionID) (Review, error) {
	_, ext, err := g.version(ctx, id)
	if err != nil {
		return Review{}, err
	}
	if ext.OwnerID != actor && !g.IsMaintainer(actor, roles) {
		return Review{}, skyerr.New(skyerr.Forbidden, "Only gallery maintainers and the owner of %s can see its reviews.", ext.Name)
	}
	return g.review(ctx, id)
}

func (g *Gallery) review(ctx context.Context, id store.VersionID) (Review, error) {
	ver, ext, err := g.version(ctx, id)
	if err != nil {
		return Review{}, err
	}
	r := Review{Version: ver, Owner: ext.OwnerID}
	if err := json.Unmarshal(ver.Manifest, &r.Manifest); err != nil {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "The stored manifest of %s@%s cannot be read.", ver.Name, ver.Version)
	}
	if r.Reviewer, _, err = g.store.Reviewer(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read who reviews %s@%s.", ver.Name, ver.Version)
	}
	if r.History, err = g.store.ReviewHistory(ctx, id); err != nil {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the review history of %s@%s.", ver.Name, ver.Version)
	}
	found, err := g.store.Findings(ctx, id)
	if err != nil {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the findings on %s@%s.", ver.Name, ver.Version)
	}
	for _, f := range found {
		r.Findings = append(r.Findings, Finding{Severity: f.Severity, Stage: f.Stage, Line: f.Line, Message: f.Message})
	}
	vs, err := g.store.Versions(ctx, ext.ID)
	if err != nil {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", ext.Name)
	}
	vs = slices.DeleteFunc(vs, func(v store.Version) bool { return v.ID == id })
	if live, ok := newestPublished(vs); ok {
		full, err := g.store.Version(ctx, live.ID)
		if err != nil {
			return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", ext.Name, live.Version)
		}
		r.Live = &full
	}
	return r, nil
}

// version returns a gallery version (with code) and its extension;
// E_NOT_FOUND for a guild's private upload as for a missing id.
func (g *Gallery) version(ctx context.Context, id store.VersionID) (store.Version, store.Extension, error) {
	ver, err := g.store.Version(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Version{}, store.Extension{}, skyerr.New(skyerr.NotFound, "There is no gallery version %d.", id)
	}
	if err != nil {
		return store.Version{}, store.Extension{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read version %d.", id)
	}
	ext, err := g.store.Extension(ctx, ver.ExtensionID)
	if err != nil {
		return store.Version{}, store.Extension{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the extension of version %d.", id)
	}
	if ext.LocalGuild != "" {
		return store.Version{}, store.Extension{}, skyerr.New(skyerr.NotFound, "There is no gallery version %d.", id)
	}
	return ver, ext, nil
}

// Claim takes a queued version into review for actor, a maintainer. Of
// two maintainers racing, one wins; the other gets E_INVALID_STATE.
func (g *Gallery) Claim(ctx context.Context, actor store.UserID, roles []string, id store.VersionID) (Review, error) {
	if err := g.requireMaintainer(actor, roles, "claim versions for review"); err != nil {
		return Review{}, err
	}
	_, ext, err := g.version(ctx, id)
	if err != nil {
		return Review{}, err
	}
	if ext.OwnerID == actor && !g.IsAdmin(actor) {
		return Review{}, skyerr.New(skyerr.Forbidden, "You own %s: another maintainer must review it.", ext.Name)
	}
	return g.move(ctx, id, store.ReviewStep{From: store.StateQueue, To: store.StateReview, Actor: actor, Action: store.ReviewClaimed}, "claimed")
}

// Approve publishes a version in review: from now on guilds can install
// it. Only the maintainer who claimed it, or an administrator, decides.
func (g *Gallery) Approve(ctx context.Context, actor store.UserID, roles []string, id store.VersionID) (Review, error) {
	ver, err := g.decider(ctx, actor, roles, id, "approve versions")
	if err != nil {
		return Review{}, err
	}
	var man Manifest
	if err := json.Unmarshal(ver.Manifest, &man); err != nil {
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "The stored manifest of %s@%s cannot be read.", ver.Name, ver.Version)
	}
	tags := NormalizeTags(man.Tags)
	return g.move(ctx, id, store.ReviewStep{From: store.StateReview, To: store.StatePublished, Actor: actor, Action: store.ReviewApproved,
		Labels: &store.Labels{Tags: tags, Category: categoryOf(tags)}}, "approved")
}

// Reject refuses a version in review with feedback for its author. The
// published version of the extension, if any, stays what guilds run.
func (g *Gallery) Reject(ctx context.Context, actor store.UserID, roles []string, id store.VersionID, feedback string) (Review, error) {
	return g.decline(ctx, actor, roles, id, feedback, store.ReviewRejected, "reject versions", "rejected")
}

// RequestChanges sends a version in review back to its author with
// feedback; like a rejection it ends this version (state rejected), but
// it does not count against the author's reputation.
func (g *Gallery) RequestChanges(ctx context.Context, actor store.UserID, roles []string, id store.VersionID, feedback string) (Review, error) {
	return g.decline(ctx, actor, roles, id, feedback, store.ReviewChangesRequested, "request changes", "sent back for changes")
}

// Feedback bounds, in characters.
const (
	minFeedback = 10
	maxFeedback = 2000
)

func (g *Gallery) decline(ctx context.Context, actor store.UserID, roles []string, id store.VersionID, feedback string, action store.ReviewAction, doing, done string) (Review, error) {
	if err := g.requireMaintainer(actor, roles, doing); err != nil {
		return Review{}, err
	}
	feedback = strings.TrimSpace(feedback)
	switch n := utf8.RuneCountInString(feedback); {
	case n < minFeedback:
		return Review{}, skyerr.New(skyerr.InvalidID, "Tell the author what to change: feedback needs at least %d characters.", minFeedback)
	case n > maxFeedback:
		return Review{}, skyerr.New(skyerr.TooLarge, "Feedback is at most %d characters; this is %d.", maxFeedback, n)
	}
	if _, err := g.decider(ctx, actor, roles, id, doing); err != nil {
		return Review{}, err
	}
	return g.move(ctx, id, store.ReviewStep{From: store.StateReview, To: store.StateRejected, Actor: actor, Action: action, Reason: feedback}, done)
}

// decider checks that actor may decide version id: a maintainer, and the
// one who claimed it unless an administrator. A version not in review is
// left to move's E_INVALID_STATE.
func (g *Gallery) decider(ctx context.Context, actor store.UserID, roles []string, id store.VersionID, doing string) (store.Version, error) {
	if err := g.requireMaintainer(actor, roles, doing); err != nil {
		return store.Version{}, err
	}
	ver, _, err := g.version(ctx, id)
	if err != nil {
		return store.Version{}, err
	}
	if ver.State != store.StateReview || g.IsAdmin(actor) {
		return ver, nil
	}
	who, _, err := g.store.Reviewer(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Version{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read who reviews %s@%s.", ver.Name, ver.Version)
	}
	if who != actor {
		return store.Version{}, skyerr.New(skyerr.Forbidden, "<@%s> claimed %s@%s; only they or an administrator can decide it.", who, ver.Name, ver.Version)
	}
	return ver, nil
}

// Withdraw takes a queued version out of the queue (back to saved); only
// the extension's owner can, and only before a maintainer claims it.
func (g *Gallery) Withdraw(ctx context.Context, actor store.UserID, id store.VersionID) (Review, error) {
	_, ext, err := g.version(ctx, id)
	if err != nil {
		return Review{}, err
	}
	if ext.OwnerID != actor {
		return Review{}, skyerr.New(skyerr.Forbidden, "Only the owner of %s can withdraw its versions.", ext.Name)
	}
	return g.move(ctx, id, store.ReviewStep{From: store.StateQueue, To: store.StateSaved, Actor: actor, Action: store.ReviewWithdrawn}, "withdrawn")
}

// move applies one review step to version id and returns the record
// after it. A version no longer in step.From is E_INVALID_STATE, saying
// where it is.
func (g *Gallery) move(ctx context.Context, id store.VersionID, step store.ReviewStep, done string) (Review, error) {
	ver, _, err := g.version(ctx, id)
	if err != nil {
		return Review{}, err
	}
	step.Version = id
	err = g.store.ReviewVersion(ctx, step)
	switch {
	case errors.Is(err, store.ErrState):
		return Review{}, g.stateRefusal(ctx, id, ver, done)
	case errors.Is(err, store.ErrNotFound):
		return Review{}, skyerr.New(skyerr.NotFound, "There is no gallery version %d.", id)
	case err != nil:
		return Review{}, skyerr.Wrap(err, skyerr.Unknown, "Could not record that %s@%s was %s.", ver.Name, ver.Version, done)
	}
	g.log.Info("gallery version "+done, "ext", ver.Name, "version", ver.Version, "version_id", id, "actor", step.Actor, "state", step.To)
	g.changed(ctx, Change{Version: id, Name: ver.Name, Number: ver.Version, State: step.To, Action: step.Action, Actor: step.Actor, Reason: step.Reason})
	return g.review(ctx, id)
}

func (g *Gallery) changed(ctx context.Context, c Change) {
	if g.opts.OnChange != nil {
		g.opts.OnChange(ctx, c)
	}
}

func (g *Gallery) stateRefusal(ctx context.Context, id store.VersionID, ver store.Version, done string) error {
	cur, err := g.store.Version(ctx, id)
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", ver.Name, ver.Version)
	}
	where := stateWords(cur.State)
	if cur.State == store.StateReview {
		if who, _, err := g.store.Reviewer(ctx, id); err == nil {
			where = fmt.Sprintf("in review, claimed by <@%s>", who)
		}
	}
	return skyerr.New(skyerr.InvalidState, "%s@%s is %s, so it cannot be %s.", ver.Name, ver.Version, where, done)
}

// extension returns the gallery extension called name.
func (g *Gallery) extension(ctx context.Context, name string) (store.Extension, error) {
	ext, err := g.store.ExtensionByName(ctx, "", name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Extension{}, skyerr.New(skyerr.NotFound, "%s is not in the gallery.", name)
	}
	if err != nil {
		return store.Extension{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the gallery entry of %s.", name)
	}
	return ext, nil
}

// Published returns a published version of name with its code: version,
// or the newest published when version is "". Anything not published
// (queued, in review, rejected, withdrawn) is E_NOT_FOUND.
func (g *Gallery) Published(ctx context.Context, name, version string) (store.Version, error) {
	if version != "" {
		if _, err := semver.StrictNewVersion(version); err != nil {
			return store.Version{}, skyerr.New(skyerr.InvalidID, "%q is not a version (e.g. 1.0.0).", version)
		}
	}
	vs, err := g.Versions(ctx, name)
	if err != nil {
		return store.Version{}, err
	}
	i := 0
	if version != "" {
		i = slices.IndexFunc(vs, func(v store.Version) bool { return v.Version == version })
	}
	switch {
	case len(vs) == 0:
		return store.Version{}, skyerr.New(skyerr.NotFound, "%s has no published version in the gallery.", name)
	case i < 0:
		return store.Version{}, skyerr.New(skyerr.NotFound, "%s@%s is not published in the gallery.", name, version)
	}
	ver, err := g.store.Version(ctx, vs[i].ID)
	if err != nil {
		return store.Version{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", name, vs[i].Version)
	}
	return ver, nil
}

// Export packages a gallery version of name as a .skypkg in format
// (PackageV2 by default), with its download name. Its owner may export
// any state (version "" is their newest version); anyone else only a
// published one (version "" is the newest published), as .skypkg export
// has always allowed.
func (g *Gallery) Export(ctx context.Context, actor store.UserID, name, version, format string) ([]byte, string, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return nil, "", err
	}
	var ver store.Version
	if ext.OwnerID != actor {
		if ver, err = g.Published(ctx, name, version); err != nil {
			return nil, "", err
		}
	} else {
		vs, err := g.store.Versions(ctx, ext.ID)
		if err != nil {
			return nil, "", skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", name)
		}
		at := slices.IndexFunc(vs, func(v store.Version) bool { return version == "" || v.Version == version })
		if at < 0 {
			return nil, "", skyerr.New(skyerr.NotFound, "%s has no version %s.", name, version)
		}
		if ver, err = g.store.Version(ctx, vs[at].ID); err != nil {
			return nil, "", skyerr.Wrap(err, skyerr.Unknown, "Could not read %s@%s.", name, vs[at].Version)
		}
	}
	return encodeVersion(ver, format, g.now())
}

// Versions lists the published versions of name, newest first, without code.
func (g *Gallery) Versions(ctx context.Context, name string) ([]store.Version, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return nil, err
	}
	vs, err := g.store.Versions(ctx, ext.ID)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", name)
	}
	return publishedNewestFirst(vs), nil
}

// Listing is one gallery search result.
type Listing struct {
	store.Listing
	Manifest Manifest // of the newest published version
}

// Search limits.
const (
	defaultSearchLimit = 25 // what an autocomplete shows
	maxSearchLimit     = 100
)

// Search finds published, listed extensions whose name, title,
// description or tags contain query (any case), with tag and category
// when given, best rated first, then most installed. limit <= 0 gives 25.
func (g *Gallery) Search(ctx context.Context, query, tag, category string, limit int) ([]Listing, error) {
	if limit <= 0 {
		limit = defaultSearchLimit
	}
	q := store.GallerySearch{Text: strings.TrimSpace(query), Limit: min(limit, maxSearchLimit)}
	if tag != "" {
		if q.Tag = normalizeTag(tag); q.Tag == "" {
			return nil, nil
		}
	}
	if category != "" {
		if q.Category = normalizeTag(category); q.Category == "" {
			return nil, nil
		}
	}
	return g.search(ctx, q)
}

// Featured lists the featured extensions, best rated first.
func (g *Gallery) Featured(ctx context.Context, limit int) ([]Listing, error) {
	if limit <= 0 {
		limit = defaultSearchLimit
	}
	return g.search(ctx, store.GallerySearch{Featured: true, Limit: min(limit, maxSearchLimit)})
}

func (g *Gallery) search(ctx context.Context, q store.GallerySearch) ([]Listing, error) {
	ls, err := g.store.SearchGallery(ctx, q)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not search the gallery.")
	}
	out := make([]Listing, 0, len(ls))
	for _, l := range ls {
		var man Manifest
		if err := json.Unmarshal(l.Version.Manifest, &man); err != nil {
			g.log.Error("gallery manifest unreadable; leaving it out of search", "ext", l.Extension.Name, "version", l.Version.Version, "err", err)
			continue
		}
		out = append(out, Listing{Listing: l, Manifest: man})
	}
	return out, nil
}

// PublishedVersion is one published version and how many guilds use it.
type PublishedVersion struct {
	store.Version // without code
	Installs      store.InstallCount
}

// GalleryInfo is what /gallery info shows about an extension.
type GalleryInfo struct {
	Extension store.Extension // OwnerID is the author
	Latest    store.Version   // the newest published version, without code
	Manifest  Manifest        // of Latest
	Scopes    []sandbox.Scope // what Latest asks for, described
	Versions  []PublishedVersion
	Meta      store.GalleryMeta
	Rating    store.RatingSummary
	Installs  int // guilds running any version now
	// Usage is the runs and errors of the last StatsDays days, and the
	// guilds it ran in, as of the manager's last usage flush.
	Usage store.VersionUsage
}

// Info describes a gallery extension with a published version (unlisted
// ones too: they are reachable by name).
func (g *Gallery) Info(ctx context.Context, name string) (GalleryInfo, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return GalleryInfo{}, err
	}
	vs, err := g.Versions(ctx, name)
	if err != nil {
		return GalleryInfo{}, err
	}
	if len(vs) == 0 {
		return GalleryInfo{}, skyerr.New(skyerr.NotFound, "%s has no published version in the gallery.", name)
	}
	info := GalleryInfo{Extension: ext, Latest: vs[0]}
	if err := json.Unmarshal(vs[0].Manifest, &info.Manifest); err != nil {
		return GalleryInfo{}, skyerr.Wrap(err, skyerr.Unknown, "The stored manifest of %s@%s cannot be read.", name, vs[0].Version)
	}
	info.Scopes = describeScopes(info.Manifest.Scopes)
	counts, err := g.store.VersionInstalls(ctx, ext.ID)
	if err != nil {
		return GalleryInfo{}, skyerr.Wrap(err, skyerr.Unknown, "Could not count the installs of %s.", name)
	}
	for _, v := range vs {
		info.Versions = append(info.Versions, PublishedVersion{Version: v, Installs: counts[v.ID]})
	}
	for _, c := range counts {
		info.Installs += c.Active
	}
	if info.Meta, err = g.store.GalleryMeta(ctx, ext.ID); err != nil {
		return GalleryInfo{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the listing of %s.", name)
	}
	if info.Rating, err = g.store.RatingSummary(ctx, ext.ID); err != nil {
		return GalleryInfo{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the rating of %s.", name)
	}
	first := store.UsageDay(g.now()) - StatsDays + 1
	use, err := g.store.UsageByVersion(ctx, ext.ID, first)
	if err == nil {
		info.Usage.Guilds, err = g.store.ActiveGuilds(ctx, ext.ID, first)
	}
	if err != nil {
		return GalleryInfo{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the usage of %s.", name)
	}
	for _, u := range use {
		info.Usage.Runs += u.Runs
		info.Usage.Errors += u.Errors
	}
	return info, nil
}

// Rate records actor's rating of name (1 to 5 stars, an optional text of
// at most 1000 characters), replacing their earlier one, and returns the
// extension's new aggregate. Authors cannot rate their own extensions;
// banned authors cannot rate.
func (g *Gallery) Rate(ctx context.Context, actor store.UserID, name string, stars int, text string) (store.RatingSummary, error) {
	if actor == "" {
		return store.RatingSummary{}, skyerr.New(skyerr.Forbidden, "A rating needs a user.")
	}
	if stars < 1 || stars > 5 {
		return store.RatingSummary{}, skyerr.New(skyerr.InvalidID, "A rating is 1 to 5 stars, not %d.", stars)
	}
	text = strings.TrimSpace(text)
	if n := utf8.RuneCountInString(text); n > store.MaxRatingText {
		return store.RatingSummary{}, skyerr.New(skyerr.TooLarge, "A rating's text is at most %d characters; this one has %d.", store.MaxRatingText, n)
	}
	if err := g.refuseBanned(ctx, actor); err != nil {
		return store.RatingSummary{}, err
	}
	vs, err := g.Versions(ctx, name)
	if err != nil {
		return store.RatingSummary{}, err
	}
	if len(vs) == 0 {
		return store.RatingSummary{}, skyerr.New(skyerr.NotFound, "%s has no published version to rate.", name)
	}
	ext := vs[0].ExtensionID
	e, err := g.store.Extension(ctx, ext)
	if err != nil {
		return store.RatingSummary{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s.", name)
	}
	if e.OwnerID == actor {
		return store.RatingSummary{}, skyerr.New(skyerr.Forbidden, "You cannot rate your own extension.")
	}
	if _, err := g.store.Rate(ctx, store.Rating{ExtensionID: ext, UserID: actor, Stars: stars, Text: text}); err != nil {
		return store.RatingSummary{}, skyerr.Wrap(err, skyerr.Unknown, "Could not save your rating of %s.", name)
	}
	sum, err := g.store.RatingSummary(ctx, ext)
	if err != nil {
		return store.RatingSummary{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the rating of %s.", name)
	}
	g.log.Info("gallery rating", "ext", name, "actor", actor, "stars", stars)
	return sum, nil
}

// Ratings lists the latest ratings of name, most recently changed first.
func (g *Gallery) Ratings(ctx context.Context, name string, limit int) ([]store.Rating, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return nil, err
	}
	rs, err := g.store.Ratings(ctx, ext.ID, limit)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the ratings of %s.", name)
	}
	return rs, nil
}

// SetFeatured features name in the gallery, or stops (administrators).
// Only an extension with a published version can be featured.
func (g *Gallery) SetFeatured(ctx context.Context, actor store.UserID, name string, featured bool) error {
	if err := g.requireAdmin(actor, "feature extensions"); err != nil {
		return err
	}
	ext, err := g.extension(ctx, name)
	if err != nil {
		return err
	}
	if featured {
		if vs, err := g.Versions(ctx, name); err != nil {
			return err
		} else if len(vs) == 0 {
			return skyerr.New(skyerr.InvalidState, "%s has no published version to feature.", name)
		}
	}
	if err := g.store.SetFeatured(ctx, ext.ID, featured); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not change whether %s is featured.", name)
	}
	g.log.Info("gallery featured changed", "ext", name, "featured", featured, "actor", actor)
	return nil
}

// RotateFeatured is the featured rotation's turn: it features count
// extensions in all, keeping the ones administrators featured (pinned) and
// filling the other places from the best rated published extensions,
// those featured longest ago (or never) first, so the set moves on from
// turn to turn. It returns the names it chose, best rated first.
func (g *Gallery) RotateFeatured(ctx context.Context, count int) ([]string, error) {
	ids, err := g.store.RotateFeatured(ctx, count)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not rotate the featured extensions.")
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		ext, err := g.store.Extension(ctx, id)
		if err != nil {
			return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read a featured extension.")
		}
		names = append(names, ext.Name)
	}
	g.log.Info("gallery featured rotated", "chosen", names)
	return names, nil
}

// SetUnlisted hides name from search and featured lists, or lists it
// again (administrators). An unlisted extension stays installable by name.
func (g *Gallery) SetUnlisted(ctx context.Context, actor store.UserID, name string, unlisted bool) error {
	return g.setListingFlag(ctx, actor, name, "unlisted", unlisted, g.store.SetUnlisted)
}

// setListingFlag is an administrator's change of one of name's listing
// flags (what: "unlisted", "premium") through set.
func (g *Gallery) setListingFlag(ctx context.Context, actor store.UserID, name, what string, on bool,
	set func(context.Context, store.ExtensionID, bool) error) error {
	if err := g.requireAdmin(actor, "change whether extensions are "+what); err != nil {
		return err
	}
	ext, err := g.extension(ctx, name)
	if err != nil {
		return err
	}
	if err := set(ctx, ext.ID, on); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not change whether %s is %s.", name, what)
	}
	g.log.Info("gallery "+what+" changed", "ext", name, what, on, "actor", actor)
	return nil
}

// Transfer gives name to another author (its owner, or an administrator):
// from then on only they submit its versions and see its stats. A banned
// user cannot receive an extension. It returns the previous owner.
func (g *Gallery) Transfer(ctx context.Context, actor store.UserID, name string, to store.UserID) (store.UserID, error) {
	ext, err := g.CheckTransfer(ctx, actor, name, to)
	if err != nil {
		return "", err
	}
	err = g.store.TransferExtension(ctx, ext.ID, ext.OwnerID, to)
	if errors.Is(err, store.ErrNotFound) {
		return "", skyerr.New(skyerr.InvalidState, "The owner of %s changed in the meantime; nothing was transferred.", name)
	}
	if err != nil {
		return "", skyerr.Wrap(err, skyerr.Unknown, "Could not transfer %s.", name)
	}
	g.log.Info("gallery extension transferred", "ext", name, "from", ext.OwnerID, "to", to, "actor", actor)
	return ext.OwnerID, nil
}

// CheckTransfer is Transfer's checks without the change: it returns the
// extension when actor may give it to to.
func (g *Gallery) CheckTransfer(ctx context.Context, actor store.UserID, name string, to store.UserID) (store.Extension, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return store.Extension{}, err
	}
	if actor != ext.OwnerID && !g.IsAdmin(actor) {
		return store.Extension{}, skyerr.New(skyerr.Forbidden, "Only the owner of %s or a gallery administrator can transfer it.", name)
	}
	if to == "" || to == ext.OwnerID {
		return store.Extension{}, skyerr.New(skyerr.InvalidID, "%s already belongs to <@%s>; name someone else.", name, ext.OwnerID)
	}
	if _, err := g.store.AuthorBan(ctx, to); err == nil {
		return store.Extension{}, skyerr.New(skyerr.Forbidden, "<@%s> is banned from the gallery and cannot receive %s.", to, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Extension{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the gallery's bans.")
	}
	return ext, nil
}

// SupportThread returns name's support thread ("": none yet).
func (g *Gallery) SupportThread(ctx context.Context, name string) (string, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return "", err
	}
	meta, err := g.store.GalleryMeta(ctx, ext.ID)
	if err != nil {
		return "", skyerr.Wrap(err, skyerr.Unknown, "Could not read the listing of %s.", name)
	}
	return meta.SupportThread, nil
}

// SetSupportThread records thread as name's support thread if its thread
// is still replacing ("": none), and returns the thread name ends up with
// (another one when a racing publication recorded its own first).
func (g *Gallery) SetSupportThread(ctx context.Context, name, thread, replacing string) (string, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return "", err
	}
	got, err := g.store.SetSupportThread(ctx, ext.ID, thread, replacing)
	if err != nil {
		return "", skyerr.Wrap(err, skyerr.Unknown, "Could not record the support thread of %s.", name)
	}
	return got, nil
}

// SetPremium marks name as a premium extension, or not (administrators):
// only guilds whose tier includes premium extensions may install it then.
// Guilds that installed it before keep it and its updates.
func (g *Gallery) SetPremium(ctx context.Context, actor store.UserID, name string, premium bool) error {
	return g.setListingFlag(ctx, actor, name, "premium", premium, g.store.SetPremium)
}

// BanAuthor bars user from the gallery (administrators): they can no
// longer submit or rate, and their extensions leave search. What guilds
// installed keeps running; versions already queued stay for the
// maintainers to reject.
func (g *Gallery) BanAuthor(ctx context.Context, actor, user store.UserID, reason string) error {
	if err := g.requireAdmin(actor, "ban authors"); err != nil {
		return err
	}
	if user == "" || g.IsAdmin(user) {
		return skyerr.New(skyerr.InvalidID, "%q cannot be banned.", user)
	}
	if err := g.store.BanAuthor(ctx, store.Ban{UserID: user, Reason: strings.TrimSpace(reason), By: actor}); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not ban %s.", user)
	}
	g.log.Info("gallery author banned", "user_id", user, "actor", actor)
	return nil
}

// UnbanAuthor lifts a ban (administrators).
func (g *Gallery) UnbanAuthor(ctx context.Context, actor, user store.UserID) error {
	if err := g.requireAdmin(actor, "unban authors"); err != nil {
		return err
	}
	err := g.store.UnbanAuthor(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return skyerr.New(skyerr.NotFound, "%s is not banned.", user)
	}
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not unban %s.", user)
	}
	g.log.Info("gallery author unbanned", "user_id", user, "actor", actor)
	return nil
}

// RegisterKey registers actor's ed25519 public key, replacing an earlier
// one: from now on every submission of theirs must carry a signature
// that this key verifies.
func (g *Gallery) RegisterKey(ctx context.Context, actor store.UserID, pub ed25519.PublicKey) error {
	if actor == "" {
		return skyerr.New(skyerr.Forbidden, "A key needs a user.")
	}
	if len(pub) != ed25519.PublicKeySize {
		return skyerr.New(skyerr.InvalidID, "An ed25519 public key is %d bytes; this one is %d.", ed25519.PublicKeySize, len(pub))
	}
	if err := g.store.SetAuthorKey(ctx, actor, pub); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not save your key.")
	}
	g.log.Info("gallery signing key registered", "user_id", actor)
	return nil
}

// Tag rules: lower case; letters and digits, words joined by "-".
const (
	maxTags   = 10
	maxTagLen = 30
)

// normalizeTag lower-cases a tag, joins its words with "-" and drops
// anything that is not a letter or a digit: "Social Tools" → "social-tools".
func normalizeTag(s string) string {
	var out []rune
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && len(out) > 0 {
				if len(out)+2 > maxTagLen {
					return string(out)
				}
				out = append(out, '-')
			}
			if len(out) == maxTagLen {
				return string(out)
			}
			dash = false
			out = append(out, r)
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '.' || r == '/':
			dash = true
		}
	}
	return string(out)
}

// NormalizeTags normalises a manifest's tags, drops empty and repeated
// ones and keeps the first ten.
func NormalizeTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t = normalizeTag(t); t != "" && !slices.Contains(out, t) && len(out) < maxTags {
			out = append(out, t)
		}
	}
	return out
}

// categories are the gallery's categories. An extension's category is the
// first of its tags that names one, else "other".
var categories = [...]string{"moderation", "utility", "social", "fun", "games", "economy", "music", "information", "other"}

// Categories lists the gallery's categories.
func Categories() []string { return slices.Clone(categories[:]) }

func categoryOf(tags []string) string {
	for _, t := range tags {
		if slices.Contains(categories[:], t) {
			return t
		}
	}
	return "other"
}
