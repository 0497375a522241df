package store

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Extension is a name owned by its first author: a gallery extension
// (LocalGuild == "") or one guild's private upload (LocalGuild == its id).
type Extension struct {
	ID         ExtensionID
	Name       string
	LocalGuild string
	OwnerID    UserID
	CreatedAt  time.Time
}

// Version states along the review flow (the CHECK on versions.state).
// skybot never stores a draft: a draft is the author's working copy
// (skybot ext init, dev, test) until /publish save or submit.
const (
	StateDraft     = "draft"
	StateSaved     = "saved"
	StateQueue     = "queue"
	StateReview    = "review"
	StatePublished = "published"
	StateRejected  = "rejected"
)

// Version is one immutable upload of an extension; only State changes later.
type Version struct {
	ID          VersionID
	ExtensionID ExtensionID
	Name        string // the extension's name
	Version     string // strict semver; validated by the caller, not here
	Manifest    json.RawMessage
	Code        string
	MD5         string // hex; the legacy code id
	SHA256      string // hex; re-checked by whoever loads Code
	Signature   []byte // optional ed25519 publisher signature
	State       string
	SubmittedBy UserID
	CreatedAt   time.Time
}

// NewVersion is what SaveVersion writes.
type NewVersion struct {
	Name       string
	LocalGuild string // "" for the gallery
	Owner      UserID // owner of a new name; must own an existing one
	// SubmittedBy is the person who uploaded this version; "" means Owner.
	SubmittedBy UserID
	Version     string
	Manifest    json.RawMessage
	Code        string
	Signature   []byte // optional
	State       string // "" means StateSaved
}

const extensionCols = `id, name, local_guild, owner_id, created_at`

func scanExtension(sc scanner) (Extension, error) {
	var e Extension
	var created int64
	err := sc.Scan(&e.ID, &e.Name, &e.LocalGuild, &e.OwnerID, &created)
	e.CreatedAt = fromMS(created)
	return e, err
}

// versionCols selects a Version from versions v joined with extensions e.
const versionCols = `v.id, v.extension_id, e.name, v.version, v.manifest, v.code, v.md5, v.sha256,
	v.signature, v.state, v.submitted_by, v.created_at
	FROM versions v JOIN extensions e ON e.id = v.extension_id`

// versionColsLight is versionCols with an empty code, for listings.
const versionColsLight = `v.id, v.extension_id, e.name, v.version, v.manifest, '', v.md5, v.sha256,
	v.signature, v.state, v.submitted_by, v.created_at
	FROM versions v JOIN extensions e ON e.id = v.extension_id`

func scanVersion(sc scanner) (Version, error) {
	var v Version
	var manifest string
	var created int64
	err := sc.Scan(&v.ID, &v.ExtensionID, &v.Name, &v.Version, &manifest, &v.Code, &v.MD5, &v.SHA256,
		&v.Signature, &v.State, &v.SubmittedBy, &created)
	v.Manifest = json.RawMessage(manifest)
	v.CreatedAt = fromMS(created)
	return v, err
}

// SaveVersion writes a new version in one transaction. A new (Name,
// LocalGuild) creates the extension owned by Owner; an existing one must be
// owned by Owner (else ErrOwner). A version string the extension already
// has gives ErrExists. MD5 and SHA256 are computed here from Code.
func (s *Store) SaveVersion(ctx context.Context, nv NewVersion) (Version, error) {
	var v Version
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = s.saveVersion(ctx, tx, nv, false)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("save %s@%s: %w", nv.Name, nv.Version, err)
	}
	return v, nil
}

// SaveAndInstall stores a new version and installs it in one transaction:
// either both rows (and the install's history row) are written or nothing
// is. A version string that exists with byte-identical code is reused
// (versions are immutable, so the same bytes are the same version); with
// other code it is ErrExists, as is an existing install.
// The installs in first (stored versions an install requires) are made in
// the same transaction, before it.
func (s *Store) SaveAndInstall(ctx context.Context, nv NewVersion, in Install, first ...Install) (Version, error) {
	var v Version
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, f := range first {
			if err := s.createInstall(ctx, tx, f); err != nil {
				return err
			}
		}
		var err error
		if v, err = s.saveVersion(ctx, tx, nv, true); err != nil {
			return err
		}
		in.ExtensionID, in.VersionID = v.ExtensionID, v.ID
		return s.createInstall(ctx, tx, in)
	})
	if err != nil {
		return Version{}, fmt.Errorf("save and install %s@%s in guild %s: %w", nv.Name, nv.Version, in.GuildID, err)
	}
	return v, nil
}

// SaveAndSwap stores a new version of an installed extension and points
// the guild's install at it, with the scopes now granted, in one
// transaction (an update from an upload). Byte-identical code under an
// existing version string is reused, as in SaveAndInstall.
func (s *Store) SaveAndSwap(ctx context.Context, nv NewVersion, guild GuildID, scopes []string, actor UserID) (Version, error) {
	var v Version
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = s.saveVersion(ctx, tx, nv, true); err != nil {
			return err
		}
		return s.swapVersion(ctx, tx, guild, v.ExtensionID, v.ID, scopes, ActionUpdate, actor)
	})
	if err != nil {
		return Version{}, fmt.Errorf("save %s@%s and update guild %s to it: %w", nv.Name, nv.Version, guild, err)
	}
	return v, nil
}

