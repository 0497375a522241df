package extensions

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// galleryFixture is a Manager fixture with a gallery over the same store
// and sandbox. m1 and m2 are maintainers by id, members of the role
// "reviewers" are maintainers too, root is the administrator.
type galleryFixture struct {
	*fixture
	g *Gallery
}

func newGalleryFixture(t *testing.T) *galleryFixture {
	t.Helper()
	f := newFixture(t, Options{})
	g := NewGallery(f.store, f.sup, GalleryOptions{
		Maintainers: []store.UserID{"m1", "m2"}, MaintainerRole: "reviewers", Admins: []store.UserID{"root"},
	})
	return &galleryFixture{fixture: f, g: g}
}

// ext is the hello extension renamed, at version, answering with greeting.
func ext(name, version, greeting string) string {
	return strings.Replace(helloV(version, "messages_write", greeting), "// @name         hello", "// @name         "+name, 1)
}

// withHeader adds header lines (e.g. "@tags Fun") to a .skyext.
func withHeader(src string, lines ...string) string {
	var add string
	for _, l := range lines {
		add += "// " + l + "\n"
	}
	return strings.Replace(src, "// ==/SkyExtension==\n", add+"// ==/SkyExtension==\n", 1)
}

func (gf *galleryFixture) submit(t *testing.T, actor store.UserID, src string) (Submission, error) {
	t.Helper()
	return gf.g.Submit(context.Background(), actor, nil, Upload{Filename: "ext.skyext", Size: int64(len(src))}, bytesFetch(src))
}

func (gf *galleryFixture) mustSubmit(t *testing.T, actor store.UserID, src string) Submission {
	t.Helper()
	s, err := gf.submit(t, actor, src)
	if err != nil {
		t.Fatalf("submit by %s: %v", actor, err)
	}
	return s
}

// publish submits src as actor, and m1 claims and approves it.
func (gf *galleryFixture) publish(t *testing.T, actor store.UserID, src string) Submission {
	t.Helper()
	s := gf.mustSubmit(t, actor, src)
	ctx := context.Background()
	if _, err := gf.g.Claim(ctx, "m1", nil, s.Version.ID); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := gf.g.Approve(ctx, "m1", nil, s.Version.ID); err != nil {
		t.Fatalf("approve: %v", err)
	}
	return s
}

// installFromGallery plans and applies a gallery install in guild.
func (gf *galleryFixture) installFromGallery(t *testing.T, guild store.GuildID, name, version string) (*Plan, error) {
	t.Helper()
	ctx := context.Background()
	p, err := gf.m.PlanInstallPublished(ctx, guild, "admin", name, version, gf.g)
	if err != nil {
		return nil, err
	}
	return gf.m.Apply(ctx, guild, "admin", p.ID)
}

