package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The gallery's rows beyond versions: the review history of each version,
// who claimed it, what the pipeline found, how an extension is listed
// (tags, category, featured, unlisted), banned authors, authors' signing
// keys and ratings. Install counts come from installs and install_history.

// ReviewAction is what a review_history row records.
type ReviewAction string

const (
	ReviewSubmitted        ReviewAction = "submitted"
	ReviewClaimed          ReviewAction = "claimed"
	ReviewApproved         ReviewAction = "approved"
	ReviewRejected         ReviewAction = "rejected"
	ReviewChangesRequested ReviewAction = "changes_requested"
	ReviewWithdrawn        ReviewAction = "withdrawn"
)

// ReviewEntry is one step of a version's review: who did what, when, why.
type ReviewEntry struct {
	ID        int64
	VersionID VersionID
	Actor     UserID
	Action    ReviewAction
	Reason    string // feedback on rejected and changes_requested
	At        time.Time
}

// Finding is what the validation pipeline said about a version without
// refusing it, kept for its reviewers.
type Finding struct {
	Severity string // "error" or "warning"
	Stage    string // "package", "scan", "version", "author"
	Line     int    // 0: the manifest or the package as a whole
	Message  string
}

// MaxRatingText is the longest rating text, in characters (the CHECK on ratings.text).
const MaxRatingText = 1000