// saveVersion is SaveVersion inside tx. With reuseIdentical, an existing
// version whose code has the same sha256 is returned instead of ErrExists.
func (s *Store) saveVersion(ctx context.Context, tx *sql.Tx, nv NewVersion, reuseIdentical bool) (Version, error) {
	switch {
	case nv.Name == "":
		return Version{}, errors.New("empty name")
	case nv.Version == "":
		return Version{}, errors.New("empty version")
	case nv.Owner == "":
		return Version{}, errors.New("empty owner")
	case !json.Valid(nv.Manifest):
		return Version{}, errors.New("manifest is not valid JSON")
	}
	state := nv.State
	if state == "" {
		state = StateSaved
	}
	md5sum := md5.Sum([]byte(nv.Code))
	shasum := sha256.Sum256([]byte(nv.Code))
	sha := hex.EncodeToString(shasum[:])
	now := ms(s.now())

	ext, err := queryOne(ctx, tx, scanExtension,
		`SELECT `+extensionCols+` FROM extensions WHERE name = ? AND local_guild = ?`, nv.Name, nv.LocalGuild)
	switch {
	case errors.Is(err, ErrNotFound):
		err = tx.QueryRowContext(ctx,
			`INSERT INTO extensions (name, local_guild, owner_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			nv.Name, nv.LocalGuild, nv.Owner, now).Scan(&ext.ID)
		if err != nil {
			return Version{}, fmt.Errorf("create extension: %w", err)
		}
	case err != nil:
		return Version{}, err
	case ext.OwnerID != nv.Owner:
		return Version{}, ErrOwner
	}
	var id VersionID
	err = tx.QueryRowContext(ctx, `INSERT INTO versions
		(extension_id, version, manifest, code, md5, sha256, signature, state, submitted_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ext.ID, nv.Version, string(nv.Manifest), nv.Code, hex.EncodeToString(md5sum[:]),
		sha, nv.Signature, state, cmp.Or(nv.SubmittedBy, nv.Owner), now).Scan(&id)
	if isUnique(err) {
		if !reuseIdentical {
			return Version{}, ErrExists
		}
		old, err := queryOne(ctx, tx, scanVersion, `SELECT `+versionCols+` WHERE v.extension_id = ? AND v.version = ?`, ext.ID, nv.Version)
		if err != nil {
			return Version{}, err
		}
		if old.SHA256 != sha {
			return Version{}, ErrExists
		}
		return old, nil
	}
	if err != nil {
		return Version{}, err
	}
	return queryOne(ctx, tx, scanVersion, `SELECT `+versionCols+` WHERE v.id = ?`, id)
}

// Version returns one version with its code.
func (s *Store) Version(ctx context.Context, id VersionID) (Version, error) {
	v, err := queryOne(ctx, s.r, scanVersion, `SELECT `+versionCols+` WHERE v.id = ?`, id)
	if err != nil {
		return Version{}, fmt.Errorf("version %d: %w", id, err)
	}
	return v, nil
}

// FindVersion returns the version of ext with that version string, with its code.
func (s *Store) FindVersion(ctx context.Context, ext ExtensionID, version string) (Version, error) {
	v, err := queryOne(ctx, s.r, scanVersion,
		`SELECT `+versionCols+` WHERE v.extension_id = ? AND v.version = ?`, ext, version)
	if err != nil {
		return Version{}, fmt.Errorf("extension %d version %s: %w", ext, version, err)
	}
	return v, nil
}

// Versions lists the versions of ext, newest first. To keep listings light,
// Code is left empty; fetch one with Version or FindVersion.
func (s *Store) Versions(ctx context.Context, ext ExtensionID) ([]Version, error) {
	vs, err := queryAll(ctx, s.r, scanVersion,
		`SELECT `+versionColsLight+` WHERE v.extension_id = ? ORDER BY v.created_at DESC, v.id DESC`, ext)
	if err != nil {
		return nil, fmt.Errorf("versions of extension %d: %w", ext, err)
	}
	return vs, nil
}

// SetVersionState moves a version from state from to state to. It gives
// ErrNotFound when the version does not exist and ErrState when it is no
// longer in state from (another reviewer got there first).
func (s *Store) SetVersionState(ctx context.Context, id VersionID, from, to string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT state FROM versions WHERE id = ?`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur != from {
			return fmt.Errorf("state is %s: %w", cur, ErrState)
		}
		_, err = tx.ExecContext(ctx, `UPDATE versions SET state = ? WHERE id = ?`, to, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("version %d %s -> %s: %w", id, from, to, err)
	}
	return nil
}

// Extension returns one extension by id.
func (s *Store) Extension(ctx context.Context, id ExtensionID) (Extension, error) {
	e, err := queryOne(ctx, s.r, scanExtension, `SELECT `+extensionCols+` FROM extensions WHERE id = ?`, id)
	if err != nil {
		return Extension{}, fmt.Errorf("extension %d: %w", id, err)
	}
	return e, nil
}

// ExtensionByName resolves name as guild sees it: the guild's own upload of
// that name first, else the gallery extension. guild "" sees the gallery only.
func (s *Store) ExtensionByName(ctx context.Context, guild GuildID, name string) (Extension, error) {
	e, err := queryOne(ctx, s.r, scanExtension, `SELECT `+extensionCols+` FROM extensions
		WHERE name = ? AND local_guild IN (?, '') ORDER BY local_guild = '' LIMIT 1`, name, guild)
	if err != nil {
		return Extension{}, fmt.Errorf("extension %q: %w", name, err)
	}
	return e, nil
}
