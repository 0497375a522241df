package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Quarantine is a version that runs nowhere: its runs ended sandbox
// workers too often (extensions.Manager decides when).
type Quarantine struct {
	VersionID VersionID
	Extension string // its name, for listings
	Version   string
	Reason    string
	At        time.Time // set by QuarantineVersion
}

// QuarantineVersion quarantines a version; quarantining it again keeps
// the first time and replaces the reason.
func (s *Store) QuarantineVersion(ctx context.Context, id VersionID, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO quarantined_versions (version_id, reason, quarantined_at) VALUES (?, ?, ?)
			ON CONFLICT (version_id) DO UPDATE SET reason = excluded.reason`, id, reason, ms(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine version %d: %w", id, err)
	}
	return nil
}

// QuarantineOf returns the quarantine of a version, or ErrNotFound when it
// is not quarantined.
func (s *Store) QuarantineOf(ctx context.Context, id VersionID) (Quarantine, error) {
	q, err := queryOne(ctx, s.r, scanQuarantine, quarantineQuery+` WHERE q.version_id = ?`, id)
	if err != nil {
		return Quarantine{}, fmt.Errorf("quarantine of version %d: %w", id, err)
	}
	return q, nil
}

// Quarantines lists every quarantined version, the most recent first.
func (s *Store) Quarantines(ctx context.Context) ([]Quarantine, error) {
	qs, err := queryAll(ctx, s.r, scanQuarantine, quarantineQuery+` ORDER BY q.quarantined_at DESC, q.version_id DESC`)
	if err != nil {
		return nil, fmt.Errorf("quarantined versions: %w", err)
	}
	return qs, nil
}

// LiftQuarantine lets a version run again (where admins enable it);
// ErrNotFound when it was not quarantined.
func (s *Store) LiftQuarantine(ctx context.Context, id VersionID) error {
	if err := s.execOne(ctx, `DELETE FROM quarantined_versions WHERE version_id = ?`, id); err != nil {
		return fmt.Errorf("lift quarantine of version %d: %w", id, err)
	}
	return nil
}

const quarantineQuery = `SELECT q.version_id, e.name, v.version, q.reason, q.quarantined_at
	FROM quarantined_versions q JOIN versions v ON v.id = q.version_id JOIN extensions e ON e.id = v.extension_id`

func scanQuarantine(sc scanner) (Quarantine, error) {
	var q Quarantine
	var at int64
	err := sc.Scan(&q.VersionID, &q.Extension, &q.Version, &q.Reason, &at)
	q.At = fromMS(at)
	return q, err
}