func writeReview(ctx context.Context, tx *sql.Tx, at int64, id VersionID, actor UserID, action ReviewAction, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO review_history (version_id, actor, action, reason, at) VALUES (?, ?, ?, ?, ?)`,
		id, actor, action, reason, at)
	if err != nil {
		return fmt.Errorf("write review history: %w", err)
	}
	return nil
}

// SubmitVersion stores a new gallery version in state queue with its
// 'submitted' review row and the findings, in one transaction. Ownership
// and duplicates are SaveVersion's (ErrOwner, ErrExists). ErrState when
// the extension already has a version waiting in the queue or in review:
// one submission at a time per extension.
func (s *Store) SubmitVersion(ctx context.Context, nv NewVersion, findings []Finding) (Version, error) {
	return s.putGalleryVersion(ctx, nv, findings, StateQueue)
}

// SaveGalleryVersion stores a new gallery version in state saved with its
// findings: checked, kept for its author, not submitted. Ownership and
// duplicates are as SubmitVersion's; another version waiting for review
// does not stop it.
func (s *Store) SaveGalleryVersion(ctx context.Context, nv NewVersion, findings []Finding) (Version, error) {
	return s.putGalleryVersion(ctx, nv, findings, StateSaved)
}

func (s *Store) putGalleryVersion(ctx context.Context, nv NewVersion, findings []Finding, state string) (Version, error) {
	nv.State = state
	var v Version
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var owner UserID
		err := tx.QueryRowContext(ctx, `SELECT owner_id FROM extensions WHERE name = ? AND local_guild = ?`,
			nv.Name, nv.LocalGuild).Scan(&owner)
		switch {
		case err == nil && owner != nv.Owner:
			return ErrOwner // before anything else: another author learns nothing more
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if state == StateQueue {
			if err := refuseWaiting(ctx, tx, nv.Name, nv.LocalGuild); err != nil {
				return err
			}
		}
		if v, err = s.saveVersion(ctx, tx, nv, false); err != nil {
			return err
		}
		if state == StateQueue {
			if err := writeReview(ctx, tx, ms(s.now()), v.ID, v.SubmittedBy, ReviewSubmitted, ""); err != nil {
				return err
			}
		}
		return writeFindings(ctx, tx, v.ID, findings)
	})
	if err != nil {
		return Version{}, fmt.Errorf("put %s@%s in state %s: %w", nv.Name, nv.Version, state, err)
	}
	return v, nil
}

// SubmitSaved moves a saved gallery version into the queue with its
// 'submitted' review row (actor is who submits it), replacing its
// findings with the pipeline's new ones, in one transaction. ErrNotFound
// when there is no such version; ErrState when it is not saved, or when
// another version of the extension waits in the queue or in review.
func (s *Store) SubmitSaved(ctx context.Context, id VersionID, actor UserID, findings []Finding) (Version, error) {
	var v Version
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := queryOne(ctx, tx, scanVersion, `SELECT `+versionColsLight+` WHERE v.id = ?`, id)
		if err != nil {
			return err
		}
		if cur.State != StateSaved {
			return fmt.Errorf("state is %s: %w", cur.State, ErrState)
		}
		var local string
		if err := tx.QueryRowContext(ctx, `SELECT local_guild FROM extensions WHERE id = ?`, cur.ExtensionID).Scan(&local); err != nil {
			return err
		}
		if err := refuseWaiting(ctx, tx, cur.Name, local); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE versions SET state = ? WHERE id = ?`, StateQueue, id); err != nil {
			return err
		}
		if err := writeReview(ctx, tx, ms(s.now()), id, actor, ReviewSubmitted, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM version_findings WHERE version_id = ?`, id); err != nil {
			return err
		}
		if err := writeFindings(ctx, tx, id, findings); err != nil {
			return err
		}
		v, err = queryOne(ctx, tx, scanVersion, `SELECT `+versionCols+` WHERE v.id = ?`, id)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("submit saved version %d: %w", id, err)
	}
	return v, nil
}

// refuseWaiting is ErrState when extension name (of local, "" for the
// gallery) has a version in the queue or in review.
func refuseWaiting(ctx context.Context, tx *sql.Tx, name, local string) error {
	var pending string
	err := tx.QueryRowContext(ctx, `SELECT v.version FROM versions v JOIN extensions e ON e.id = v.extension_id
		WHERE e.name = ? AND e.local_guild = ? AND v.state IN ('queue', 'review') LIMIT 1`,
		name, local).Scan(&pending)
	switch {
	case err == nil:
		return fmt.Errorf("version %s is waiting for review: %w", pending, ErrState)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	return nil
}

func writeFindings(ctx context.Context, tx *sql.Tx, id VersionID, findings []Finding) error {
	for i, f := range findings {
		_, err := tx.ExecContext(ctx, `INSERT INTO version_findings (version_id, seq, severity, stage, line, message)
			VALUES (?, ?, ?, ?, ?, ?)`, id, i, f.Severity, f.Stage, f.Line, f.Message)
		if err != nil {
			return fmt.Errorf("write finding %d: %w", i, err)
		}
	}
	return nil
}

// ReviewStep is one move of a version along the review flow.
type ReviewStep struct {
	Version  VersionID
	From, To string // the state it must be in, and the state it goes to
	Actor    UserID
	Action   ReviewAction
	Reason   string
	// Labels, when set, replace the extension's tags and category in the
	// same transaction (an approval lists the version's own).
	Labels *Labels
}

// Labels are how an extension is found: normalised tags and a category.
type Labels struct {
	Tags     []string
	Category string
}

// ReviewVersion moves a version from step.From to step.To and writes its
// review row, in one transaction; a claim also records the reviewer.
// ErrNotFound when the version does not exist, ErrState when it is no
// longer in step.From (another reviewer got there first).
func (s *Store) ReviewVersion(ctx context.Context, step ReviewStep) error {
	if step.Action == "" || step.To == "" || step.Actor == "" {
		return fmt.Errorf("review version %d: incomplete step %+v", step.Version, step)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		var ext ExtensionID
		err := tx.QueryRowContext(ctx, `SELECT state, extension_id FROM versions WHERE id = ?`, step.Version).Scan(&cur, &ext)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur != step.From {
			return fmt.Errorf("state is %s: %w", cur, ErrState)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE versions SET state = ? WHERE id = ?`, step.To, step.Version); err != nil {
			return err
		}
		now := ms(s.now())
		if err := writeReview(ctx, tx, now, step.Version, step.Actor, step.Action, step.Reason); err != nil {
			return err
		}
		if step.Action == ReviewClaimed {
			_, err := tx.ExecContext(ctx, `INSERT INTO version_claims (version_id, reviewer, claimed_at) VALUES (?, ?, ?)
				ON CONFLICT (version_id) DO UPDATE SET reviewer = excluded.reviewer, claimed_at = excluded.claimed_at`,
				step.Version, step.Actor, now)
			if err != nil {
				return fmt.Errorf("record claim: %w", err)
			}
		}
		if step.Labels != nil {
			return setLabels(ctx, tx, ext, *step.Labels, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s version %d (%s -> %s): %w", step.Action, step.Version, step.From, step.To, err)
	}
	return nil
}

