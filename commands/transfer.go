package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// askTransfer answers /publish transfer with a confirmation: giving an
// extension away cannot be undone by the one who gives it.
func (rv *Review) askTransfer(r *responder, actor store.UserID, name string, to store.UserID) {
	name = strings.ToLower(strings.TrimSpace(name))
	if _, err := rv.gallery.CheckTransfer(r.ctx, actor, name, to); err != nil {
		r.sayQuiet(skyerr.UserText(err))
		return
	}
	id := transferPrefix + name + ":" + string(to)
	r.sayButtons(fmt.Sprintf("Give **%s** to <@%s>? They will own it: only they submit its versions, withdraw them and see its stats, and you cannot take it back yourself.", name, to),
		discordgo.Button{Label: "Transfer", Style: discordgo.DangerButton, CustomID: id},
		discordgo.Button{Label: "Cancel", Style: discordgo.SecondaryButton, CustomID: transferPrefix + "cancel"})
}

// transfer carries out a confirmed transfer (rest is "name:user" or
// "cancel"); the gallery checks again that the clicker may give it.
func (rv *Review) transfer(r *responder, actor store.UserID, rest string) {
	if rest == "cancel" {
		r.update("Nothing was transferred.")
		return
	}
	name, to, ok := strings.Cut(rest, ":")
	if !ok {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "This button is broken.")))
		return
	}
	from, err := rv.gallery.Transfer(r.ctx, actor, name, store.UserID(to))
	if err != nil {
		r.sayQuiet(skyerr.UserText(err))
		return
	}
	// The DM goes first so that the answer means everyone was told.
	rv.dm(r.ctx, store.UserID(to), fmt.Sprintf("You now own the gallery extension **%s**, given to you by <@%s>. Submit its versions with `/publish submit` and follow them with `/publish status`.", name, from))
	r.update(fmt.Sprintf("**%s** now belongs to <@%s>.", name, to))
}

// dm sends text to user privately; a failure is logged, never returned:
// the action it reports on is done.
func (rv *Review) dm(ctx context.Context, user store.UserID, text string) {
	ch, err := rv.session.UserChannelCreate(string(user), discordgo.WithContext(ctx))
	if err == nil {
		_, err = rv.session.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{Content: clip(text, 2000), AllowedMentions: noMentions()}, discordgo.WithContext(ctx))
	}
	if err != nil {
		rv.log.Warn("DM to a gallery author failed", "user_id", user, "err", err)
	}
}
