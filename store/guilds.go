package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Guild holds one guild's skybot settings.
type Guild struct {
	ID           GuildID
	Prefix       string
	Tier         string
	LogChannelID string
	Policy       json.RawMessage
	JoinedAt     time.Time
}

const guildCols = `guild_id, prefix, tier, log_channel_id, policy, joined_at FROM guilds`

func scanGuild(sc scanner) (Guild, error) {
	var g Guild
	var policy string
	var joined int64
	err := sc.Scan(&g.ID, &g.Prefix, &g.Tier, &g.LogChannelID, &policy, &joined)
	g.Policy, g.JoinedAt = json.RawMessage(policy), fromMS(joined)
	return g, err
}

// EnsureGuild returns the guild's settings, first creating them with the
// defaults (joined now) if the guild is new. prefix is the command prefix a
// new guild starts with; "" means the schema's default, "!".
func (s *Store) EnsureGuild(ctx context.Context, guild GuildID, prefix string) (Guild, error) {
	var g Guild
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO guilds (guild_id, prefix, joined_at) VALUES (?, COALESCE(NULLIF(?, ''), '!'), ?)
			ON CONFLICT (guild_id) DO NOTHING`, guild, prefix, ms(s.now())); err != nil {
			return err
		}
		var err error
		g, err = queryOne(ctx, tx, scanGuild, `SELECT `+guildCols+` WHERE guild_id = ?`, guild)
		return err
	})
	if err != nil {
		return Guild{}, fmt.Errorf("ensure guild %s: %w", guild, err)
	}
	return g, nil
}

// Guild returns the guild's settings; ErrNotFound if it was never ensured.
func (s *Store) Guild(ctx context.Context, guild GuildID) (Guild, error) {
	g, err := queryOne(ctx, s.r, scanGuild, `SELECT `+guildCols+` WHERE guild_id = ?`, guild)
	if err != nil {
		return Guild{}, fmt.Errorf("guild %s: %w", guild, err)
	}
	return g, nil
}

// SetGuildPrefix sets the guild's command prefix.
func (s *Store) SetGuildPrefix(ctx context.Context, guild GuildID, prefix string) error {
	return s.setGuild(ctx, guild, "prefix", prefix)
}

// SetGuildLogChannel sets the channel skybot logs to ("" for none).
func (s *Store) SetGuildLogChannel(ctx context.Context, guild GuildID, channelID string) error {
	return s.setGuild(ctx, guild, "log_channel_id", channelID)
}

// SetGuildTier sets the guild's tier, which selects its limits.
func (s *Store) SetGuildTier(ctx context.Context, guild GuildID, tier string) error {
	return s.setGuild(ctx, guild, "tier", tier)
}

// SetGuildPolicy replaces the guild's policy document (a JSON object).
func (s *Store) SetGuildPolicy(ctx context.Context, guild GuildID, policy json.RawMessage) error {
	if !json.Valid(policy) {
		return fmt.Errorf("set policy of guild %s: not valid JSON", guild)
	}
	return s.setGuild(ctx, guild, "policy", string(policy))
}

// setGuild sets one column of an existing guild row; column is always one
// of the constants above, never caller input.
func (s *Store) setGuild(ctx context.Context, guild GuildID, column, value string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE guilds SET `+column+` = ? WHERE guild_id = ?`, value, guild)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set %s of guild %s: %w", column, guild, err)
	}
	return nil
}
