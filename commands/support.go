package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// Support keeps a support thread per published extension in the gallery's
// forum channel ([gallery] support_forum_id): the first publication opens
// the thread, each later one is announced in it, and /gallery info links
// it. A thread someone deleted is opened again on the next publication.
type Support struct {
	gallery *extensions.Gallery
	session *discordgo.Session
	forum   string // "": no support threads
	log     *slog.Logger
}

// NewSupport returns the support threads' watcher for forum ("": none).
func NewSupport(g *extensions.Gallery, session *discordgo.Session, forum string, log *slog.Logger) *Support {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Support{gallery: g, session: session, forum: forum, log: log}
}

// supportArchive is how long a quiet support thread stays open: a week,
// in minutes. A later post reopens it.
const supportArchive = 10080

// Watch follows one gallery change: a version just published opens its
// extension's thread or is announced in it. Nothing here can fail the
// publication; a thread that cannot be made or written is logged.
func (sp *Support) Watch(ctx context.Context, c extensions.Change) {
	if sp.forum == "" || c.State != store.StatePublished {
		return
	}
	thread, err := sp.gallery.SupportThread(ctx, c.Name)
	if err != nil {
		sp.log.Error("support thread: cannot read the listing", "ext", c.Name, "err", err)
		return
	}
	if thread != "" {
		_, err := sp.session.ChannelMessageSendComplex(thread, &discordgo.MessageSend{
			Content:         fmt.Sprintf("**%s %s** is published. New servers get it with `/ext install extension:%s`; servers that have it update with `/ext update`.", c.Name, c.Number, c.Name),
			AllowedMentions: noMentions(),
		}, discordgo.WithContext(ctx))
		if err == nil {
			return
		}
		if !channelGone(err) {
			sp.log.Warn("support thread: cannot announce the version", "ext", c.Name, "version", c.Number, "thread", thread, "err", err)
			return
		}
		sp.log.Info("support thread is gone; opening a new one", "ext", c.Name, "thread", thread)
	}
	sp.open(ctx, c.Name, thread)
}

// open starts name's thread in the forum and records it in place of
// replacing ("" for the first). A thread that lost a race with another
// publication's is deleted again.
func (sp *Support) open(ctx context.Context, name, replacing string) {
	info, err := sp.gallery.Info(ctx, name)
	if err != nil {
		sp.log.Error("support thread: cannot describe the extension", "ext", name, "err", err)
		return
	}
	title := name
	if t := info.Manifest.Title; t != "" && !strings.EqualFold(t, name) {
		title = name + " — " + t
	}
	th, err := sp.session.ForumThreadStartComplex(sp.forum,
		&discordgo.ThreadStart{Name: clip(title, 100), AutoArchiveDuration: supportArchive},
		&discordgo.MessageSend{Content: clip(supportPost(info), 2000), AllowedMentions: noMentions()},
		discordgo.WithContext(ctx))
	if err != nil {
		sp.log.Warn("support thread: cannot open it", "ext", name, "forum", sp.forum, "err", err)
		return
	}
	kept, err := sp.gallery.SetSupportThread(ctx, name, th.ID, replacing)
	if err != nil {
		sp.log.Error("support thread: opened but not recorded", "ext", name, "thread", th.ID, "err", err)
		return
	}
	if kept != th.ID {
		if _, err := sp.session.ChannelDelete(th.ID, discordgo.WithContext(ctx)); err != nil {
			sp.log.Warn("support thread: cannot delete a duplicate", "ext", name, "thread", th.ID, "err", err)
		}
		return
	}
	sp.log.Info("support thread opened", "ext", name, "thread", th.ID)
}

// supportPost is a thread's first message: what the extension is, who
// wrote it, how to install it, and what the thread is for.
func supportPost(info extensions.GalleryInfo) string {
	var b strings.Builder
	if d := info.Manifest.Description; d != "" {
		b.WriteString(d + "\n\n")
	}
	fmt.Fprintf(&b, "By <@%s> · version %s\n", info.Extension.OwnerID, info.Latest.Version)
	fmt.Fprintf(&b, "Install: `/ext install extension:%s` · Details: `/gallery info name:%s`\n\n", info.Extension.Name, info.Extension.Name)
	b.WriteString("Ask questions, report problems and suggest features here. New versions are announced in this thread.")
	return b.String()
}

// channelGone reports whether err says the channel no longer exists.
func channelGone(err error) bool {
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) {
		return false
	}
	if rest.Message != nil && rest.Message.Code == discordgo.ErrCodeUnknownChannel {
		return true
	}
	return rest.Response != nil && rest.Response.StatusCode == http.StatusNotFound
}
