package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// submit queues a gallery version with a manifest carrying description.
func submit(t testing.TB, s *Store, name string, owner UserID, version, description string, findings ...Finding) Version {
	t.Helper()
	man, _ := json.Marshal(map[string]any{"name": name, "version": version, "description": description})
	v, err := s.SubmitVersion(context.Background(), NewVersion{
		Name: name, Owner: owner, Version: version, Manifest: man,
		Code: "// " + name + "@" + version,
	}, findings)
	if err != nil {
		t.Fatalf("SubmitVersion %s@%s: %v", name, version, err)
	}
	return v
}

// step applies one review step, failing the test on error.
func step(t testing.TB, s *Store, st ReviewStep) {
	t.Helper()
	if err := s.ReviewVersion(context.Background(), st); err != nil {
		t.Fatalf("ReviewVersion %+v: %v", st, err)
	}
}

// publish takes a queued version through claim and approval.
func publish(t testing.TB, s *Store, id VersionID, labels *Labels) {
	t.Helper()
	step(t, s, ReviewStep{Version: id, From: StateQueue, To: StateReview, Actor: "maint", Action: ReviewClaimed})
	step(t, s, ReviewStep{Version: id, From: StateReview, To: StatePublished, Actor: "maint", Action: ReviewApproved, Labels: labels})
}