// setLabels replaces the tags and category of ext inside tx.
func setLabels(ctx context.Context, tx *sql.Tx, ext ExtensionID, l Labels, now int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO gallery_extensions (extension_id, category, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (extension_id) DO UPDATE SET category = excluded.category, updated_at = excluded.updated_at`,
		ext, l.Category, now); err != nil {
		return fmt.Errorf("set category: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM extension_tags WHERE extension_id = ?`, ext); err != nil {
		return fmt.Errorf("clear tags: %w", err)
	}
	for i, tag := range l.Tags {
		_, err := tx.ExecContext(ctx, `INSERT INTO extension_tags (extension_id, tag, pos) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, ext, tag, i)
		if err != nil {
			return fmt.Errorf("set tag %q: %w", tag, err)
		}
	}
	return nil
}

const reviewCols = `id, version_id, actor, action, reason, at FROM review_history`

func scanReview(sc scanner) (ReviewEntry, error) {
	var r ReviewEntry
	var at int64
	err := sc.Scan(&r.ID, &r.VersionID, &r.Actor, &r.Action, &r.Reason, &at)
	r.At = fromMS(at)
	return r, err
}

// ReviewHistory lists every review step of a version, oldest first.
func (s *Store) ReviewHistory(ctx context.Context, id VersionID) ([]ReviewEntry, error) {
	rs, err := queryAll(ctx, s.r, scanReview, `SELECT `+reviewCols+` WHERE version_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("review history of version %d: %w", id, err)
	}
	return rs, nil
}

// Findings lists what the pipeline kept about a version, in its order.
func (s *Store) Findings(ctx context.Context, id VersionID) ([]Finding, error) {
	fs, err := queryAll(ctx, s.r, func(sc scanner) (Finding, error) {
		var f Finding
		err := sc.Scan(&f.Severity, &f.Stage, &f.Line, &f.Message)
		return f, err
	}, `SELECT severity, stage, line, message FROM version_findings WHERE version_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("findings of version %d: %w", id, err)
	}
	return fs, nil
}

// Reviewer is the maintainer who claimed a version, or ErrNotFound when
// nobody has.
func (s *Store) Reviewer(ctx context.Context, id VersionID) (UserID, time.Time, error) {
	var who UserID
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT reviewer, claimed_at FROM version_claims WHERE version_id = ?`, id).Scan(&who, &at)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reviewer of version %d: %w", id, err)
	}
	return who, fromMS(at), nil
}

// galleryVersionCols are versionColsLight's columns without its FROM, so
// that queries can add their own columns and joins.
const galleryVersionCols = `v.id, v.extension_id, e.name, v.version, v.manifest, '', v.md5, v.sha256,
	v.signature, v.state, v.submitted_by, v.created_at`

// scanVersionWith scans galleryVersionCols, then extra.
func scanVersionWith(sc scanner, extra ...any) (Version, error) {
	var v Version
	var manifest string
	var created int64
	dest := append([]any{&v.ID, &v.ExtensionID, &v.Name, &v.Version, &manifest, &v.Code, &v.MD5, &v.SHA256,
		&v.Signature, &v.State, &v.SubmittedBy, &created}, extra...)
	err := sc.Scan(dest...)
	v.Manifest = []byte(manifest)
	v.CreatedAt = fromMS(created)
	return v, err
}

// Pending is a gallery version waiting for a decision.
type Pending struct {
	Version  Version // without code
	Owner    UserID  // the extension's owner: the author whose reputation counts
	Reviewer UserID  // who claimed it; "" while it is queued
}

// PendingReviews lists the gallery versions in queue or review, oldest first.
func (s *Store) PendingReviews(ctx context.Context) ([]Pending, error) {
	ps, err := queryAll(ctx, s.r, func(sc scanner) (Pending, error) {
		var p Pending
		var err error
		p.Version, err = scanVersionWith(sc, &p.Owner, &p.Reviewer)
		if p.Version.State == StateQueue {
			p.Reviewer = "" // a claim left from an earlier round does not count
		}
		return p, err
	}, `SELECT `+galleryVersionCols+`, e.owner_id, COALESCE(c.reviewer, '')
		FROM versions v JOIN extensions e ON e.id = v.extension_id
		LEFT JOIN version_claims c ON c.version_id = v.id
		WHERE e.local_guild = '' AND v.state IN ('queue', 'review')
		ORDER BY v.created_at, v.id`)
	if err != nil {
		return nil, fmt.Errorf("pending reviews: %w", err)
	}
	return ps, nil
}

