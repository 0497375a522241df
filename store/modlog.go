package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ModlogEntry is one line of a guild's moderation log.
type ModlogEntry struct {
	ID          int64
	GuildID     GuildID
	Action      string // ban, unban, kick, timeout, untimeout, or an extension's own word (warn, note...)
	UserID      UserID // who the entry is about
	Actor       string // 'ext:<name>' or a user id
	ExtensionID ExtensionID
	Reason      string
	At          time.Time // zero: the store's clock
}

const modlogCols = `id, guild_id, action, user_id, actor, extension_id, reason, created_at FROM modlog`

func scanModlog(sc scanner) (ModlogEntry, error) {
	var e ModlogEntry
	var ext sql.NullInt64
	var at int64
	err := sc.Scan(&e.ID, &e.GuildID, &e.Action, &e.UserID, &e.Actor, &ext, &e.Reason, &at)
	e.ExtensionID, e.At = ExtensionID(ext.Int64), fromMS(at)
	return e, err
}

// AppendModlog adds an entry to a guild's moderation log and returns it as
// stored (with its id and time).
func (s *Store) AppendModlog(ctx context.Context, e ModlogEntry) (ModlogEntry, error) {
	if e.GuildID == "" || e.Action == "" || e.UserID == "" || e.Actor == "" {
		return ModlogEntry{}, fmt.Errorf("append modlog %q: guild, action, user and actor are required", e.Action)
	}
	e.At = fromMS(s.stamp(e.At))
	err := s.w.QueryRowContext(ctx, `INSERT INTO modlog
		(guild_id, action, user_id, actor, extension_id, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.GuildID, e.Action, e.UserID, e.Actor, nullID(e.ExtensionID), e.Reason, ms(e.At)).Scan(&e.ID)
	if err != nil {
		return ModlogEntry{}, fmt.Errorf("append modlog %s of %s by %s in guild %s: %w", e.Action, e.UserID, e.Actor, e.GuildID, err)
	}
	return e, nil
}

// Modlog returns a guild's newest limit moderation log entries, newest
// first; with user set, only the entries about that user (limit <= 0: all).
func (s *Store) Modlog(ctx context.Context, guild GuildID, user UserID, limit int) ([]ModlogEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	var es []ModlogEntry
	var err error
	if user == "" {
		es, err = queryAll(ctx, s.r, scanModlog,
			`SELECT `+modlogCols+` WHERE guild_id = ? ORDER BY id DESC LIMIT ?`, guild, limit)
	} else {
		es, err = queryAll(ctx, s.r, scanModlog,
			`SELECT `+modlogCols+` WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`, guild, user, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("modlog of guild %s: %w", guild, err)
	}
	return es, nil
}