func wantCode(t *testing.T, what string, err error, code skyerr.Code) {
	t.Helper()
	if !skyerr.Is(err, code) {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

func (gf *galleryFixture) state(t *testing.T, id store.VersionID) string {
	t.Helper()
	v, err := gf.store.Version(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v.State
}

func historyText(hs []store.ReviewEntry) string {
	var out []string
	for _, h := range hs {
		out = append(out, string(h.Actor)+":"+string(h.Action))
	}
	return strings.Join(out, " ")
}

func TestGalleryLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)

	sub := gf.mustSubmit(t, "ann", withHeader(ext("hello", "1.0.0", "Hello"), "@tags Social, Fun Stuff"))
	if sub.Version.State != store.StateQueue || !sub.NewExtension || sub.Version.SubmittedBy != "ann" {
		t.Fatalf("submission = %+v", sub)
	}
	if e, err := gf.store.ExtensionByName(ctx, "", "hello"); err != nil || e.OwnerID != "ann" {
		t.Fatalf("owner = %+v, %v", e, err)
	}
	_, err := gf.m.PlanInstallPublished(ctx, "g1", "admin", "hello", "", gf.g)
	wantCode(t, "install before approval", err, skyerr.NotFound)

	q, err := gf.g.Queue(ctx)
	if err != nil || len(q) != 1 || q[0].Version.ID != sub.Version.ID || q[0].Owner != "ann" || q[0].Reviewer != "" {
		t.Fatalf("queue = %+v, %v", q, err)
	}
	r, err := gf.g.Claim(ctx, "m1", nil, sub.Version.ID)
	if err != nil || r.Version.State != store.StateReview || r.Reviewer != "m1" {
		t.Fatalf("claim = %+v, %v", r, err)
	}
	if q, _ := gf.g.Queue(ctx); len(q) != 1 || q[0].Reviewer != "m1" {
		t.Fatalf("queue after the claim = %+v", q)
	}
	_, err = gf.g.Approve(ctx, "m2", nil, sub.Version.ID)
	wantCode(t, "approval by a maintainer who did not claim it", err, skyerr.Forbidden)
	r, err = gf.g.Approve(ctx, "m1", nil, sub.Version.ID)
	if err != nil || r.Version.State != store.StatePublished {
		t.Fatalf("approve = %+v, %v", r, err)
	}
	if got := historyText(r.History); got != "ann:submitted m1:claimed m1:approved" {
		t.Fatalf("history = %q", got)
	}
	if q, _ := gf.g.Queue(ctx); len(q) != 0 {
		t.Fatalf("queue after approval = %+v", q)
	}
	info, err := gf.g.Info(ctx, "hello")
	if err != nil || info.Latest.Version != "1.0.0" || info.Extension.OwnerID != "ann" ||
		!slices.Equal(info.Meta.Tags, []string{"social", "fun-stuff"}) || info.Meta.Category != "social" ||
		len(info.Scopes) != 1 || info.Scopes[0].Name != "messages_write" {
		t.Fatalf("info = %+v, %v", info, err)
	}

	p, err := gf.installFromGallery(t, "g1", "hello", "")
	if err != nil || p.Manifest.Version != "1.0.0" {
		t.Fatalf("install from the gallery: %+v, %v", p, err)
	}
	gf.say(t, "g1", "!hello")
	if got := gf.lastReply(t); got != "hello@1.0.0 in c1: Hello, ann!" {
		t.Fatalf("reply = %q", got)
	}
	in, err := gf.store.InstallByName(ctx, "g1", "hello")
	if err != nil || in.VersionID != sub.Version.ID {
		t.Fatalf("install = %+v, %v; want it to point at the published version %d", in, err, sub.Version.ID)
	}
	if n := len(mustVersions(t, gf, "hello")); n != 1 {
		t.Fatalf("%d versions after the install, want the one published", n)
	}
	if info, _ := gf.g.Info(ctx, "hello"); info.Installs != 1 || info.Versions[0].Installs != (store.InstallCount{Active: 1, Ever: 1}) {
		t.Fatalf("installs = %d, %+v", info.Installs, info.Versions)
	}
}

func mustVersions(t *testing.T, gf *galleryFixture, name string) []store.Version {
	t.Helper()
	e, err := gf.store.ExtensionByName(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := gf.store.Versions(context.Background(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestGalleryHandlerStyleSubmission(t *testing.T) {
	t.Parallel()
	gf := newGalleryFixture(t)
	sub := gf.publish(t, "ann", greeter)
	if len(sub.Registrations) == 0 || !slices.Contains(sub.Manifest.Handlers, "prefix command hello") {
		t.Fatalf("registrations %+v, handlers %q", sub.Registrations, sub.Manifest.Handlers)
	}
	if _, err := gf.installFromGallery(t, "g1", "greeter", ""); err != nil {
		t.Fatal(err)
	}
	gf.say(t, "g1", "!hello big world")
	if got := gf.lastReply(t); got != "greeter@1.0.0 in c1: hi big world" {
		t.Fatalf("reply = %q", got)
	}
	top := strings.Replace(greeter, "const sky = require('sky');", "const sky = require('sky');\nnull.boom;", 1)
	top = strings.Replace(top, "1.0.0", "1.1.0", 1)
	_, err := gf.submit(t, "ann", top)
	wantCode(t, "a top level that throws", err, skyerr.InvalidPackage)

	// The package stage's warnings reach the reviewers: a legacy trigger
	// field on handler-style code is ignored, and said so.
	ignored := withHeader(strings.Replace(greeter, "1.0.0", "1.2.0", 1), "@interval 300000")
	sub = gf.mustSubmit(t, "ann", ignored)
	stored, _ := gf.store.Findings(context.Background(), sub.Version.ID)
	if !slices.ContainsFunc(stored, func(f store.Finding) bool {
		return f.Stage == StagePackage && strings.Contains(f.Message, "@interval is set, but only legacy")
	}) {
		t.Fatalf("findings of a handler-style version with @interval = %+v", stored)
	}
}

func TestGalleryRejectKeepsTheLiveVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	if _, err := gf.installFromGallery(t, "g1", "hello", ""); err != nil {
		t.Fatal(err)
	}
	next := gf.mustSubmit(t, "ann", ext("hello", "1.1.0", "Howdy"))
	if _, err := gf.g.Claim(ctx, "m2", nil, next.Version.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		feedback string
		code     skyerr.Code
	}{
		{"no feedback", "", skyerr.InvalidID},
		{"too short", "  bad code ", skyerr.InvalidID},
		{"too long", strings.Repeat("x", maxFeedback+1), skyerr.TooLarge},
	}
	for _, tt := range tests {
		_, err := gf.g.Reject(ctx, "m2", nil, next.Version.ID, tt.feedback)
		wantCode(t, tt.name, err, tt.code)
	}
	if st := gf.state(t, next.Version.ID); st != store.StateReview {
		t.Fatalf("state after refused rejections = %s", st)
	}
	r, err := gf.g.Reject(ctx, "m2", nil, next.Version.ID, "The greeting is rude; please be kinder.")
	if err != nil || r.Version.State != store.StateRejected {
		t.Fatalf("reject = %+v, %v", r, err)
	}
	last := r.History[len(r.History)-1]
	if last.Action != store.ReviewRejected || last.Actor != "m2" || last.Reason != "The greeting is rude; please be kinder." {
		t.Fatalf("last history row = %+v", last)
	}
	if r.Live == nil || r.Live.Version != "1.0.0" || r.Live.Code == "" {
		t.Fatalf("live version in the review = %+v", r.Live)
	}

	live, err := gf.g.Published(ctx, "hello", "")
	if err != nil || live.Version != "1.0.0" {
		t.Fatalf("published = %+v, %v", live, err)
	}
	gf.say(t, "g1", "!hello")
	if got := gf.lastReply(t); got != "hello@1.0.0 in c1: Hello, ann!" {
		t.Fatalf("reply = %q: the rejected version touched the live one", got)
	}
	_, err = gf.m.PlanInstallPublished(ctx, "g2", "admin", "hello", "1.1.0", gf.g)
	wantCode(t, "install of the rejected version", err, skyerr.NotFound)
	_, err = gf.g.Approve(ctx, "m2", nil, next.Version.ID)
	wantCode(t, "approve after rejection", err, skyerr.InvalidState)
}

func TestGalleryRacingClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	sub := gf.mustSubmit(t, "ann", ext("hello", "1.0.0", "Hello"))
	claimers := []store.UserID{"m1", "m2", "root", "m1", "m2", "root"}
	errs := make([]error, len(claimers))
	var wg sync.WaitGroup
	for i, who := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = gf.g.Claim(ctx, who, nil, sub.Version.ID)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !skyerr.Is(err, skyerr.InvalidState):
			t.Fatalf("claim by %s: %v, want E_INVALID_STATE", claimers[i], err)
		case !strings.Contains(skyerr.From(err).Message, "in review, claimed by <@"):
			t.Fatalf("refusal %q does not say who claimed it", skyerr.From(err).Message)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want 1", won)
	}
	r, err := gf.g.ReviewOf(ctx, "m1", nil, sub.Version.ID)
	if err != nil || strings.Count(historyText(r.History), ":claimed") != 1 {
		t.Fatalf("history = %q, %v", historyText(r.History), err)
	}
}

func TestGalleryForbiddenActors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("live", "1.0.0", "Hi"))
	queued := gf.mustSubmit(t, "ann", ext("hello", "1.0.0", "Hello"))
	claimed := gf.mustSubmit(t, "bob", ext("other", "1.0.0", "Yo"))
	if _, err := gf.g.Claim(ctx, "m1", nil, claimed.Version.ID); err != nil {
		t.Fatal(err)
	}
	mine := gf.mustSubmit(t, "m2", ext("mine", "1.0.0", "Hey"))
	feedback := "Please explain what this does."

	tests := []struct {
		name string
		do   func() error
		id   store.VersionID // its state must not change
	}{
		{"claim by a user", func() error { _, err := gf.g.Claim(ctx, "eve", []string{"other-role"}, queued.Version.ID); return err }, queued.Version.ID},
		{"claim by the owner", func() error { _, err := gf.g.Claim(ctx, "ann", nil, queued.Version.ID); return err }, queued.Version.ID},
		{"claim of one's own extension", func() error { _, err := gf.g.Claim(ctx, "m2", nil, mine.Version.ID); return err }, mine.Version.ID},
		{"approve by a user", func() error { _, err := gf.g.Approve(ctx, "eve", nil, claimed.Version.ID); return err }, claimed.Version.ID},
		{"approve by the author", func() error { _, err := gf.g.Approve(ctx, "bob", nil, claimed.Version.ID); return err }, claimed.Version.ID},
		{"approve by another maintainer", func() error { _, err := gf.g.Approve(ctx, "m2", nil, claimed.Version.ID); return err }, claimed.Version.ID},
		{"reject by a user", func() error { _, err := gf.g.Reject(ctx, "eve", nil, claimed.Version.ID, feedback); return err }, claimed.Version.ID},
		{"reject by another maintainer", func() error {
			_, err := gf.g.Reject(ctx, "x", []string{"reviewers"}, claimed.Version.ID, feedback)
			return err
		}, claimed.Version.ID},
		{"changes by a user", func() error { _, err := gf.g.RequestChanges(ctx, "eve", nil, claimed.Version.ID, feedback); return err }, claimed.Version.ID},
		{"withdraw by another user", func() error { _, err := gf.g.Withdraw(ctx, "m1", queued.Version.ID); return err }, queued.Version.ID},
		{"review record of a user", func() error { _, err := gf.g.ReviewOf(ctx, "eve", nil, queued.Version.ID); return err }, queued.Version.ID},
		{"feature by a maintainer", func() error { return gf.g.SetFeatured(ctx, "m1", "live", true) }, 0},
		{"unlist by a user", func() error { return gf.g.SetUnlisted(ctx, "eve", "live", true) }, 0},
		{"ban by a maintainer", func() error { return gf.g.BanAuthor(ctx, "m1", "ann", "spam") }, 0},
		{"unban by a user", func() error { return gf.g.UnbanAuthor(ctx, "eve", "ann") }, 0},
		{"submit to another author's name", func() error { _, err := gf.submit(t, "eve", ext("live", "2.0.0", "Hi")); return err }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.id != 0 {
				before = gf.state(t, tt.id)
			}
			wantCode(t, tt.name, tt.do(), skyerr.Forbidden)
			if tt.id != 0 {
				if after := gf.state(t, tt.id); after != before {
					t.Fatalf("state changed %s -> %s", before, after)
				}
			}
		})
	}
	if m, err := gf.store.GalleryMeta(ctx, gf.extID(t, "live")); err != nil || m.Featured || m.Unlisted {
		t.Fatalf("meta changed by refused actors: %+v, %v", m, err)
	}
	if _, err := gf.store.AuthorBan(ctx, "ann"); err == nil {
		t.Fatal("a maintainer banned an author")
	}
	if n := len(mustVersions(t, gf, "live")); n != 1 {
		t.Fatalf("live has %d versions after another author's submission", n)
	}

	// The role makes a maintainer; the owner may read their own record.
	if _, err := gf.g.Claim(ctx, "x", []string{"reviewers"}, queued.Version.ID); err != nil {
		t.Fatalf("claim by the maintainer role: %v", err)
	}
	if _, err := gf.g.ReviewOf(ctx, "ann", nil, queued.Version.ID); err != nil {
		t.Fatalf("the owner's review record: %v", err)
	}
	// An administrator decides what another maintainer claimed.
	if _, err := gf.g.RequestChanges(ctx, "root", nil, claimed.Version.ID, feedback); err != nil {
		t.Fatalf("request changes by an administrator: %v", err)
	}
}