// AuthorStats is an author's record in the gallery, over the extensions
// they own.
type AuthorStats struct {
	Approved         int // approvals of their versions
	Rejected         int // rejections
	ChangesRequested int // requests for changes
	Ratings          int // ratings of their extensions
	Stars            int // the sum of those ratings' stars
}

// Average is the mean of the author's ratings, 0 without any.
func (a AuthorStats) Average() float64 {
	if a.Ratings == 0 {
		return 0
	}
	return float64(a.Stars) / float64(a.Ratings)
}

// AuthorStats counts the decisions on the versions of user's gallery
// extensions and the ratings those extensions received.
func (s *Store) AuthorStats(ctx context.Context, user UserID) (AuthorStats, error) {
	var a AuthorStats
	err := s.r.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(h.action = 'approved'), 0),
		COALESCE(SUM(h.action = 'rejected'), 0),
		COALESCE(SUM(h.action = 'changes_requested'), 0),
		(SELECT COUNT(*) FROM ratings r JOIN extensions re ON re.id = r.extension_id
			WHERE re.owner_id = ?1 AND re.local_guild = ''),
		(SELECT COALESCE(SUM(r.stars), 0) FROM ratings r JOIN extensions re ON re.id = r.extension_id
			WHERE re.owner_id = ?1 AND re.local_guild = '')
		FROM review_history h
		JOIN versions v ON v.id = h.version_id
		JOIN extensions e ON e.id = v.extension_id
		WHERE e.owner_id = ?1 AND e.local_guild = ''
			AND h.action IN ('approved', 'rejected', 'changes_requested')`, user).
		Scan(&a.Approved, &a.Rejected, &a.ChangesRequested, &a.Ratings, &a.Stars)
	if err != nil {
		return AuthorStats{}, fmt.Errorf("record of author %s: %w", user, err)
	}
	return a, nil
}

// GalleryMeta is how a gallery extension is listed.
type GalleryMeta struct {
	Tags     []string // normalised, in the manifest's order
	Category string
	Featured bool
	Unlisted bool // installable by name, absent from search
	// Premium: only guilds whose tier includes premium extensions may
	// install it.
	Premium bool
	// SupportThread is the extension's thread in the support forum ("":
	// none yet).
	SupportThread string
}

// GalleryMeta returns how ext is listed; an extension never labelled or
// flagged reads as the zero GalleryMeta.
func (s *Store) GalleryMeta(ctx context.Context, ext ExtensionID) (GalleryMeta, error) {
	var m GalleryMeta
	err := s.r.QueryRowContext(ctx, `SELECT category, featured, unlisted, premium, support_thread_id FROM gallery_extensions WHERE extension_id = ?`, ext).
		Scan(&m.Category, &m.Featured, &m.Unlisted, &m.Premium, &m.SupportThread)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return GalleryMeta{}, fmt.Errorf("gallery listing of extension %d: %w", ext, err)
	}
	m.Tags, err = queryAll(ctx, s.r, func(sc scanner) (string, error) {
		var t string
		return t, sc.Scan(&t)
	}, `SELECT tag FROM extension_tags WHERE extension_id = ? ORDER BY pos`, ext)
	if err != nil {
		return GalleryMeta{}, fmt.Errorf("tags of extension %d: %w", ext, err)
	}
	return m, nil
}

// SetFeatured features ext in the gallery, or stops featuring it. An
// administrator's feature is pinned: the rotation leaves it alone.
func (s *Store) SetFeatured(ctx context.Context, ext ExtensionID, featured bool) error {
	return s.setFlag(ctx, ext, "featured", featured)
}

// RotateFeatured replaces the rotation's features with up to count
// extensions, less the administrators' pinned ones. The pool is the
// 3 × slots best rated (then most installed) published, listed extensions
// of authors not banned; from the pool, those the rotation chose longest
// ago (never first) win, best rated first among equals. It returns the
// extensions it chose, in one transaction with the change.
func (s *Store) RotateFeatured(ctx context.Context, count int) ([]ExtensionID, error) {
	var chosen []ExtensionID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		chosen = nil
		var pinned int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gallery_extensions WHERE featured != 0 AND rotated = 0`).Scan(&pinned); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gallery_extensions SET featured = 0, rotated = 0, updated_at = ? WHERE rotated != 0`, ms(s.now())); err != nil {
			return err
		}
		slots := count - pinned
		if slots <= 0 {
			return nil
		}
		type candidate struct {
			id   ExtensionID
			last int64
		}
		pool, err := queryAll(ctx, tx, func(sc scanner) (candidate, error) {
			var c candidate
			return c, sc.Scan(&c.id, &c.last)
		}, `WITH published AS (SELECT DISTINCT extension_id FROM versions WHERE state = 'published'),
			rating AS (SELECT extension_id, AVG(stars) AS average FROM ratings GROUP BY extension_id),
			active AS (SELECT extension_id, COUNT(*) AS n FROM installs GROUP BY extension_id)
			SELECT e.id, COALESCE(g.last_featured_at, 0)
			FROM published p
			JOIN extensions e ON e.id = p.extension_id
			LEFT JOIN gallery_extensions g ON g.extension_id = e.id
			LEFT JOIN rating r ON r.extension_id = e.id
			LEFT JOIN active a ON a.extension_id = e.id
			WHERE e.local_guild = '' AND COALESCE(g.unlisted, 0) = 0 AND COALESCE(g.featured, 0) = 0
				AND NOT EXISTS (SELECT 1 FROM banned_authors b WHERE b.user_id = e.owner_id)
			ORDER BY COALESCE(r.average, 0) DESC, COALESCE(a.n, 0) DESC, e.name
			LIMIT ?`, 3*slots)
		if err != nil {
			return err
		}
		slices.SortStableFunc(pool, func(a, b candidate) int { return cmp.Compare(a.last, b.last) })
		// Each turn is stamped later than the one before, even two turns in
		// one millisecond: otherwise their choices tie on last_featured_at
		// and the next turn may pick the previous one's again.
		var latest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(last_featured_at), 0) FROM gallery_extensions`).Scan(&latest); err != nil {
			return err
		}
		now := max(ms(s.now()), latest+1)
		for _, c := range pool[:min(slots, len(pool))] {
			if _, err := tx.ExecContext(ctx, `INSERT INTO gallery_extensions (extension_id, featured, rotated, last_featured_at, updated_at) VALUES (?, 1, 1, ?, ?)
				ON CONFLICT (extension_id) DO UPDATE SET featured = 1, rotated = 1, last_featured_at = excluded.last_featured_at, updated_at = excluded.updated_at`,
				c.id, now, now); err != nil {
				return err
			}
			chosen = append(chosen, c.id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rotate the featured extensions: %w", err)
	}
	return chosen, nil
}

