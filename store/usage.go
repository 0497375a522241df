package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// UsageKey names one row of usage: a version's runs in a guild on a day.
type UsageKey struct {
	Extension ExtensionID
	Version   VersionID
	Guild     GuildID
	Day       int64 // unix days (UTC)
}

// UsageCount is how many runs there were and how many of them failed.
type UsageCount struct {
	Runs, Errors int
}

// UsageDay turns a time into the day usage is counted on.
func UsageDay(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// AddUsage adds counts to the usage rows, all in one transaction.
func (s *Store) AddUsage(ctx context.Context, counts map[UsageKey]UsageCount) error {
	if len(counts) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO ext_usage (extension_id, version_id, guild_id, day, runs, errors) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (extension_id, day, version_id, guild_id) DO UPDATE SET runs = runs + excluded.runs, errors = errors + excluded.errors`)
		if err != nil {
			return err
		}
		defer st.Close()
		for k, c := range counts {
			if _, err := st.ExecContext(ctx, k.Extension, k.Version, k.Guild, k.Day, c.Runs, c.Errors); err != nil {
				return fmt.Errorf("usage of version %d in guild %s: %w", k.Version, k.Guild, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add usage (%d rows): %w", len(counts), err)
	}
	return nil
}

// VersionUsage is a version's usage over a window.
type VersionUsage struct {
	UsageCount
	Guilds int // guilds where it ran at least once
}

// UsageByVersion sums ext's usage from day since on, per version.
func (s *Store) UsageByVersion(ctx context.Context, ext ExtensionID, since int64) (map[VersionID]VersionUsage, error) {
	type row struct {
		id VersionID
		u  VersionUsage
	}
	rows, err := queryAll(ctx, s.r, func(sc scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.u.Runs, &r.u.Errors, &r.u.Guilds)
	}, `SELECT version_id, SUM(runs), SUM(errors), COUNT(DISTINCT guild_id) FROM ext_usage
		WHERE extension_id = ? AND day >= ? GROUP BY version_id`, ext, since)
	if err != nil {
		return nil, fmt.Errorf("usage of extension %d by version: %w", ext, err)
	}
	out := make(map[VersionID]VersionUsage, len(rows))
	for _, r := range rows {
		out[r.id] = r.u
	}
	return out, nil
}

// ActiveGuilds counts the guilds where any version of ext ran from day
// since on.
func (s *Store) ActiveGuilds(ctx context.Context, ext ExtensionID, since int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT guild_id) FROM ext_usage WHERE extension_id = ? AND day >= ?`, ext, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("active guilds of extension %d: %w", ext, err)
	}
	return n, nil
}

// UsageDaily returns ext's usage per day, every version and guild
// together, for each day from since to until (inclusive), days without a
// run included as zeros.
func (s *Store) UsageDaily(ctx context.Context, ext ExtensionID, since, until int64) ([]UsageCount, error) {
	if until < since {
		return nil, nil
	}
	type row struct {
		day int64
		c   UsageCount
	}
	rows, err := queryAll(ctx, s.r, func(sc scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.day, &r.c.Runs, &r.c.Errors)
	}, `SELECT day, SUM(runs), SUM(errors) FROM ext_usage WHERE extension_id = ? AND day BETWEEN ? AND ? GROUP BY day`, ext, since, until)
	if err != nil {
		return nil, fmt.Errorf("daily usage of extension %d: %w", ext, err)
	}
	out := make([]UsageCount, until-since+1)
	for _, r := range rows {
		out[r.day-since] = r.c
	}
	return out, nil
}