func actions(hs []ReviewEntry) string {
	var out []string
	for _, h := range hs {
		s := string(h.Actor) + ":" + string(h.Action)
		if h.Reason != "" {
			s += "(" + h.Reason + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestSubmitVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	findings := []Finding{
		{Severity: "warning", Stage: "scan", Line: 4, Message: "scope storage is declared but unused"},
		{Severity: "warning", Stage: "version", Message: "a command was removed"},
	}
	v := submit(t, s, "greeter", "ann", "1.0.0", "says hi", findings...)
	if v.State != StateQueue || v.SubmittedBy != "ann" {
		t.Fatalf("submitted version = %+v", v)
	}
	hs, err := s.ReviewHistory(ctx, v.ID)
	if err != nil || actions(hs) != "ann:submitted" {
		t.Fatalf("history = %q, %v", actions(hs), err)
	}
	if got, err := s.Findings(ctx, v.ID); err != nil || !slices.Equal(got, findings) {
		t.Fatalf("findings = %+v, %v", got, err)
	}

	tests := []struct {
		name    string
		owner   UserID
		version string
		want    error
	}{
		{"a second submission while one waits", "ann", "1.1.0", ErrState},
		{"another author's name", "bob", "1.1.0", ErrOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SubmitVersion(ctx, NewVersion{Name: "greeter", Owner: tt.owner, Version: tt.version,
				Manifest: json.RawMessage(`{}`), Code: "x"}, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := count(t, s, `SELECT COUNT(*) FROM versions`); n != 1 {
		t.Fatalf("%d versions after refusals, want 1", n)
	}

	publish(t, s, v.ID, nil)
	if _, err := s.SubmitVersion(ctx, NewVersion{Name: "greeter", Owner: "ann", Version: "1.0.0",
		Manifest: json.RawMessage(`{}`), Code: "other"}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("resubmitting 1.0.0: %v, want ErrExists", err)
	}
	next := submit(t, s, "greeter", "ann", "1.1.0", "says hi")
	if next.State != StateQueue {
		t.Fatalf("next = %+v", next)
	}
}

func TestReviewVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "ann", "1.0.0", "")

	tests := []struct {
		name string
		step ReviewStep
		want error
	}{
		{"approve before a claim", ReviewStep{Version: v.ID, From: StateReview, To: StatePublished, Actor: "m1", Action: ReviewApproved}, ErrState},
		{"claim", ReviewStep{Version: v.ID, From: StateQueue, To: StateReview, Actor: "m1", Action: ReviewClaimed}, nil},
		{"claim again", ReviewStep{Version: v.ID, From: StateQueue, To: StateReview, Actor: "m2", Action: ReviewClaimed}, ErrState},
		{"request changes", ReviewStep{Version: v.ID, From: StateReview, To: StateRejected, Actor: "m1", Action: ReviewChangesRequested, Reason: "please add a description"}, nil},
		{"approve once rejected", ReviewStep{Version: v.ID, From: StateReview, To: StatePublished, Actor: "m1", Action: ReviewApproved}, ErrState},
		{"unknown version", ReviewStep{Version: 999, From: StateQueue, To: StateReview, Actor: "m1", Action: ReviewClaimed}, ErrNotFound},
	}
	for _, tt := range tests { // in order: each step sees the previous ones
		if err := s.ReviewVersion(ctx, tt.step); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	got, err := s.Version(ctx, v.ID)
	if err != nil || got.State != StateRejected {
		t.Fatalf("state = %q, %v", got.State, err)
	}
	hs, err := s.ReviewHistory(ctx, v.ID)
	if want := "ann:submitted m1:claimed m1:changes_requested(please add a description)"; err != nil || actions(hs) != want {
		t.Fatalf("history = %q, %v; want %q", actions(hs), err, want)
	}
	if who, _, err := s.Reviewer(ctx, v.ID); err != nil || who != "m1" {
		t.Fatalf("reviewer = %q, %v", who, err)
	}
	other := submit(t, s, "other", "bob", "1.0.0", "")
	if _, _, err := s.Reviewer(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reviewer of an unclaimed version: %v", err)
	}
	if err := s.ReviewVersion(ctx, ReviewStep{Version: v.ID, From: StateRejected, To: StateQueue}); err == nil {
		t.Fatal("a step without actor and action was accepted")
	}
}

func TestApprovalLabelsTheExtension(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "ann", "1.0.0", "")
	publish(t, s, v.ID, &Labels{Tags: []string{"utility", "social"}, Category: "utility"})
	m, err := s.GalleryMeta(ctx, v.ExtensionID)
	if err != nil || m.Category != "utility" || !slices.Equal(m.Tags, []string{"utility", "social"}) || m.Featured || m.Unlisted {
		t.Fatalf("meta = %+v, %v", m, err)
	}
	if err := s.SetFeatured(ctx, v.ExtensionID, true); err != nil {
		t.Fatal(err)
	}
	v2 := submit(t, s, "greeter", "ann", "1.1.0", "")
	publish(t, s, v2.ID, &Labels{Tags: []string{"fun"}, Category: "fun"})
	if m, err = s.GalleryMeta(ctx, v.ExtensionID); err != nil || m.Category != "fun" || !slices.Equal(m.Tags, []string{"fun"}) || !m.Featured {
		t.Fatalf("meta after 1.1.0 = %+v, %v (featured must survive relabelling)", m, err)
	}
	if m, err := s.GalleryMeta(ctx, 999); err != nil || m.Category != "" || m.Tags != nil {
		t.Fatalf("meta of an unknown extension = %+v, %v", m, err)
	}
	if err := s.SetUnlisted(ctx, 999, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unlisting an unknown extension: %v", err)
	}
}

// Premium and the support thread survive relabelling; the first support
// thread recorded stays.
func TestPremiumAndSupportThread(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "ann", "1.0.0", "")
	publish(t, s, v.ID, &Labels{Tags: []string{"social"}})
	if err := s.SetPremium(ctx, v.ExtensionID, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SetSupportThread(ctx, v.ExtensionID, "111", ""); err != nil || got != "111" {
		t.Fatalf("first support thread = %q, %v", got, err)
	}
	if got, err := s.SetSupportThread(ctx, v.ExtensionID, "222", ""); err != nil || got != "111" {
		t.Fatalf("a racing first support thread = %q, %v; want the first kept", got, err)
	}
	v2 := submit(t, s, "greeter", "ann", "1.1.0", "")
	publish(t, s, v2.ID, &Labels{Tags: []string{"fun"}})
	m, err := s.GalleryMeta(ctx, v.ExtensionID)
	if err != nil || !m.Premium || m.SupportThread != "111" { // before the replacement below
		t.Fatalf("meta after 1.1.0 = %+v, %v", m, err)
	}
	if got, err := s.SetSupportThread(ctx, v.ExtensionID, "333", "111"); err != nil || got != "333" {
		t.Fatalf("a replaced support thread = %q, %v", got, err)
	}
	if got, err := s.SetSupportThread(ctx, v.ExtensionID, "444", "111"); err != nil || got != "333" {
		t.Fatalf("a racing replacement = %q, %v; want 333 kept", got, err)
	}
	ls, err := s.SearchGallery(ctx, GallerySearch{Text: "greeter"})
	if err != nil || len(ls) != 1 || !ls[0].Meta.Premium || ls[0].Meta.SupportThread != "333" {
		t.Fatalf("search = %+v, %v", ls, err)
	}
	if err := s.SetPremium(ctx, v.ExtensionID, false); err != nil {
		t.Fatal(err)
	}
	if m, err := s.GalleryMeta(ctx, v.ExtensionID); err != nil || m.Premium {
		t.Fatalf("meta after premium off = %+v, %v", m, err)
	}
	if _, err := s.SetSupportThread(ctx, 999, "555", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("support thread of an unknown extension: %v", err)
	}
}

func TestRacingClaimsOneWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "ann", "1.0.0", "")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ReviewVersion(ctx, ReviewStep{Version: v.ID, From: StateQueue, To: StateReview,
				Actor: UserID(fmt.Sprintf("m%d", i)), Action: ReviewClaimed})
		}()
	}
	wg.Wait()
	var won []int
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, i)
		case !errors.Is(err, ErrState):
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d claims won, want 1", len(won))
	}
	who, _, err := s.Reviewer(ctx, v.ID)
	if err != nil || who != UserID(fmt.Sprintf("m%d", won[0])) {
		t.Fatalf("reviewer = %q, %v; winner was m%d", who, err, won[0])
	}
	if c := count(t, s, `SELECT COUNT(*) FROM review_history WHERE action = 'claimed'`); c != 1 {
		t.Fatalf("%d claimed rows, want 1", c)
	}
}

func TestPendingReviewsAndAuthorStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a1 := submit(t, s, "alpha", "ann", "1.0.0", "")
	publish(t, s, a1.ID, nil)
	a2 := submit(t, s, "alpha", "ann", "1.1.0", "")
	step(t, s, ReviewStep{Version: a2.ID, From: StateQueue, To: StateReview, Actor: "m1", Action: ReviewClaimed})
	step(t, s, ReviewStep{Version: a2.ID, From: StateReview, To: StateRejected, Actor: "m1", Action: ReviewRejected, Reason: "crashes on start"})
	a3 := submit(t, s, "alpha", "ann", "1.2.0", "")
	step(t, s, ReviewStep{Version: a3.ID, From: StateQueue, To: StateReview, Actor: "m2", Action: ReviewClaimed})
	submit(t, s, "beta", "bob", "1.0.0", "")
	w := submit(t, s, "gamma", "cat", "1.0.0", "")
	step(t, s, ReviewStep{Version: w.ID, From: StateQueue, To: StateSaved, Actor: "cat", Action: ReviewWithdrawn})
	if _, err := s.Rate(ctx, Rating{ExtensionID: a1.ExtensionID, UserID: "u1", Stars: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rate(ctx, Rating{ExtensionID: a1.ExtensionID, UserID: "u2", Stars: 2}); err != nil {
		t.Fatal(err)
	}

	ps, err := s.PendingReviews(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s@%s %s by %s claimed %q", p.Version.Name, p.Version.Version, p.Version.State, p.Owner, p.Reviewer))
	}
	want := []string{`alpha@1.2.0 review by ann claimed "m2"`, `beta@1.0.0 queue by bob claimed ""`}
	if !slices.Equal(got, want) {
		t.Fatalf("pending\n got %q\nwant %q", got, want)
	}

	tests := []struct {
		user UserID
		want AuthorStats
	}{
		{"ann", AuthorStats{Approved: 1, Rejected: 1, Ratings: 2, Stars: 7}},
		{"bob", AuthorStats{}},
		{"nobody", AuthorStats{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.user), func(t *testing.T) {
			got, err := s.AuthorStats(ctx, tt.user)
			if err != nil || got != tt.want {
				t.Fatalf("AuthorStats = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if avg := (AuthorStats{Ratings: 2, Stars: 7}).Average(); avg != 3.5 {
		t.Fatalf("average = %v", avg)
	}
}

func TestRatings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))
	v := submit(t, s, "greeter", "ann", "1.0.0", "")

	tests := []struct {
		name    string
		r       Rating
		wantErr error // nil: stored
		bad     bool  // refused before the database
	}{
		{"first rating", Rating{ExtensionID: v.ExtensionID, UserID: "u1", Stars: 4, Text: "nice"}, nil, false},
		{"another user", Rating{ExtensionID: v.ExtensionID, UserID: "u2", Stars: 1}, nil, false},
		{"edited", Rating{ExtensionID: v.ExtensionID, UserID: "u1", Stars: 5, Text: "great now"}, nil, false},
		{"zero stars", Rating{ExtensionID: v.ExtensionID, UserID: "u3", Stars: 0}, nil, true},
		{"six stars", Rating{ExtensionID: v.ExtensionID, UserID: "u3", Stars: 6}, nil, true},
		{"text too long", Rating{ExtensionID: v.ExtensionID, UserID: "u3", Stars: 3, Text: strings.Repeat("é", MaxRatingText+1)}, nil, true},
		{"longest text", Rating{ExtensionID: v.ExtensionID, UserID: "u4", Stars: 3, Text: strings.Repeat("é", MaxRatingText)}, nil, false},
		{"unknown extension", Rating{ExtensionID: 999, UserID: "u1", Stars: 3}, ErrNotFound, false},
	}
	for _, tt := range tests {
		clk.Advance(time.Second)
		got, err := s.Rate(ctx, tt.r)
		switch {
		case tt.bad || tt.wantErr != nil:
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("%s: err = %v, want a refusal (%v)", tt.name, err, tt.wantErr)
			}
		case err != nil:
			t.Fatalf("%s: %v", tt.name, err)
		case got.Stars != tt.r.Stars || got.Text != tt.r.Text:
			t.Fatalf("%s: stored %+v", tt.name, got)
		}
	}
	rs, err := s.Ratings(ctx, v.ExtensionID, 0)
	if err != nil || len(rs) != 3 {
		t.Fatalf("ratings = %+v, %v", rs, err)
	}
	if rs[1].UserID != "u1" || rs[1].Stars != 5 || !rs[1].CreatedAt.Before(rs[1].UpdatedAt) {
		t.Fatalf("edited rating = %+v (want the first CreatedAt kept)", rs[1])
	}
	sum, err := s.RatingSummary(ctx, v.ExtensionID)
	if err != nil || sum.Count != 3 || sum.Average != 3 {
		t.Fatalf("summary = %+v, %v; want 3 ratings averaging 3", sum, err)
	}
	if sum, err := s.RatingSummary(ctx, 999); err != nil || sum != (RatingSummary{}) {
		t.Fatalf("summary of nothing = %+v, %v", sum, err)
	}
}

func TestKeysAndBans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.AuthorKey(ctx, "ann"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key before registration: %v", err)
	}
	if err := s.SetAuthorKey(ctx, "ann", make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
	for _, b := range []byte{1, 2} { // registering again replaces the key
		key := slices.Repeat([]byte{b}, 32)
		if err := s.SetAuthorKey(ctx, "ann", key); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuthorKey(ctx, "ann"); err != nil || !slices.Equal(got, key) {
			t.Fatalf("key = %x, %v", got, err)
		}
	}

	if _, err := s.AuthorBan(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ban before banning: %v", err)
	}
	if err := s.BanAuthor(ctx, Ban{UserID: "bob", Reason: "malware", By: "admin"}); err != nil {
		t.Fatal(err)
	}
	if b, err := s.AuthorBan(ctx, "bob"); err != nil || b.Reason != "malware" || b.By != "admin" {
		t.Fatalf("ban = %+v, %v", b, err)
	}
	if err := s.UnbanAuthor(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.UnbanAuthor(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second unban: %v", err)
	}
}

func TestVersionInstalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v1 := submit(t, s, "greeter", "ann", "1.0.0", "")
	publish(t, s, v1.ID, nil)
	v2 := submit(t, s, "greeter", "ann", "1.1.0", "")
	publish(t, s, v2.ID, nil)
	for _, g := range []GuildID{"g1", "g2", "g3"} {
		if err := s.CreateInstall(ctx, Install{GuildID: g, ExtensionID: v1.ExtensionID, VersionID: v1.ID, Enabled: true, InstalledBy: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetInstallVersion(ctx, "g1", v1.ExtensionID, v2.ID, nil, ActionUpdate, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInstall(ctx, "g3", v1.ExtensionID, "admin", false); err != nil {
		t.Fatal(err)
	}
	got, err := s.VersionInstalls(ctx, v1.ExtensionID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[VersionID]InstallCount{v1.ID: {Active: 1, Ever: 3}, v2.ID: {Active: 1, Ever: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("installs = %v, want %v", got, want)
	}
}

func TestSearchGallery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	type ext struct {
		name, owner, desc string
		labels            *Labels
		stars             []int
		installs          int
		published         bool
	}
	for _, e := range []ext{
		{"welcome-kit", "ann", "Greets new members", &Labels{Tags: []string{"social", "utility"}, Category: "social"}, []int{5, 4}, 1, true},
		{"dice", "bob", "Rolls 100% fair dice", &Labels{Tags: []string{"fun"}, Category: "games"}, []int{5}, 0, true},
		{"greeter", "cat", "Says hi to new members", &Labels{Tags: []string{"social"}, Category: "social"}, []int{5}, 2, true},
		{"modtools", "dan", "Moderation helpers", &Labels{Tags: []string{"moderation"}, Category: "moderation"}, nil, 3, true},
		{"hidden", "ann", "An unlisted greeting tool", nil, []int{5}, 0, true},
		{"banned", "eve", "A greeting from a banned author", nil, []int{5}, 0, true},
		{"queued", "ann", "A greeting not yet reviewed", nil, nil, 0, false},
	} {
		v := submit(t, s, e.name, UserID(e.owner), "1.0.0", e.desc)
		if !e.published {
			continue
		}
		publish(t, s, v.ID, e.labels)
		for i, n := range e.stars {
			if _, err := s.Rate(ctx, Rating{ExtensionID: v.ExtensionID, UserID: UserID(fmt.Sprint("u", i)), Stars: n}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range e.installs {
			if err := s.CreateInstall(ctx, Install{GuildID: GuildID(fmt.Sprint("g", i)), ExtensionID: v.ExtensionID, VersionID: v.ID, InstalledBy: "admin"}); err != nil {
				t.Fatal(err)
			}
		}
		switch e.name {
		case "hidden":
			if err := s.SetUnlisted(ctx, v.ExtensionID, true); err != nil {
				t.Fatal(err)
			}
		case "dice", "modtools":
			if err := s.SetFeatured(ctx, v.ExtensionID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.BanAuthor(ctx, Ban{UserID: "eve", By: "admin"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		q    GallerySearch
		want []string
	}{
		// greeter (5.0, 2 installs) before dice (5.0, 0) before welcome-kit (4.5) before unrated modtools
		{"everything", GallerySearch{}, []string{"greeter", "dice", "welcome-kit", "modtools"}},
		{"limit", GallerySearch{Limit: 2}, []string{"greeter", "dice"}},
		{"description", GallerySearch{Text: "NEW MEMBERS"}, []string{"greeter", "welcome-kit"}},
		{"name", GallerySearch{Text: "dic"}, []string{"dice"}},
		{"tag text", GallerySearch{Text: "moderat"}, []string{"modtools"}},
		{"greeting skips unlisted, banned and queued", GallerySearch{Text: "greeting"}, nil},
		{"percent", GallerySearch{Text: "100%"}, []string{"dice"}},
		{"percent is literal", GallerySearch{Text: "1%r"}, nil},
		{"underscore is literal", GallerySearch{Text: "s_h"}, nil},
		{"tag", GallerySearch{Tag: "social"}, []string{"greeter", "welcome-kit"}},
		{"tag and text", GallerySearch{Tag: "utility", Text: "greets"}, []string{"welcome-kit"}},
		{"category", GallerySearch{Category: "games"}, []string{"dice"}},
		{"featured", GallerySearch{Featured: true}, []string{"dice", "modtools"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ls, err := s.SearchGallery(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ls {
				got = append(got, l.Extension.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}

	ls, err := s.SearchGallery(ctx, GallerySearch{Text: "welcome"})
	if err != nil || len(ls) != 1 {
		t.Fatalf("welcome: %+v, %v", ls, err)
	}
	l := ls[0]
	if l.Extension.OwnerID != "ann" || l.Version.Version != "1.0.0" || l.Version.Code != "" ||
		l.Rating != (RatingSummary{Average: 4.5, Count: 2}) || l.Installs != 1 ||
		l.Meta.Category != "social" || !slices.Equal(l.Meta.Tags, []string{"social", "utility"}) {
		t.Fatalf("listing = %+v", l)
	}
}

// A transfer names the owner it expects: a stale one changes nothing.
func TestTransferExtension(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "ann", "1.0.0", "")
	if err := s.TransferExtension(ctx, v.ExtensionID, "bob", "cid"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a transfer from a stale owner: %v", err)
	}
	if err := s.TransferExtension(ctx, v.ExtensionID, "ann", "bob"); err != nil {
		t.Fatal(err)
	}
	ext, err := s.Extension(ctx, v.ExtensionID)
	if err != nil || ext.OwnerID != "bob" {
		t.Fatalf("owner = %q, %v; want bob", ext.OwnerID, err)
	}
	if got, err := s.Version(ctx, v.ID); err != nil || got.SubmittedBy != "ann" {
		t.Fatalf("submitted_by after the transfer = %q, %v; want ann kept", got.SubmittedBy, err)
	}
}

func TestSaveThenSubmitSaved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	old := []Finding{{Severity: "warning", Stage: "package", Message: "lost a field"}}
	v, err := s.SaveGalleryVersion(ctx, NewVersion{Name: "greeter", Owner: "ann", Version: "1.0.0",
		Manifest: json.RawMessage(`{}`), Code: "x"}, old)
	if err != nil || v.State != StateSaved {
		t.Fatalf("save = %+v, %v", v, err)
	}
	if hs, _ := s.ReviewHistory(ctx, v.ID); len(hs) != 0 {
		t.Fatalf("a save wrote review history: %q", actions(hs))
	}
	waiting := submit(t, s, "greeter", "ann", "1.1.0", "")
	if _, err := s.SubmitSaved(ctx, v.ID, "ann", nil); !errors.Is(err, ErrState) {
		t.Fatalf("submit saved while 1.1.0 waits: %v, want ErrState", err)
	}
	step(t, s, ReviewStep{Version: waiting.ID, From: StateQueue, To: StateSaved, Actor: "ann", Action: ReviewWithdrawn})

	fresh := []Finding{old[0], {Severity: "warning", Stage: "scan", Line: 2, Message: "scope storage is unused"}}
	got, err := s.SubmitSaved(ctx, v.ID, "ann", fresh)
	if err != nil || got.State != StateQueue || got.Code != "x" {
		t.Fatalf("submit saved = %+v, %v", got, err)
	}
	if fs, err := s.Findings(ctx, v.ID); err != nil || !slices.Equal(fs, fresh) {
		t.Fatalf("findings = %+v, %v; want the new ones only", fs, err)
	}
	if hs, _ := s.ReviewHistory(ctx, v.ID); actions(hs) != "ann:submitted" {
		t.Fatalf("history = %q", actions(hs))
	}
	if _, err := s.SubmitSaved(ctx, v.ID, "ann", nil); !errors.Is(err, ErrState) {
		t.Fatalf("submit a queued version: %v, want ErrState", err)
	}
	if _, err := s.SubmitSaved(ctx, 9999, "ann", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("submit a missing version: %v, want ErrNotFound", err)
	}
}
