package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Job is one durable one-shot job of an install (sky.later).
type Job struct {
	GuildID     GuildID
	ExtensionID ExtensionID
	Key         string
	DueAt       time.Time
	Payload     string // JSON
}

// MaxJobsPerInstall bounds the pending jobs of one install.
const MaxJobsPerInstall = 1000

// PutJob schedules j, replacing the pending job with the same key. It
// refuses a new key beyond MaxJobsPerInstall with ErrQuota.
func (s *Store) PutJob(ctx context.Context, j Job) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var exists, n int
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM ext_jobs WHERE guild_id = ? AND extension_id = ? AND key = ?),
			(SELECT COUNT(*) FROM ext_jobs WHERE guild_id = ? AND extension_id = ?)`,
			j.GuildID, j.ExtensionID, j.Key, j.GuildID, j.ExtensionID).Scan(&exists, &n); err != nil {
			return fmt.Errorf("count jobs: %w", err)
		}
		if exists == 0 && n >= MaxJobsPerInstall {
			return fmt.Errorf("%w: an extension may have %d pending jobs", ErrQuota, MaxJobsPerInstall)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ext_jobs (guild_id, extension_id, key, due_at, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (guild_id, extension_id, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, created_at = excluded.created_at`,
			j.GuildID, j.ExtensionID, j.Key, ms(j.DueAt), j.Payload, ms(s.now()))
		if err != nil {
			return fmt.Errorf("put job %q of extension %d in guild %s: %w", j.Key, j.ExtensionID, j.GuildID, err)
		}
		return nil
	})
}

// DeleteJob removes a pending job; it reports whether there was one.
func (s *Store) DeleteJob(ctx context.Context, guild GuildID, ext ExtensionID, key string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM ext_jobs WHERE guild_id = ? AND extension_id = ? AND key = ?`, guild, ext, key)
	if err != nil {
		return false, fmt.Errorf("delete job %q of extension %d in guild %s: %w", key, ext, guild, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Jobs returns the pending jobs of a guild, earliest first.
func (s *Store) Jobs(ctx context.Context, guild GuildID) ([]Job, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT guild_id, extension_id, key, due_at, payload FROM ext_jobs
		WHERE guild_id = ? ORDER BY due_at, key`, guild)
	if err != nil {
		return nil, fmt.Errorf("jobs of guild %s: %w", guild, err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		var due int64
		if err := rows.Scan(&j.GuildID, &j.ExtensionID, &j.Key, &due, &j.Payload); err != nil {
			return nil, fmt.Errorf("jobs of guild %s: %w", guild, err)
		}
		j.DueAt = fromMS(due)
		out = append(out, j)
	}
	return out, rows.Err()
}

// ScheduledGuilds returns every guild with an enabled install or a pending
// job: where schedules must run after a restart.
func (s *Store) ScheduledGuilds(ctx context.Context) ([]GuildID, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT guild_id FROM installs WHERE enabled = 1
		UNION SELECT guild_id FROM ext_jobs ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("scheduled guilds: %w", err)
	}
	defer rows.Close()
	var out []GuildID
	for rows.Next() {
		var g GuildID
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("scheduled guilds: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
