package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LogEntry is one line of an extension's own log (console output, runs,
// errors, lifecycle), shown to guild admins.
type LogEntry struct {
	ID          int64
	GuildID     GuildID
	ExtensionID ExtensionID
	VersionID   VersionID // 0: none
	At          time.Time // zero: the store's clock
	Level       string    // debug, info, warn, error
	Kind        string    // console, run, error, lifecycle
	Message     string
	Detail      string // JS stack, error code
}

// AuditEntry records one action taken on a guild, by an extension
// ("ext:<name>") or a user id.
type AuditEntry struct {
	ID          int64
	GuildID     GuildID
	ExtensionID ExtensionID // 0: none
	VersionID   VersionID   // 0: none
	Actor       string
	Action      string
	Target      string
	Outcome     string
	At          time.Time // zero: the store's clock
}

const logCols = `id, guild_id, extension_id, version_id, at, level, kind, message, detail FROM ext_log`

func scanLog(sc scanner) (LogEntry, error) {
	var e LogEntry
	var ver sql.NullInt64
	var at int64
	err := sc.Scan(&e.ID, &e.GuildID, &e.ExtensionID, &ver, &at, &e.Level, &e.Kind, &e.Message, &e.Detail)
	e.VersionID, e.At = VersionID(ver.Int64), fromMS(at)
	return e, err
}

const auditCols = `id, guild_id, extension_id, version_id, actor, action, target, outcome, at FROM audit`

func scanAudit(sc scanner) (AuditEntry, error) {
	var e AuditEntry
	var ext, ver sql.NullInt64
	var at int64
	err := sc.Scan(&e.ID, &e.GuildID, &ext, &ver, &e.Actor, &e.Action, &e.Target, &e.Outcome, &at)
	e.ExtensionID, e.VersionID, e.At = ExtensionID(ext.Int64), VersionID(ver.Int64), fromMS(at)
	return e, err
}

// stamp is t in unix ms, or the clock's now when t is zero.
func (s *Store) stamp(t time.Time) int64 {
	if t.IsZero() {
		t = s.now()
	}
	return ms(t)
}

// AppendLog adds a line to an extension's log.
func (s *Store) AppendLog(ctx context.Context, es ...LogEntry) error {
	if len(es) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range es {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ext_log
				(guild_id, extension_id, version_id, at, level, kind, message, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				e.GuildID, e.ExtensionID, nullID(e.VersionID), s.stamp(e.At), e.Level, e.Kind, e.Message, e.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append %d log lines of extension %d in guild %s: %w", len(es), es[0].ExtensionID, es[0].GuildID, err)
	}
	return nil
}

// Logs returns the newest limit lines of an install's log, newest first
// (limit <= 0: all).
func (s *Store) Logs(ctx context.Context, guild GuildID, ext ExtensionID, limit int) ([]LogEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	es, err := queryAll(ctx, s.r, scanLog,
		`SELECT `+logCols+` WHERE guild_id = ? AND extension_id = ? ORDER BY id DESC LIMIT ?`, guild, ext, limit)
	if err != nil {
		return nil, fmt.Errorf("logs of extension %d in guild %s: %w", ext, guild, err)
	}
	return es, nil
}

// ErrorCount is how many failed runs an install logged since a time, and
// the latest failure's text.
type ErrorCount struct {
	Errors int
	Last   string
	LastAt time.Time
}

// ErrorCounts counts each install's 'error' log lines in guild since t.
func (s *Store) ErrorCounts(ctx context.Context, guild GuildID, since time.Time) (map[ExtensionID]ErrorCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT extension_id, COUNT(*), MAX(id) FROM ext_log
		WHERE guild_id = ? AND kind = 'error' AND at >= ? GROUP BY extension_id`, guild, ms(since))
	if err != nil {
		return nil, fmt.Errorf("error counts in guild %s: %w", guild, err)
	}
	type latest struct {
		ext ExtensionID
		id  int64
	}
	out := map[ExtensionID]ErrorCount{}
	var last []latest
	for rows.Next() {
		var ext ExtensionID
		var n int
		var id int64
		if err := rows.Scan(&ext, &n, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error counts in guild %s: %w", guild, err)
		}
		out[ext] = ErrorCount{Errors: n}
		last = append(last, latest{ext, id})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("error counts in guild %s: %w", guild, err)
	}
	for _, l := range last {
		e, err := queryOne(ctx, s.r, scanLog, `SELECT `+logCols+` WHERE id = ?`, l.id)
		if err != nil {
			return nil, fmt.Errorf("latest error of extension %d: %w", l.ext, err)
		}
		c := out[l.ext]
		c.Last, c.LastAt = e.Message, e.At
		out[l.ext] = c
	}
	return out, nil
}

// AppendAudit records an action.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit
		(guild_id, extension_id, version_id, actor, action, target, outcome, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.GuildID, nullID(e.ExtensionID), nullID(e.VersionID), e.Actor, e.Action, e.Target, e.Outcome,
		s.stamp(e.At))
	if err != nil {
		return fmt.Errorf("append audit %s by %s in guild %s: %w", e.Action, e.Actor, e.GuildID, err)
	}
	return nil
}

// Audit returns the guild's newest limit audit rows, newest first (limit <= 0: all).
func (s *Store) Audit(ctx context.Context, guild GuildID, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	es, err := queryAll(ctx, s.r, scanAudit, `SELECT `+auditCols+` WHERE guild_id = ? ORDER BY id DESC LIMIT ?`, guild, limit)
	if err != nil {
		return nil, fmt.Errorf("audit of guild %s: %w", guild, err)
	}
	return es, nil
}