func (gf *galleryFixture) extID(t *testing.T, name string) store.ExtensionID {
	t.Helper()
	e, err := gf.store.ExtensionByName(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestGalleryVersionsOnlyGoUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	rejected := gf.mustSubmit(t, "ann", ext("hello", "1.2.0", "Hello"))
	if _, err := gf.g.Claim(ctx, "m1", nil, rejected.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := gf.g.Reject(ctx, "m1", nil, rejected.Version.ID, "Crashes when nobody is mentioned."); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		version string
		code    skyerr.Code // "" accepted
		says    string
	}{
		{"0.9.0", skyerr.InvalidPackage, "1.0.0"},
		{"1.0.0", skyerr.InvalidPackage, "1.0.0"},
		{"1.1.0", skyerr.InvalidPackage, "1.2.0, submitted before (rejected)"},
		{"1.2.0", skyerr.InvalidPackage, "1.2.0"},
		{"1.2.1", "", ""},
		{"1.3.0", skyerr.InvalidState, "1.2.1 is still waiting for review"},
	}
	for _, tt := range tests {
		_, err := gf.submit(t, "ann", ext("hello", tt.version, "Hello"))
		if tt.code == "" {
			if err != nil {
				t.Fatalf("%s: %v", tt.version, err)
			}
			continue
		}
		wantCode(t, tt.version, err, tt.code)
		if msg := skyerr.From(err).Message; !strings.Contains(msg, tt.says) {
			t.Fatalf("%s: %q does not say %q", tt.version, msg, tt.says)
		}
	}
	id, err := gf.g.Lookup(ctx, "hello", "1.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := gf.g.Withdraw(ctx, "ann", id); err != nil || r.Version.State != store.StateSaved {
		t.Fatalf("withdraw = %+v, %v", r, err)
	}
	_, err = gf.g.Withdraw(ctx, "ann", id)
	wantCode(t, "withdraw twice", err, skyerr.InvalidState)
	_, err = gf.submit(t, "ann", ext("hello", "1.2.1", "Hello"))
	wantCode(t, "resubmit the withdrawn version", err, skyerr.InvalidPackage)
	gf.mustSubmit(t, "ann", ext("hello", "1.3.0", "Hello"))
}

func TestGallerySignatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	wantCode(t, "a short key", gf.g.RegisterKey(ctx, "ann", pub[:31]), skyerr.InvalidID)
	if err := gf.g.RegisterKey(ctx, "ann", pub); err != nil {
		t.Fatal(err)
	}
	pkg := func(version string, key ed25519.PrivateKey) string {
		man, code, err := ParseSkyext([]byte(ext("hello", version, "Hello")))
		if err != nil {
			t.Fatal(err)
		}
		p := Package{Manifest: man, Code: code}
		if key != nil {
			p.Signature = ed25519.Sign(key, SignatureMessage(sha256Hex(code)))
		}
		data, err := p.Encode(PackageV2, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	submitPkg := func(src string) error {
		_, err := gf.g.Submit(ctx, "ann", nil, Upload{Filename: "hello.skypkg", Size: int64(len(src))}, bytesFetch(src))
		return err
	}

	tests := []struct {
		name string
		err  error
		says string
	}{
		{"an unsigned .skyext", func() error { _, err := gf.submit(t, "ann", ext("hello", "1.0.0", "Hello")); return err }(), "not signed"},
		{"an unsigned .skypkg", submitPkg(pkg("1.0.0", nil)), "not signed"},
		{"signed with another key", submitPkg(pkg("1.0.0", otherKey)), "does not verify"},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, tt.err, skyerr.InvalidPackage)
		if msg := skyerr.From(tt.err).Message; !strings.Contains(msg, tt.says) {
			t.Fatalf("%s: %q does not say %q", tt.name, msg, tt.says)
		}
	}
	if err := submitPkg(pkg("1.0.0", priv)); err != nil {
		t.Fatalf("signed with the registered key: %v", err)
	}
	v, err := gf.g.Lookup(ctx, "hello", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := gf.store.Version(ctx, v); len(stored.Signature) != ed25519.SignatureSize {
		t.Fatalf("stored signature = %x", stored.Signature)
	}
	// Without a key, an unsigned submission is fine.
	gf.mustSubmit(t, "bob", ext("unsigned", "1.0.0", "Hi"))
}

func TestGalleryScanErrorRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	src := ext("hello", "1.0.0", "Hello") + "eval('1 + 1');\n" // line 12
	_, err := gf.submit(t, "ann", src)
	wantCode(t, "eval", err, skyerr.InvalidPackage)
	msg := skyerr.From(err).Message
	if !strings.HasPrefix(msg, "hello@1.0.0 was not submitted: line 12: ") || !strings.Contains(msg, "eval") {
		t.Fatalf("refusal = %q", msg)
	}
	if _, err := gf.store.ExtensionByName(ctx, "", "hello"); err == nil {
		t.Fatal("a refused submission left the name behind")
	}
	deps := withHeader(ext("needy", "1.0.0", "Hi"), "@requires nothing-here ^1.0")
	_, err = gf.submit(t, "ann", deps)
	wantCode(t, "an unresolvable @requires", err, skyerr.InvalidPackage)
	if msg := skyerr.From(err).Message; !strings.Contains(msg, "nothing-here, which is not in the gallery") {
		t.Fatalf("refusal = %q", msg)
	}
}

func TestGalleryRatings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	gf.mustSubmit(t, "ann", ext("queued", "1.0.0", "Hi"))

	tests := []struct {
		name  string
		actor store.UserID
		ext   string
		stars int
		text  string
		code  skyerr.Code // "" accepted
		want  store.RatingSummary
	}{
		{"first", "u1", "hello", 4, "useful", "", store.RatingSummary{Average: 4, Count: 1}},
		{"second", "u2", "hello", 2, "", "", store.RatingSummary{Average: 3, Count: 2}},
		{"edited", "u1", "hello", 5, "even better now", "", store.RatingSummary{Average: 3.5, Count: 2}},
		{"own extension", "ann", "hello", 5, "", skyerr.Forbidden, store.RatingSummary{}},
		{"zero stars", "u3", "hello", 0, "", skyerr.InvalidID, store.RatingSummary{}},
		{"six stars", "u3", "hello", 6, "", skyerr.InvalidID, store.RatingSummary{}},
		{"text too long", "u3", "hello", 3, strings.Repeat("ü", 1001), skyerr.TooLarge, store.RatingSummary{}},
		{"longest text", "u3", "hello", 5, strings.Repeat("ü", 1000), "", store.RatingSummary{Average: 4, Count: 3}},
		{"not published", "u1", "queued", 3, "", skyerr.NotFound, store.RatingSummary{}},
		{"not in the gallery", "u1", "nothing", 3, "", skyerr.NotFound, store.RatingSummary{}},
	}
	for _, tt := range tests { // in order: each sees the ratings before it
		got, err := gf.g.Rate(ctx, tt.actor, tt.ext, tt.stars, tt.text)
		if tt.code != "" {
			wantCode(t, tt.name, err, tt.code)
			continue
		}
		if err != nil || got != tt.want {
			t.Fatalf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	rs, err := gf.g.Ratings(ctx, "hello", 10)
	if err != nil || len(rs) != 3 {
		t.Fatalf("ratings = %+v, %v", rs, err)
	}
	var u1 store.Rating
	for _, r := range rs {
		if r.UserID == "u1" {
			u1 = r
		}
	}
	if u1.Stars != 5 || u1.Text != "even better now" {
		t.Fatalf("u1's rating = %+v", u1)
	}
}

func TestGallerySearchFeaturedUnlistedBanned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	for _, e := range []struct {
		owner    store.UserID
		src      string
		stars    []int
		installs int
	}{
		{"ann", withHeader(ext("welcome-kit", "1.0.0", "Welcome"), "@tags Social, Utility"), []int{4}, 0},
		{"bob", withHeader(ext("dice", "1.0.0", "Roll"), "@tags Games"), []int{5}, 1},
		{"cat", withHeader(ext("greeter-two", "1.0.0", "Hi"), "@tags social"), []int{5}, 2},
		{"dan", withHeader(ext("quiet", "1.0.0", "Shh"), "@tags Social"), nil, 3},
	} {
		sub := gf.publish(t, e.owner, e.src)
		for i, n := range e.stars {
			if _, err := gf.g.Rate(ctx, store.UserID(fmt.Sprint("rater", i)), sub.Manifest.Name, n, ""); err != nil {
				t.Fatal(err)
			}
		}
		for i := range e.installs {
			if _, err := gf.installFromGallery(t, store.GuildID(fmt.Sprint("g", i)), sub.Manifest.Name, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	search := func(query, tag, category string) []string {
		t.Helper()
		ls, err := gf.g.Search(ctx, query, tag, category, 0)
		if err != nil {
			t.Fatal(err)
		}
		return listingNames(ls)
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
	}

	// greeter-two (5★, 2 installs), dice (5★, 1), welcome-kit (4★), quiet (unrated, 3 installs)
	check("all", search("", "", ""), []string{"greeter-two", "dice", "welcome-kit", "quiet"})
	check("tag, normalised", search("", " SOCIAL ", ""), []string{"greeter-two", "welcome-kit", "quiet"})
	check("category", search("", "", "Games"), []string{"dice"})
	check("description", search("says HELLO", "", ""), []string{"greeter-two", "dice", "welcome-kit", "quiet"})
	check("name", search("kit", "", ""), []string{"welcome-kit"})
	check("nothing", search("zebra", "", ""), nil)

	wantCode(t, "featuring by a user", gf.g.SetFeatured(ctx, "ann", "dice", true), skyerr.Forbidden)
	if err := gf.g.SetFeatured(ctx, "root", "dice", true); err != nil {
		t.Fatal(err)
	}
	featured, err := gf.g.Featured(ctx, 0)
	if err != nil || len(featured) != 1 || featured[0].Manifest.Name != "dice" || !featured[0].Meta.Featured {
		t.Fatalf("featured = %+v, %v", featured, err)
	}

	if err := gf.g.SetUnlisted(ctx, "root", "greeter-two", true); err != nil {
		t.Fatal(err)
	}
	check("unlisted left out", search("", "social", ""), []string{"welcome-kit", "quiet"})
	if info, err := gf.g.Info(ctx, "greeter-two"); err != nil || !info.Meta.Unlisted {
		t.Fatalf("info of an unlisted extension = %+v, %v", info, err)
	}
	if _, err := gf.installFromGallery(t, "g9", "greeter-two", ""); err != nil {
		t.Fatalf("an unlisted extension is installable by name: %v", err)
	}

	if err := gf.g.BanAuthor(ctx, "root", "ann", "Spam."); err != nil {
		t.Fatal(err)
	}
	check("banned author left out", search("", "", ""), []string{"dice", "quiet"})
	_, err = gf.submit(t, "ann", ext("welcome-kit", "1.1.0", "Welcome"))
	wantCode(t, "submission by a banned author", err, skyerr.Forbidden)
	if msg := skyerr.From(err).Message; msg != "You are banned from the gallery: Spam." {
		t.Fatalf("ban refusal = %q", msg)
	}
	_, err = gf.g.Rate(ctx, "ann", "dice", 5, "")
	wantCode(t, "rating by a banned author", err, skyerr.Forbidden)
	wantCode(t, "banning an administrator", gf.g.BanAuthor(ctx, "root", "root", ""), skyerr.InvalidID)
	if err := gf.g.UnbanAuthor(ctx, "root", "ann"); err != nil {
		t.Fatal(err)
	}
	check("unbanned", search("kit", "", ""), []string{"welcome-kit"})
	wantCode(t, "unban twice", gf.g.UnbanAuthor(ctx, "root", "ann"), skyerr.NotFound)
}

func TestGalleryQueuePriority(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	// vet: two approvals and good ratings; bad: a rejection; new: nothing.
	gf.publish(t, "vet", ext("vet-one", "1.0.0", "Hi"))
	gf.publish(t, "vet", ext("vet-two", "1.0.0", "Hi"))
	for _, u := range []store.UserID{"u1", "u2"} {
		if _, err := gf.g.Rate(ctx, u, "vet-one", 5, ""); err != nil {
			t.Fatal(err)
		}
	}
	bad := gf.mustSubmit(t, "bad", ext("bad-one", "1.0.0", "Hi"))
	if _, err := gf.g.Claim(ctx, "m1", nil, bad.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := gf.g.Reject(ctx, "m1", nil, bad.Version.ID, "Does nothing useful at all."); err != nil {
		t.Fatal(err)
	}

	// Submitted oldest first: bad, new, new again, vet.
	gf.mustSubmit(t, "bad", ext("bad-one", "1.1.0", "Hi"))
	gf.mustSubmit(t, "new", ext("new-one", "1.0.0", "Hi"))
	gf.mustSubmit(t, "new", ext("new-two", "1.0.0", "Hi"))
	gf.mustSubmit(t, "vet", ext("vet-three", "1.0.0", "Hi"))

	q, err := gf.g.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range q {
		got = append(got, fmt.Sprintf("%s %g", e.Version.Name, e.Reputation.Score))
	}
	// vet: 10·2 + 5·(5−3)·2/10 = 22; new: 0; bad: −15
	want := []string{"vet-three 22", "new-one 0", "new-two 0", "bad-one -15"}
	if !slices.Equal(got, want) {
		t.Fatalf("queue\n got %q\nwant %q", got, want)
	}
}

func TestPlanInstallPublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	gf.publish(t, "ann", ext("hello", "1.1.0", "Howdy"))
	gf.mustSubmit(t, "ann", ext("hello", "1.2.0", "Hiya"))
	if err := gf.m.SetPolicy(ctx, "g3", Policy{NoUploads: true}); err != nil {
		t.Fatal(err)
	}
	if err := gf.m.SetPolicy(ctx, "g4", Policy{AllowedScopes: []string{"storage"}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		guild   store.GuildID
		version string
		code    skyerr.Code // "" installs
		reply   string
	}{
		{"newest", "g1", "", "", "hello@1.1.0 in c1: Howdy, ann!"},
		{"a chosen older version", "g2", "1.0.0", "", "hello@1.0.0 in c1: Hello, ann!"},
		{"a queued version", "g5", "1.2.0", skyerr.NotFound, ""},
		{"a version that does not exist", "g5", "9.9.9", skyerr.NotFound, ""},
		{"not a version", "g5", "latest", skyerr.InvalidID, ""},
		{"already installed", "g1", "", skyerr.AlreadyExists, ""},
		{"uploads refused by policy do not matter", "g3", "", "", "hello@1.1.0 in c1: Howdy, ann!"},
		{"scopes refused by policy", "g4", "", skyerr.Forbidden, ""},
	}
	for _, tt := range tests {
		_, err := gf.installFromGallery(t, tt.guild, "hello", tt.version)
		if tt.code != "" {
			wantCode(t, tt.name, err, tt.code)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		gf.say(t, string(tt.guild), "!hello")
		if got := gf.lastReply(t); got != tt.reply {
			t.Fatalf("%s: reply %q, want %q", tt.name, got, tt.reply)
		}
	}
	_, err := gf.m.PlanInstallPublished(ctx, "g5", "admin", "nothing", "", gf.g)
	wantCode(t, "an unknown name", err, skyerr.NotFound)
	if n := len(mustVersions(t, gf, "hello")); n != 3 {
		t.Fatalf("%d version rows, want 3: a gallery install writes none", n)
	}
}

func TestNormalizeTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       []string
		want     []string
		category string
	}{
		{"case and spaces", []string{" Social ", "Fun  Stuff"}, []string{"social", "fun-stuff"}, "social"},
		{"separators", []string{"mod_tools", "a.b/c", "--x--"}, []string{"mod-tools", "a-b-c", "x"}, "other"},
		{"punctuation dropped", []string{"C++!", "?!"}, []string{"c"}, "other"},
		{"duplicates after normalising", []string{"Games", "games", "GAMES"}, []string{"games"}, "games"},
		{"first category wins", []string{"cool", "Music", "Fun"}, []string{"cool", "music", "fun"}, "music"},
		{"letters beyond ASCII", []string{"Müsik"}, []string{"müsik"}, "other"},
		{"long tags are cut", []string{strings.Repeat("ab", 40)}, []string{strings.Repeat("ab", 15)}, "other"},
		{"at most ten", strings.Split("a,b,c,d,e,f,g,h,i,j,k,l", ","), strings.Split("a,b,c,d,e,f,g,h,i,j", ","), "other"},
		{"none", nil, nil, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NormalizeTags(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("NormalizeTags(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if c := categoryOf(got); c != tt.category {
				t.Fatalf("category = %q, want %q", c, tt.category)
			}
		})
	}
}

func FuzzNormalizeTag(f *testing.F) {
	for _, s := range []string{"Social", " Fun  Stuff ", "a.b/c", "--", "Müsik", strings.Repeat("x", 50), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag := normalizeTag(s)
		if again := normalizeTag(tag); again != tag {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, tag, again)
		}
		if utf8.RuneCountInString(tag) > maxTagLen || strings.HasPrefix(tag, "-") || strings.HasSuffix(tag, "-") || strings.Contains(tag, "--") {
			t.Fatalf("normalizeTag(%q) = %q", s, tag)
		}
		for _, r := range tag {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("normalizeTag(%q) = %q keeps %q", s, tag, r)
			}
		}
	})
}

// Rollback cannot reach a gallery version that was never published, unless
// this guild already ran it.
func TestRollbackStaysWithinReviewedVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	gf.publish(t, "ann", ext("hello", "1.1.0", "Howdy"))
	gf.mustSubmit(t, "ann", ext("hello", "1.2.0", "Hiya")) // queued, never reviewed
	if _, err := gf.installFromGallery(t, "g1", "hello", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	_, err := gf.m.PlanRollback(ctx, "g1", "admin", "hello", "1.2.0")
	wantCode(t, "rolling onto a queued version", err, skyerr.NotFound)
	p, err := gf.m.PlanRollback(ctx, "g1", "admin", "hello", "1.0.0")
	if err != nil {
		t.Fatalf("rolling back to a published version: %v", err)
	}
	if _, err := gf.m.Apply(ctx, "g1", "admin", p.ID); err != nil {
		t.Fatal(err)
	}
	gf.say(t, "g1", "!hello")
	if got := gf.lastReply(t); got != "hello@1.0.0 in c1: Hello, ann!" {
		t.Fatalf("after rollback: %q", got)
	}
}

// TestGalleryOnChange: every stored step reaches OnChange, in order, and a
// refused step (a second claim) does not.
func TestGalleryOnChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var mu sync.Mutex
	var got []string
	g := NewGallery(f.store, f.sup, GalleryOptions{
		Maintainers: []store.UserID{"m1", "m2"},
		OnChange: func(_ context.Context, c Change) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s@%s %s→%s by %s %q", c.Name, c.Number, c.Action, c.State, c.Actor, c.Reason))
		},
	})
	gf := &galleryFixture{fixture: f, g: g}
	ctx := context.Background()
	s := gf.mustSubmit(t, "ann", ext("greeter", "1.0.0", "hi"))
	if _, err := g.Claim(ctx, "m1", nil, s.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Claim(ctx, "m2", nil, s.Version.ID); err == nil {
		t.Fatal("a second claim was taken")
	}
	if _, err := g.Reject(ctx, "m1", nil, s.Version.ID, "please add a help command"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`greeter@1.0.0 submitted→queue by ann ""`,
		`greeter@1.0.0 claimed→review by m1 ""`,
		`greeter@1.0.0 rejected→rejected by m1 "please add a help command"`,
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An install brings what it requires from the gallery, in order, in one
// step; cycles, conflicts and installed versions outside a range are
// refused with nothing changed.
func TestInstallBringsRequirements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	requires := func(name, version string, deps ...string) string {
		lines := make([]string, len(deps))
		for i, d := range deps {
			lines[i] = "@requires     " + d
		}
		return withHeader(ext(name, version, "Hi"), lines...)
	}
	gf.publish(t, "ann", requires("lib", "1.0.0"))
	gf.publish(t, "ann", requires("lib", "1.4.0"))
	gf.publish(t, "ann", requires("lib", "2.0.0"))
	gf.publish(t, "ann", requires("xx", "1.0.0", "lib ^1.0"))
	gf.publish(t, "ann", requires("yy", "1.0.0", "lib ^2.0"))
	gf.publish(t, "ann", requires("app", "1.0.0", "xx ^1.0"))
	gf.publish(t, "ann", requires("both", "1.0.0", "xx ^1.0", "yy ^1.0"))
	// a cycle can only arise across versions: bb needs aa, aa's newer version needs bb.
	gf.publish(t, "ann", requires("aa", "1.0.0"))
	gf.publish(t, "ann", requires("bb", "1.0.0", "aa ^1.0"))
	gf.publish(t, "ann", requires("aa", "1.1.0", "bb ^1.0"))

	installed := func(guild store.GuildID) string {
		t.Helper()
		ins, err := gf.store.Installs(ctx, guild)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range ins {
			out = append(out, in.Name+" "+in.Version)
		}
		slices.Sort(out)
		return strings.Join(out, ", ")
	}

	// app needs xx, xx needs lib: both come along, lib first, newest in range.
	p, err := gf.m.PlanInstallPublished(ctx, "g1", "admin", "app", "", gf.g)
	if err != nil {
		t.Fatal(err)
	}
	var brought []string
	for _, d := range p.Dependencies {
		brought = append(brought, d.Manifest.Name+" "+d.Manifest.Version+" for "+strings.Join(d.RequiredBy, ","))
	}
	if got := strings.Join(brought, "; "); got != "lib 1.4.0 for xx 1.0.0; xx 1.0.0 for app 1.0.0" {
		t.Fatalf("dependencies = %q", got)
	}
	if got := installed("g1"); got != "" {
		t.Fatalf("a plan installed %q", got)
	}
	if _, err := gf.m.Apply(ctx, "g1", "admin", p.ID); err != nil {
		t.Fatal(err)
	}
	if got := installed("g1"); got != "app 1.0.0, lib 1.4.0, xx 1.0.0" {
		t.Fatalf("installed = %q", got)
	}
	in, err := gf.store.InstallByName(ctx, "g1", "lib")
	if err != nil || !slices.Equal(in.GrantedScopes, []string{"messages_write"}) || !in.Enabled {
		t.Fatalf("lib's install = %+v, %v", in, err)
	}
	_, err = gf.m.Uninstall(ctx, "g1", "admin", "lib", false)
	wantCode(t, "uninstalling what xx requires", err, skyerr.InvalidState)

	refused := []struct {
		what, guild, name, want string
		setup                   func()
	}{
		{"a cycle", "g2", "aa", "The requirements of aa form a cycle: aa → bb → aa.", nil},
		{"two ranges no version meets", "g2", "both", "No published version of lib meets every requirement: xx 1.0.0 needs lib ^1.0; yy 1.0.0 needs lib ^2.0.", nil},
		{"an installed version outside the range", "g3", "yy", "yy 1.0.0 needs lib ^2.0, but lib 1.0.0 is installed here; update lib first.", func() {
			if _, err := gf.installFromGallery(t, "g3", "lib", "1.0.0"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range refused {
		if tt.setup != nil {
			tt.setup()
		}
		before := installed(store.GuildID(tt.guild))
		_, err := gf.m.PlanInstallPublished(ctx, store.GuildID(tt.guild), "admin", tt.name, "", gf.g)
		wantCode(t, tt.what, err, skyerr.Dependency)
		if got := skyerr.From(err).Message; got != tt.want {
			t.Errorf("%s: %q\nwant %q", tt.what, got, tt.want)
		}
		if got := installed(store.GuildID(tt.guild)); got != before {
			t.Errorf("%s: installs %q → %q", tt.what, before, got)
		}
	}

	// What the card showed must still hold at the click: lib installed in
	// the meantime refuses the plan, and nothing is written.
	p, err = gf.m.PlanInstallPublished(ctx, "g4", "admin", "xx", "", gf.g)
	if err != nil || len(p.Dependencies) != 1 {
		t.Fatalf("plan xx: %+v, %v", p, err)
	}
	if _, err := gf.installFromGallery(t, "g4", "lib", "1.4.0"); err != nil {
		t.Fatal(err)
	}
	_, err = gf.m.Apply(ctx, "g4", "admin", p.ID)
	wantCode(t, "a dependency installed meanwhile", err, skyerr.InvalidState)
	if got := installed("g4"); got != "lib 1.4.0" {
		t.Fatalf("g4 installs = %q", got)
	}

	// The quota counts what comes along.
	if err := gf.m.SetPolicy(ctx, "g5", Policy{MaxInstalls: 2}); err != nil {
		t.Fatal(err)
	}
	_, err = gf.m.PlanInstallPublished(ctx, "g5", "admin", "app", "", gf.g)
	wantCode(t, "over the quota with dependencies", err, skyerr.InvalidState)
}

// One install brings at most maxDependencies extensions with it: exactly
// that many is planned, one more is refused, naming the limit.
func TestInstallBringsAtMostSixteenRequirements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	// A chain: top needs lib0, lib0 needs lib1, ... so the planner walks it
	// level by level.
	const n = maxDependencies + 1
	for i := n - 1; i >= 0; i-- { // a requirement must be in the gallery first
		var lines []string
		if i+1 < n {
			lines = append(lines, fmt.Sprintf("@requires     lib%d ^1.0", i+1))
		}
		gf.publish(t, "ann", withHeader(ext(fmt.Sprintf("lib%d", i), "1.0.0", "Hi"), lines...))
	}
	gf.publish(t, "ann", withHeader(ext("fits", "1.0.0", "Hi"), "@requires     lib1 ^1.0"))
	gf.publish(t, "ann", withHeader(ext("toobig", "1.0.0", "Hi"), "@requires     lib0 ^1.0"))

	p, err := gf.m.PlanInstallPublished(ctx, "g1", "admin", "fits", "", gf.g)
	if err != nil {
		t.Fatalf("%d requirements: %v", maxDependencies, err)
	}
	if len(p.Dependencies) != maxDependencies {
		t.Fatalf("fits brings %d extensions, want %d", len(p.Dependencies), maxDependencies)
	}
	_, err = gf.m.PlanInstallPublished(ctx, "g1", "admin", "toobig", "", gf.g)
	wantCode(t, "one requirement over the limit", err, skyerr.Dependency)
	if got, want := skyerr.From(err).Message, "toobig needs more than 16 extensions that are not installed here; install some of them first."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if ins, err := gf.store.Installs(ctx, "g1"); err != nil || len(ins) != 0 {
		t.Errorf("installs after two plans: %v, %v", ins, err)
	}
}

// The featured rotation fills the places administrators left from the best
// rated, never-featured first, so the set moves on from turn to turn; a
// pinned feature stays, and unlisted extensions are never chosen.
func TestGalleryFeaturedRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	for i, e := range []struct {
		name  string
		stars int
	}{{"alpha", 5}, {"bravo", 4}, {"charlie", 3}, {"delta", 2}, {"echo", 1}, {"hidden", 5}} {
		gf.publish(t, store.UserID(fmt.Sprint("author", i)), ext(e.name, "1.0.0", "Hi"))
		if _, err := gf.g.Rate(ctx, "rater", e.name, e.stars, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := gf.g.SetUnlisted(ctx, "root", "hidden", true); err != nil {
		t.Fatal(err)
	}
	featured := func() []string { t.Helper(); return featuredNames(t, gf.g) }
	turn := func(want ...string) {
		t.Helper()
		got, err := gf.g.RotateFeatured(ctx, 2)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("rotation chose %q, %v; want %q", got, err, want)
		}
	}
	turn("alpha", "bravo")
	if got := featured(); !slices.Equal(got, []string{"alpha", "bravo"}) {
		t.Fatalf("featured after the first turn = %q", got)
	}
	turn("charlie", "delta")
	if got := featured(); !slices.Equal(got, []string{"charlie", "delta"}) {
		t.Fatalf("featured after the second turn = %q (the first turn's must be gone)", got)
	}
	turn("echo", "alpha") // echo was never featured; then the longest ago, best rated first

	// An administrator's feature is pinned: it takes a place and stays.
	if err := gf.g.SetFeatured(ctx, "root", "delta", true); err != nil {
		t.Fatal(err)
	}
	turn("bravo")
	if got := featured(); !slices.Equal(got, []string{"bravo", "delta"}) {
		t.Fatalf("featured with a pin = %q", got)
	}
	turn("charlie")
	if got := featured(); !slices.Equal(got, []string{"charlie", "delta"}) {
		t.Fatalf("featured with a pin, next turn = %q", got)
	}
}

// Save keeps a checked version for its author, and SubmitSaved queues it
// later, running the whole pipeline again: what changed in the gallery in
// between (here a signing key) decides.
func TestGallerySaveThenSubmit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	var changes []string
	var mu sync.Mutex
	gf.g.opts.OnChange = func(_ context.Context, c Change) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, fmt.Sprintf("%s@%s %s", c.Name, c.Number, c.Action))
	}
	save := func(actor store.UserID, src string) (Submission, error) {
		return gf.g.Save(ctx, actor, Upload{Filename: "ext.skyext", Size: int64(len(src))}, bytesFetch(src))
	}

	saved, err := save("ann", ext("hello", "1.0.0", "Hello"))
	if err != nil || saved.Version.State != store.StateSaved || !saved.NewExtension {
		t.Fatalf("save = %+v, %v", saved, err)
	}
	if q, _ := gf.g.Queue(ctx); len(q) != 0 {
		t.Fatalf("a saved version is in the queue: %+v", q)
	}
	_, err = save("eve", ext("hello", "2.0.0", "Hi"))
	wantCode(t, "save to another author's name", err, skyerr.Forbidden)
	_, err = gf.g.SubmitSaved(ctx, "eve", "hello", "")
	wantCode(t, "submit another author's saved version", err, skyerr.Forbidden)
	_, err = save("ann", ext("broken", "1.0.0", "Hi")+"\n}{")
	wantCode(t, "save code that does not compile", err, skyerr.InvalidPackage)

	queued, err := gf.g.SubmitSaved(ctx, "ann", "hello", "")
	if err != nil || queued.Version.ID != saved.Version.ID || gf.state(t, saved.Version.ID) != store.StateQueue {
		t.Fatalf("submit saved = %+v, %v", queued, err)
	}
	if q, _ := gf.g.Queue(ctx); len(q) != 1 || q[0].Version.ID != saved.Version.ID {
		t.Fatalf("queue = %+v", q)
	}
	_, err = gf.g.SubmitSaved(ctx, "ann", "hello", "1.0.0")
	wantCode(t, "submit a queued version again", err, skyerr.InvalidState)

	// A save while a version waits is fine; submitting it is not.
	if _, err := save("ann", ext("hello", "1.1.0", "Hello")); err != nil {
		t.Fatalf("save while 1.0.0 waits: %v", err)
	}
	_, err = gf.g.SubmitSaved(ctx, "ann", "hello", "1.1.0")
	wantCode(t, "submit while another waits", err, skyerr.InvalidState)
	if _, err := gf.g.Claim(ctx, "m1", nil, saved.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := gf.g.Approve(ctx, "m1", nil, saved.Version.ID); err != nil {
		t.Fatal(err)
	}

	// The pipeline runs again: a key registered since the save refuses
	// the unsigned 1.1.0, which stays saved.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := gf.g.RegisterKey(ctx, "ann", pub); err != nil {
		t.Fatal(err)
	}
	id, _ := gf.g.Lookup(ctx, "hello", "1.1.0")
	_, err = gf.g.SubmitSaved(ctx, "ann", "hello", "1.1.0")
	wantCode(t, "submit an unsigned saved version after registering a key", err, skyerr.InvalidPackage)
	if !strings.Contains(skyerr.From(err).Message, "not signed") || gf.state(t, id) != store.StateSaved {
		t.Fatalf("refusal %q, state %s", skyerr.From(err).Message, gf.state(t, id))
	}

	// A saved version's package warnings are said once when it is
	// submitted, not once from the save and again from the new run.
	legacyField, err := save("bob", withHeader(greeter, "@interval 300000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gf.g.SubmitSaved(ctx, "bob", "greeter", ""); err != nil {
		t.Fatal(err)
	}
	fs, _ := gf.store.Findings(ctx, legacyField.Version.ID)
	if n := len(slices.DeleteFunc(fs, func(f store.Finding) bool { return !strings.Contains(f.Message, "@interval") })); n != 1 {
		t.Fatalf("%d @interval findings after submitting the saved version, want 1", n)
	}

	// A withdrawn version goes back in with its history.
	w := gf.mustSubmit(t, "bob", ext("waves", "1.0.0", "Hi"))
	if _, err := gf.g.Withdraw(ctx, "bob", w.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := gf.g.SubmitSaved(ctx, "bob", "waves", "1.0.0"); err != nil {
		t.Fatalf("resubmit the withdrawn version: %v", err)
	}
	hs, _ := gf.store.ReviewHistory(ctx, w.Version.ID)
	if got := historyText(hs); got != "bob:submitted bob:withdrawn bob:submitted" {
		t.Fatalf("history = %q", got)
	}
	_, err = gf.g.SubmitSaved(ctx, "bob", "waves", "9.9.9")
	wantCode(t, "submit a version that does not exist", err, skyerr.NotFound)

	// Code changed in the database behind its sha256 is never queued.
	later, err := save("bob", ext("waves", "1.1.0", "Hi"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+gf.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER versions_immutable`, `UPDATE versions SET code = code || ' ' WHERE id = ?`} {
		if _, err := db.Exec(q, later.Version.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, err = gf.g.SubmitSaved(ctx, "bob", "waves", "1.1.0")
	wantCode(t, "submit tampered code", err, skyerr.LoadFailed)

	mu.Lock()
	defer mu.Unlock()
	want := []string{"hello@1.0.0 submitted", "hello@1.0.0 claimed", "hello@1.0.0 approved",
		"greeter@1.0.0 submitted", "waves@1.0.0 submitted", "waves@1.0.0 withdrawn", "waves@1.0.0 submitted"}
	if !slices.Equal(changes, want) {
		t.Fatalf("changes = %q, want %q (a save is no review step)", changes, want)
	}
}

// Export gives anyone the published versions and the owner every state,
// and the package reads back to the stored manifest and code.
func TestGalleryExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	live := gf.publish(t, "ann", ext("hello", "1.0.0", "Hello"))
	queued := gf.mustSubmit(t, "ann", ext("hello", "1.1.0", "Hi"))

	for _, tt := range []struct {
		actor         store.UserID
		version, want string
		code          skyerr.Code
		wantID        store.VersionID
	}{
		{actor: "eve", version: "", want: "1.0.0", wantID: live.Version.ID},
		{actor: "eve", version: "1.0.0", want: "1.0.0", wantID: live.Version.ID},
		{actor: "eve", version: "1.1.0", code: skyerr.NotFound},
		{actor: "ann", version: "", want: "1.1.0", wantID: queued.Version.ID},
		{actor: "ann", version: "1.0.0", want: "1.0.0", wantID: live.Version.ID},
		{actor: "ann", version: "2.0.0", code: skyerr.NotFound},
	} {
		data, filename, err := gf.g.Export(ctx, tt.actor, "hello", tt.version, "")
		if tt.code != "" {
			wantCode(t, fmt.Sprintf("%s exports %q", tt.actor, tt.version), err, tt.code)
			continue
		}
		if err != nil {
			t.Fatalf("%s exports %q: %v", tt.actor, tt.version, err)
		}
		pkg, err := ParseSkypkg(data)
		if err != nil {
			t.Fatalf("%s's export does not parse: %v", tt.actor, err)
		}
		stored, _ := gf.store.Version(ctx, tt.wantID)
		var man Manifest
		_ = json.Unmarshal(stored.Manifest, &man)
		if pkg.Manifest.Version != tt.want || pkg.Code != stored.Code || !reflect.DeepEqual(pkg.Manifest, man) || !strings.HasSuffix(filename, ".skypkg") {
			t.Fatalf("%s exports %q: got %s (%s), want %s with the stored manifest and code", tt.actor, tt.version, pkg.Manifest.Version, filename, tt.want)
		}
	}
	_, _, err := gf.g.Export(ctx, "eve", "nothing", "", "")
	wantCode(t, "export a missing extension", err, skyerr.NotFound)
}