// SetUnlisted hides ext from search (it stays installable by name), or lists it again.
func (s *Store) SetUnlisted(ctx context.Context, ext ExtensionID, unlisted bool) error {
	return s.setFlag(ctx, ext, "unlisted", unlisted)
}

// SetPremium marks ext as premium, or not.
func (s *Store) SetPremium(ctx context.Context, ext ExtensionID, premium bool) error {
	return s.setFlag(ctx, ext, "premium", premium)
}

// SetSupportThread records thread as ext's support thread if ext's thread
// is still replacing ("" when it has none): of two publications racing to
// open a thread, the first one recorded stays. It returns the thread ext
// ends up with.
func (s *Store) SetSupportThread(ctx context.Context, ext ExtensionID, thread, replacing string) (string, error) {
	var got string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gallery_extensions (extension_id, support_thread_id, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (extension_id) DO UPDATE SET support_thread_id = excluded.support_thread_id, updated_at = excluded.updated_at
			WHERE support_thread_id = ?`, ext, thread, ms(s.now()), replacing)
		if isForeignKey(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT support_thread_id FROM gallery_extensions WHERE extension_id = ?`, ext).Scan(&got)
	})
	if err != nil {
		return "", fmt.Errorf("set the support thread of extension %d: %w", ext, err)
	}
	return got, nil
}

