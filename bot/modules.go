package bot

import (
	"context"
	"log/slog"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// ModuleSource gives legacy runs the module data that lives on the
// trusted side (SKYEXT.md part B 2.7): guild and roles from gateway state
// (for runs without a message), config (the guild's prefix only, never
// its secrets), extension (storage snapshot and settings),
// points/economy, and http. Only modules the code names are built: each
// costs store reads.
func (e *Executor) ModuleSource() extensions.ModuleSource {
	return func(ctx context.Context, o extensions.Origin, granted sandbox.ScopeSet, needs func(string) bool) map[string]any {
		out := map[string]any{}
		guild := store.GuildID(o.GuildID)
		if needs("guild") || needs("roles") {
			for name, data := range guildModules(e.session, o.GuildID) {
				out[name] = data
			}
		}
		if needs("config") {
			prefix := ""
			if g, err := e.store.Guild(ctx, guild); err == nil {
				prefix = g.Prefix
			}
			out["config"] = map[string]any{"command_prefix": prefix}
		}
		if needs("extension") {
			settings := map[string]any{}
			if ver, err := e.store.Version(ctx, o.VersionID); err == nil {
				if s, err := ExtensionSettings(ctx, e.store, guild, o.ExtensionID, ver.Manifest); err == nil {
					settings = s
				} else {
					e.moduleError(o, "extension settings", err)
				}
			}
			if data, err := LegacyExtensionData(ctx, e.store, guild, o.ExtensionID, settings); err == nil {
				out["extension"] = data
			} else {
				e.moduleError(o, "extension", err)
			}
		}
		if needs("points") || needs("economy") {
			var points map[string]any
			if granted.Has("members_read") {
				data, err := LegacyPointsData(ctx, e.store, guild, o.UserID, granted.Has("economy_manage"))
				if err != nil {
					e.moduleError(o, "points", err)
				}
				points = data
			}
			if points == nil { // part B 3.12's fallback without members_read
				points = map[string]any{
					"isEnabled": false, "canWrite": false, "self": nil, "leaderboard": []any{}, "ranks": []any{},
					"stats": nil, "totalMembers": 0, "memberIds": []any{},
					"error": "MISSING_SCOPES: reading points needs the members_read scope",
				}
			}
			out["points"], out["economy"] = points, points
		}
		if needs("http") {
			out["http"] = map[string]any{"available": true}
		}
		return out
	}
}

func (e *Executor) moduleError(o extensions.Origin, module string, err error) {
	e.log.Error("legacy module data unavailable", slog.String("guild_id", o.GuildID), slog.String("ext", o.Extension), slog.String("module", module), slog.Any("err", err))
}

// guildModules is the guild and roles module data of a guild, from State.
func guildModules(s *discordgo.Session, guildID string) map[string]any {
	if s == nil || s.State == nil {
		return nil
	}
	s.State.RLock()
	defer s.State.RUnlock()
	for _, g := range s.State.Guilds {
		if g.ID == guildID {
			return map[string]any{
				"guild": map[string]any{"id": g.ID, "name": g.Name, "memberCount": memberCount(s, g.ID), "ownerId": g.OwnerID, "icon": nullable(g.Icon)},
				"roles": rolesData(g, memberCount(s, g.ID)),
			}
		}
	}
	return nil
}
