package bot

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/store"
)

// postModlog copies a moderation log entry to the guild's log channel
// (/ext logchannel), when it has one. The entry is already in SQLite: a
// channel that refuses it is logged, never an error for the extension.
func (e *Executor) postModlog(ctx context.Context, entry store.ModlogEntry) {
	g, err := e.store.Guild(ctx, entry.GuildID)
	if err != nil || g.LogChannelID == "" {
		return
	}
	text := fmt.Sprintf("🛡️ Moderation log #%d: **%s** <@%s> by `%s`", entry.ID, entry.Action, entry.UserID, entry.Actor)
	if entry.Reason != "" {
		text += " — " + entry.Reason
	}
	_, err = e.session.ChannelMessageSendComplex(g.LogChannelID, &discordgo.MessageSend{
		Content:         text,
		AllowedMentions: &discordgo.MessageAllowedMentions{}, // names people, pings nobody
	}, discordgo.WithContext(ctx))
	if err != nil {
		e.log.Warn("moderation log entry not posted to the log channel", "guild_id", entry.GuildID, "channel_id", g.LogChannelID, "entry", entry.ID, "err", err)
	}
}