// setFlag sets column ("featured", "unlisted" or "premium", never outside
// input) of ext.
func (s *Store) setFlag(ctx context.Context, ext ExtensionID, column string, on bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// rotated = 0: an administrator's feature (or its end) is theirs, not the rotation's.
		_, err := tx.ExecContext(ctx, `INSERT INTO gallery_extensions (extension_id, `+column+`, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (extension_id) DO UPDATE SET `+column+` = excluded.`+column+`, updated_at = excluded.updated_at`+rotatedReset(column),
			ext, on, ms(s.now()))
		if isForeignKey(err) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set %s of extension %d to %t: %w", column, ext, on, err)
	}
	return nil
}

// rotatedReset makes a feature set by hand a pinned one.
func rotatedReset(column string) string {
	if column == "featured" {
		return ", rotated = 0"
	}
	return ""
}

// Ban is an author barred from the gallery.
type Ban struct {
	UserID UserID
	Reason string
	By     UserID
	At     time.Time // set by BanAuthor
}

// BanAuthor bans an author; banning again replaces the reason.
func (s *Store) BanAuthor(ctx context.Context, b Ban) error {
	if b.UserID == "" || b.By == "" {
		return errors.New("ban author: empty user or actor")
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO banned_authors (user_id, reason, banned_by, banned_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, banned_by = excluded.banned_by, banned_at = excluded.banned_at`,
			b.UserID, b.Reason, b.By, ms(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("ban author %s: %w", b.UserID, err)
	}
	return nil
}

// TransferExtension gives gallery extension ext to a new owner if from
// still owns it; ErrNotFound when it does not (or ext is not a gallery
// extension). Its versions keep who submitted each.
func (s *Store) TransferExtension(ctx context.Context, ext ExtensionID, from, to UserID) error {
	err := s.execOne(ctx, `UPDATE extensions SET owner_id = ? WHERE id = ? AND owner_id = ? AND local_guild = ''`, to, ext, from)
	if err != nil {
		return fmt.Errorf("transfer extension %d from %s to %s: %w", ext, from, to, err)
	}
	return nil
}

// UnbanAuthor lifts a ban; ErrNotFound when user is not banned.
func (s *Store) UnbanAuthor(ctx context.Context, user UserID) error {
	err := s.execOne(ctx, `DELETE FROM banned_authors WHERE user_id = ?`, user)
	if err != nil {
		return fmt.Errorf("unban author %s: %w", user, err)
	}
	return nil
}

// execOne runs a statement that must change a row, in a transaction;
// ErrNotFound when it changed none.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, ErrNotFound)
		}
		return nil
	})
}

// AuthorBan returns user's ban, or ErrNotFound when they are not banned.
func (s *Store) AuthorBan(ctx context.Context, user UserID) (Ban, error) {
	b, err := queryOne(ctx, s.r, func(sc scanner) (Ban, error) {
		var b Ban
		var at int64
		err := sc.Scan(&b.UserID, &b.Reason, &b.By, &at)
		b.At = fromMS(at)
		return b, err
	}, `SELECT user_id, reason, banned_by, banned_at FROM banned_authors WHERE user_id = ?`, user)
	if err != nil {
		return Ban{}, fmt.Errorf("ban of author %s: %w", user, err)
	}
	return b, nil
}

// SetAuthorKey registers (or replaces) user's ed25519 public key.
func (s *Store) SetAuthorKey(ctx context.Context, user UserID, key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("set key of author %s: an ed25519 public key is 32 bytes, not %d", user, len(key))
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO author_keys (user_id, public_key, registered_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET public_key = excluded.public_key, registered_at = excluded.registered_at`,
			user, key, ms(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("set key of author %s: %w", user, err)
	}
	return nil
}

// AuthorKey returns user's public key, or ErrNotFound when none is registered.
func (s *Store) AuthorKey(ctx context.Context, user UserID) ([]byte, error) {
	var key []byte
	err := s.r.QueryRowContext(ctx, `SELECT public_key FROM author_keys WHERE user_id = ?`, user).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("key of author %s: %w", user, err)
	}
	return key, nil
}

// Rating is one user's rating of one extension.
type Rating struct {
	ExtensionID ExtensionID
	UserID      UserID
	Stars       int    // 1 to 5
	Text        string // at most MaxRatingText characters
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RatingSummary aggregates an extension's ratings.
type RatingSummary struct {
	Average float64 // 0 without ratings
	Count   int
}

const ratingCols = `extension_id, user_id, stars, text, created_at, updated_at FROM ratings`

func scanRating(sc scanner) (Rating, error) {
	var r Rating
	var created, updated int64
	err := sc.Scan(&r.ExtensionID, &r.UserID, &r.Stars, &r.Text, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

// Rate stores r.UserID's rating of r.ExtensionID, replacing the one they
// gave before (CreatedAt stays that of the first). ErrNotFound when the
// extension does not exist.
func (s *Store) Rate(ctx context.Context, r Rating) (Rating, error) {
	switch {
	case r.UserID == "":
		return Rating{}, errors.New("rate: empty user")
	case r.Stars < 1 || r.Stars > 5:
		return Rating{}, fmt.Errorf("rate: %d stars is outside 1 to 5", r.Stars)
	case utf8.RuneCountInString(r.Text) > MaxRatingText:
		return Rating{}, fmt.Errorf("rate: the text is longer than %d characters", MaxRatingText)
	}
	var out Rating
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		_, err := tx.ExecContext(ctx, `INSERT INTO ratings (extension_id, user_id, stars, text, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (extension_id, user_id) DO UPDATE SET stars = excluded.stars, text = excluded.text, updated_at = excluded.updated_at`,
			r.ExtensionID, r.UserID, r.Stars, r.Text, now, now)
		if isForeignKey(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = queryOne(ctx, tx, scanRating, `SELECT `+ratingCols+` WHERE extension_id = ? AND user_id = ?`, r.ExtensionID, r.UserID)
		return err
	})
	if err != nil {
		return Rating{}, fmt.Errorf("rate extension %d by %s: %w", r.ExtensionID, r.UserID, err)
	}
	return out, nil
}

// Ratings lists the ratings of ext, most recently changed first; limit <= 0 lists all.
func (s *Store) Ratings(ctx context.Context, ext ExtensionID, limit int) ([]Rating, error) {
	if limit <= 0 {
		limit = -1
	}
	rs, err := queryAll(ctx, s.r, scanRating,
		`SELECT `+ratingCols+` WHERE extension_id = ? ORDER BY updated_at DESC, user_id LIMIT ?`, ext, limit)
	if err != nil {
		return nil, fmt.Errorf("ratings of extension %d: %w", ext, err)
	}
	return rs, nil
}

// RatingSummary aggregates the ratings of ext.
func (s *Store) RatingSummary(ctx context.Context, ext ExtensionID) (RatingSummary, error) {
	var r RatingSummary
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(AVG(stars), 0), COUNT(*) FROM ratings WHERE extension_id = ?`, ext).
		Scan(&r.Average, &r.Count)
	if err != nil {
		return RatingSummary{}, fmt.Errorf("rating of extension %d: %w", ext, err)
	}
	return r, nil
}

// InstallCount is how many guilds run a version now (Active) and how many
// ever switched to it by install, update or rollback (Ever).
type InstallCount struct {
	Active int
	Ever   int
}

// VersionInstalls counts the installs of each version of ext that has any.
func (s *Store) VersionInstalls(ctx context.Context, ext ExtensionID) (map[VersionID]InstallCount, error) {
	type row struct {
		id VersionID
		n  int
	}
	scan := func(sc scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.n)
	}
	active, err := queryAll(ctx, s.r, scan,
		`SELECT version_id, COUNT(*) FROM installs WHERE extension_id = ? GROUP BY version_id`, ext)
	if err != nil {
		return nil, fmt.Errorf("installs of extension %d: %w", ext, err)
	}
	ever, err := queryAll(ctx, s.r, scan, `SELECT to_version_id, COUNT(DISTINCT guild_id) FROM install_history
		WHERE extension_id = ? AND to_version_id IS NOT NULL AND action IN ('install', 'update', 'rollback')
		GROUP BY to_version_id`, ext)
	if err != nil {
		return nil, fmt.Errorf("install history of extension %d: %w", ext, err)
	}
	out := map[VersionID]InstallCount{}
	for _, r := range active {
		c := out[r.id]
		c.Active = r.n
		out[r.id] = c
	}
	for _, r := range ever {
		c := out[r.id]
		c.Ever = r.n
		out[r.id] = c
	}
	return out, nil
}

// GallerySearch selects listed gallery extensions. Tag and Category must
// be normalised by the caller; Text matches names, descriptions and tags
// as a case-insensitive substring.
type GallerySearch struct {
	Text     string
	Tag      string
	Category string
	Featured bool // only featured extensions
	Limit    int  // <= 0: 25
}

// Listing is one search result: a gallery extension at its newest
// published version.
type Listing struct {
	Extension Extension
	Version   Version // the newest published, without code
	Meta      GalleryMeta
	Rating    RatingSummary
	Installs  int // guilds that have it installed now, any version
}

// SearchGallery returns the published, listed gallery extensions of
// authors who are not banned that match q, best rated first, then most
// installed, then by name. "Newest published" is the published version
// with the highest id: the gallery accepts a version only when it is
// greater than every earlier one, so ids grow with versions.
func (s *Store) SearchGallery(ctx context.Context, q GallerySearch) ([]Listing, error) {
	if q.Limit <= 0 {
		q.Limit = 25
	}
	like := "%" + likeEscaper.Replace(strings.ToLower(strings.TrimSpace(q.Text))) + "%"
	ls, err := queryAll(ctx, s.r, func(sc scanner) (Listing, error) {
		var l Listing
		var created int64
		var tags string
		v, err := scanVersionWith(sc, &l.Extension.LocalGuild, &l.Extension.OwnerID, &created,
			&l.Meta.Category, &l.Meta.Featured, &l.Meta.Unlisted, &l.Meta.Premium, &l.Meta.SupportThread, &tags, &l.Rating.Average, &l.Rating.Count, &l.Installs)
		l.Version = v
		l.Extension.ID, l.Extension.Name, l.Extension.CreatedAt = v.ExtensionID, v.Name, fromMS(created)
		if tags != "" {
			l.Meta.Tags = strings.Split(tags, ",")
		}
		return l, err
	}, `WITH latest AS (
			SELECT extension_id, MAX(id) AS version_id FROM versions WHERE state = 'published' GROUP BY extension_id),
		rating AS (
			SELECT extension_id, AVG(stars) AS average, COUNT(*) AS n FROM ratings GROUP BY extension_id),
		active AS (
			SELECT extension_id, COUNT(*) AS n FROM installs GROUP BY extension_id)
		SELECT `+galleryVersionCols+`, e.local_guild, e.owner_id, e.created_at,
			COALESCE(g.category, ''), COALESCE(g.featured, 0), COALESCE(g.unlisted, 0),
			COALESCE(g.premium, 0), COALESCE(g.support_thread_id, ''),
			COALESCE((SELECT group_concat(t.tag, ',' ORDER BY t.pos) FROM extension_tags t WHERE t.extension_id = e.id), ''),
			COALESCE(r.average, 0), COALESCE(r.n, 0), COALESCE(a.n, 0)
		FROM latest l
		JOIN versions v ON v.id = l.version_id
		JOIN extensions e ON e.id = v.extension_id
		LEFT JOIN gallery_extensions g ON g.extension_id = e.id
		LEFT JOIN rating r ON r.extension_id = e.id
		LEFT JOIN active a ON a.extension_id = e.id
		WHERE e.local_guild = '' AND COALESCE(g.unlisted, 0) = 0
			AND NOT EXISTS (SELECT 1 FROM banned_authors b WHERE b.user_id = e.owner_id)
			AND (?1 = '%%'
				OR e.name LIKE ?1 ESCAPE '\'
				OR lower(COALESCE(json_extract(v.manifest, '$.title'), '')) LIKE ?1 ESCAPE '\'
				OR lower(COALESCE(json_extract(v.manifest, '$.description'), '')) LIKE ?1 ESCAPE '\'
				OR EXISTS (SELECT 1 FROM extension_tags t WHERE t.extension_id = e.id AND t.tag LIKE ?1 ESCAPE '\'))
			AND (?2 = '' OR EXISTS (SELECT 1 FROM extension_tags t WHERE t.extension_id = e.id AND t.tag = ?2))
			AND (?3 = '' OR g.category = ?3)
			AND (?4 = 0 OR g.featured != 0)
		ORDER BY COALESCE(r.average, 0) DESC, COALESCE(a.n, 0) DESC, e.name
		LIMIT ?5`, like, q.Tag, q.Category, q.Featured, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("search the gallery for %+v: %w", q, err)
	}
	return ls, nil
}

// likeEscaper escapes LIKE's wildcards (the queries say ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
