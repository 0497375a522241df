package commands

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// Review serves the gallery's publication side in Discord: /publish for
// authors, the review channel's cards and their buttons for maintainers,
// and /review queue. Its Watch method follows every gallery change to post
// and edit the cards and to tell authors the outcome.
type Review struct {
	gallery *extensions.Gallery
	store   *store.Store
	session *discordgo.Session
	// channel is the review channel cards are posted in ("": no cards).
	channel string
	// files downloads attachments exactly as /ext install does.
	files *Ext
	// flushUsage writes the runs counted in memory before stats are read
	// (SetUsageFlush; by default there is nothing to write).
	flushUsage func(context.Context) error
	log        *slog.Logger
}

// NewReview returns the review handlers; channel is the review channel
// ("" posts no cards).
func NewReview(g *extensions.Gallery, st *store.Store, session *discordgo.Session, channel string, client *http.Client, log *slog.Logger) *Review {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Review{gallery: g, store: st, session: session, channel: channel, files: NewExt(nil, g, client, log), log: log,
		flushUsage: func(context.Context) error { return nil }}
}

// SetUsageFlush makes /publish stats write the manager's counted runs
// first (Manager.FlushUsage). Call it before the bot starts.
func (rv *Review) SetUsageFlush(flush func(context.Context) error) { rv.flushUsage = flush }

// Custom id prefixes of the cards' buttons and modals.
const (
	reviewPrefix  = "review:"
	claimPrefix   = reviewPrefix + "claim:"
	approvePrefix = reviewPrefix + "approve:"
	rejectPrefix  = reviewPrefix + "reject:"
	changesPrefix = reviewPrefix + "changes:"
	// transferPrefix + "name:user": the owner's confirmation of a transfer.
	transferPrefix = reviewPrefix + "transfer:"
	// The modals' ids: the button's prefix with "form" added.
	rejectForm    = reviewPrefix + "rejectform:"
	changesForm   = reviewPrefix + "changesform:"
	feedbackInput = reviewPrefix + "feedback"
)

// submitDescription and submitOptions define /publish submit, and /ext
// submit, which is the same for server admins.
const submitDescription = "Submit an attached .skyext or .skypkg file, or a version you saved, for review"

func submitOptions() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file", Description: "The .skyext or .skypkg file"},
		{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Or the name of an extension with a saved version", MaxLength: 100},
		{Type: discordgo.ApplicationCommandOptionString, Name: "version", Description: "Which saved version (default: the newest)", MaxLength: 64},
	}
}

// Definitions implements bot.Interactions.
func (rv *Review) Definitions() []*discordgo.ApplicationCommand {
	dm := true
	return []*discordgo.ApplicationCommand{{
		Name:         "publish",
		Description:  "Submit your extensions to the skybot gallery and follow their review",
		DMPermission: &dm,
		Options: []*discordgo.ApplicationCommandOption{
			sub("submit", submitDescription, submitOptions()...),
			sub("save", "Check and keep a .skyext or .skypkg file in the gallery without submitting it yet",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file",
					Description: "The .skyext or .skypkg file", Required: true}),
			sub("withdraw", "Take a version you submitted out of the queue",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The extension's name", Required: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "version", Description: "The queued version", Required: true}),
			sub("status", "Show your versions, their states and the latest feedback",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "One extension (default: all of yours)"}),
			sub("stats", "Show the installs, runs and errors of one of your extensions, with a chart", statsOption()),
			sub("key", "Register the ed25519 key your submissions must be signed with",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "public_key",
					Description: "The public key in base64: the .pub file skybot ext keygen wrote", Required: true, MaxLength: 100}),
			sub("transfer", "Give one of your extensions to another author",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The extension's name", Required: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionUser, Name: "to", Description: "Its new owner", Required: true}),
		},
	}, {
		Name:         "review",
		Description:  "Gallery review (maintainers)",
		DMPermission: &dm,
		Options: []*discordgo.ApplicationCommandOption{
			sub("queue", "List the versions waiting for review, highest priority first"),
			sub("show", "Show a version's review card here, only to you",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The extension's name", Required: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "version", Description: "The version", Required: true}),
		},
	}}
}

// HandleInteraction implements bot.Interactions.
func (rv *Review) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool {
	r := &responder{s: s, i: i.Interaction, ctx: ctx}
	defer func() {
		if r.err != nil {
			rv.log.Warn("answering a review interaction failed", "guild_id", i.GuildID, "interaction", i.ID, "err", r.err)
		}
	}()
	actor, roles := asker(i)
	switch i.Type {
	case discordgo.InteractionMessageComponent:
		id := i.MessageComponentData().CustomID
		if !strings.HasPrefix(id, reviewPrefix) {
			return false
		}
		rv.button(r, actor, roles, id)
		return true
	case discordgo.InteractionModalSubmit:
		data := i.ModalSubmitData()
		if !strings.HasPrefix(data.CustomID, reviewPrefix) {
			return false
		}
		rv.decide(r, actor, roles, data)
		return true
	case discordgo.InteractionApplicationCommand:
	default:
		return false
	}
	data := i.ApplicationCommandData()
	if len(data.Options) == 0 {
		return false
	}
	sub := data.Options[0]
	switch data.Name + " " + sub.Name {
	case "publish submit", "ext submit":
		rv.submit(r, actor, data, sub)
	case "publish save":
		rv.save(r, actor, data, sub)
	case "publish withdraw":
		rv.withdraw(r, actor, stringOption(sub, "name"), stringOption(sub, "version"))
	case "publish status":
		rv.status(r, actor, stringOption(sub, "name"))
	case "publish stats":
		showStats(r, rv.gallery, rv.flushUsage, rv.log, actor, stringOption(sub, "name"))
	case "publish key":
		rv.registerKey(r, actor, stringOption(sub, "public_key"))
	case "publish transfer":
		rv.askTransfer(r, actor, stringOption(sub, "name"), userOption(sub, "to"))
	case "review queue":
		rv.queue(r, actor, roles)
	case "review show":
		rv.show(r, actor, roles, stringOption(sub, "name"), stringOption(sub, "version"))
	default:
		if data.Name != "publish" && data.Name != "review" {
			return false
		}
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "/%s %s is not a subcommand.", data.Name, sub.Name)))
	}
	return true
}

// asker is who sent an interaction, in a guild or in DMs, and their roles
// there (none in DMs).
func asker(i *discordgo.InteractionCreate) (store.UserID, []string) {
	switch {
	case i.Member != nil && i.Member.User != nil:
		return store.UserID(i.Member.User.ID), i.Member.Roles
	case i.User != nil:
		return store.UserID(i.User.ID), nil
	}
	return "", nil
}

// submit queues an attached file, or a version the author saved.
func (rv *Review) submit(r *responder, actor store.UserID, data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption) {
	att := attachmentOption(data, sub, "file")
	name := strings.ToLower(strings.TrimSpace(stringOption(sub, "name")))
	version := strings.TrimSpace(stringOption(sub, "version"))
	switch {
	case att != nil && name != "":
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Attach a file or name a saved version, not both.")))
		return
	case att == nil && name == "":
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Attach the .skyext or .skypkg file to submit, or name an extension with a saved version.")))
		return
	}
	// Reading, compiling and scanning take a while: acknowledge first.
	if !r.defer_() {
		return
	}
	var (
		got extensions.Submission
		err error
	)
	if att != nil {
		got, err = rv.gallery.Submit(r.ctx, actor, nil, extensions.Upload{Filename: att.Filename, Size: int64(att.Size)}, rv.fetch(att))
	} else {
		got, err = rv.gallery.SubmitSaved(r.ctx, actor, name, version)
	}
	if err != nil {
		rv.log.Info("gallery submission refused", "actor", actor, "name", name, "err", err)
		r.edit(skyerr.UserText(err), nil)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Queued **%s** %s for review", got.Manifest.Name, got.Manifest.Version)
	if q, err := rv.gallery.Queue(r.ctx); err == nil {
		if at := slices.IndexFunc(q, func(e extensions.QueueEntry) bool { return e.Version.ID == got.Version.ID }); at >= 0 {
			fmt.Fprintf(&b, " (position %d of %d in the queue)", at+1, len(q))
		}
	}
	b.WriteString(". You get a DM when a maintainer decides.")
	writeWarnings(&b, "Warnings the reviewers will see:", got.Findings)
	r.edit(b.String(), nil)
}

// save keeps an attached file in the gallery, checked but not queued.
func (rv *Review) save(r *responder, actor store.UserID, data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption) {
	att := attachmentOption(data, sub, "file")
	if att == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Attach the .skyext or .skypkg file to save.")))
		return
	}
	if !r.defer_() {
		return
	}
	got, err := rv.gallery.Save(r.ctx, actor, extensions.Upload{Filename: att.Filename, Size: int64(att.Size)}, rv.fetch(att))
	if err != nil {
		rv.log.Info("gallery save refused", "actor", actor, "file", att.Filename, "err", err)
		r.edit(skyerr.UserText(err), nil)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Saved **%s** %s. It passed every check; no reviewer sees it until you run `/publish submit name:%s version:%s`.",
		got.Manifest.Name, got.Manifest.Version, got.Manifest.Name, got.Manifest.Version)
	writeWarnings(&b, "Warnings the reviewers will see when you submit it:", got.Findings)
	r.edit(b.String(), nil)
}

func (rv *Review) fetch(att *discordgo.MessageAttachment) extensions.Fetch {
	return func(ctx context.Context, limit int64) ([]byte, error) { return rv.files.download(ctx, att.URL, limit) }
}

func writeWarnings(b *strings.Builder, heading string, fs []extensions.Finding) {
	if len(fs) > 0 {
		fmt.Fprintf(b, "\n%s\n%s", heading, findingLines(fs, 1500))
	}
}

// registerKey registers the author's signing key: from then on the
// gallery refuses their unsigned or wrongly signed submissions.
func (rv *Review) registerKey(r *responder, actor store.UserID, text string) {
	pub, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "That is not base64; paste the one line of the .pub file that skybot ext keygen wrote.")))
		return
	}
	if err := rv.gallery.RegisterKey(r.ctx, actor, ed25519.PublicKey(pub)); err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	sum := sha256.Sum256(pub)
	r.say(fmt.Sprintf("Registered your signing key (fingerprint `%x`). From now on every version you submit must be a .skypkg signed with it: `skybot ext pack --key YOUR.key DIR`. Registering another key replaces this one.", sum[:8]))
}

func (rv *Review) withdraw(r *responder, actor store.UserID, name, version string) {
	id, err := rv.gallery.Lookup(r.ctx, strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(version))
	if err == nil {
		_, err = rv.gallery.Withdraw(r.ctx, actor, id)
	}
	if err != nil {
		r.sayQuiet(skyerr.UserText(err))
		return
	}
	r.say(fmt.Sprintf("Withdrew **%s** %s from the queue; it is kept as saved, not published.", name, version))
}

func (rv *Review) status(r *responder, actor store.UserID, name string) {
	exts, err := rv.store.AuthorExtensions(r.ctx, actor)
	if err != nil {
		r.say(skyerr.UserText(skyerr.Wrap(err, skyerr.Unknown, "Could not read your extensions.")))
		return
	}
	if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
		exts = slices.DeleteFunc(exts, func(e store.Extension) bool { return e.Name != name })
		if len(exts) == 0 {
			r.say(skyerr.UserText(skyerr.New(skyerr.NotFound, "You own no gallery extension called %s.", name)))
			return
		}
	}
	if len(exts) == 0 {
		r.say("You have no extensions in the gallery yet. Submit one with `/publish submit`.")
		return
	}
	var b strings.Builder
	for _, e := range exts {
		fmt.Fprintf(&b, "**%s**\n", e.Name)
		vs, err := rv.store.Versions(r.ctx, e.ID)
		if err != nil {
			r.say(skyerr.UserText(skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", e.Name)))
			return
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "• %s — %s", v.Version, v.State)
			if h, err := rv.store.ReviewHistory(r.ctx, v.ID); err == nil && len(h) > 0 {
				if last := h[len(h)-1]; last.Reason != "" {
					fmt.Fprintf(&b, ": “%s”", clip(last.Reason, 300))
				}
			}
			b.WriteString("\n")
		}
	}
	r.sayQuiet(clip(strings.TrimRight(b.String(), "\n"), 1900))
}

func (rv *Review) queue(r *responder, actor store.UserID, roles []string) {
	if !rv.gallery.IsMaintainer(actor, roles) {
		r.say(skyerr.UserText(errNotMaintainer))
		return
	}
	q, err := rv.gallery.Queue(r.ctx)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(q) == 0 {
		r.say("The review queue is empty.")
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d version(s) waiting, highest priority first:\n", len(q))
	for n, e := range q {
		line := fmt.Sprintf("%d. **%s** %s by <@%s> (reputation %.1f) — waiting %s", n+1, e.Version.Name, e.Version.Version,
			e.Owner, e.Reputation.Score, e.Waiting.Round(time.Minute))
		if e.Reviewer != "" {
			line += fmt.Sprintf(", claimed by <@%s>", e.Reviewer)
		}
		if b.Len()+len(line) > 1900 {
			fmt.Fprintf(&b, "… %d more", len(q)-n)
			break
		}
		b.WriteString(line + "\n")
	}
	r.sayQuiet(strings.TrimRight(b.String(), "\n"))
}

// show answers with a version's card, without its buttons, to a
// maintainer or the version's owner (Gallery.ReviewOf decides).
func (rv *Review) show(r *responder, actor store.UserID, roles []string, name, version string) {
	id, err := rv.gallery.Lookup(r.ctx, name, version)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	rec, err := rv.gallery.ReviewOf(r.ctx, actor, roles, id)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	r.sayEmbeds("", []*discordgo.MessageEmbed{rv.cardEmbed(r.ctx, rec)})
}

var errNotMaintainer = skyerr.New(skyerr.Forbidden, "Only gallery maintainers can review versions.")

// button answers a card's button: maintainers only, checked first.
func (rv *Review) button(r *responder, actor store.UserID, roles []string, customID string) {
	if rest, ok := strings.CutPrefix(customID, transferPrefix); ok {
		rv.transfer(r, actor, rest)
		return
	}
	if !rv.gallery.IsMaintainer(actor, roles) {
		r.say(skyerr.UserText(errNotMaintainer))
		return
	}
	action, idText, _ := strings.Cut(strings.TrimPrefix(customID, reviewPrefix), ":")
	n, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "This card's button is broken.")))
		return
	}
	id := store.VersionID(n)
	var rec extensions.Review
	switch action + ":" {
	case claimPrefix[len(reviewPrefix):]:
		if rec, err = rv.gallery.Claim(r.ctx, actor, roles, id); err == nil {
			r.say(fmt.Sprintf("You claimed **%s** %s; Approve, Reject or Request changes on the card when you have read it.", rec.Version.Name, rec.Version.Version))
			return
		}
	case approvePrefix[len(reviewPrefix):]:
		if rec, err = rv.gallery.Approve(r.ctx, actor, roles, id); err == nil {
			r.say(fmt.Sprintf("Published **%s** %s; guilds can install it now.", rec.Version.Name, rec.Version.Version))
			return
		}
	case rejectPrefix[len(reviewPrefix):]:
		r.modal(feedbackModal(rejectForm+idText, "Reject this version"))
		return
	case changesPrefix[len(reviewPrefix):]:
		r.modal(feedbackModal(changesForm+idText, "Request changes"))
		return
	default:
		err = skyerr.New(skyerr.InvalidID, "This card's button is broken.")
	}
	r.sayQuiet(skyerr.UserText(err))
}

func feedbackModal(customID, title string) *discordgo.InteractionResponseData {
	return &discordgo.InteractionResponseData{CustomID: customID, Title: title, Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: feedbackInput, Label: "Feedback for the author", Style: discordgo.TextInputParagraph,
			Required: true, MinLength: 10, MaxLength: 2000,
			Placeholder: "What must change, and why",
		}}},
	}}
}

// decide answers the feedback modal of Reject or Request changes.
func (rv *Review) decide(r *responder, actor store.UserID, roles []string, data discordgo.ModalSubmitInteractionData) {
	if !rv.gallery.IsMaintainer(actor, roles) {
		r.say(skyerr.UserText(errNotMaintainer))
		return
	}
	var feedback string
	for _, row := range data.Components {
		if ar, ok := row.(*discordgo.ActionsRow); ok {
			for _, c := range ar.Components {
				if ti, ok := c.(*discordgo.TextInput); ok && ti.CustomID == feedbackInput {
					feedback = ti.Value
				}
			}
		}
	}
	var (
		rec  extensions.Review
		err  error
		done string
	)
	switch {
	case strings.HasPrefix(data.CustomID, rejectForm):
		id, perr := strconv.ParseInt(strings.TrimPrefix(data.CustomID, rejectForm), 10, 64)
		if err = perr; err == nil {
			rec, err = rv.gallery.Reject(r.ctx, actor, roles, store.VersionID(id), feedback)
		}
		done = "Rejected"
	case strings.HasPrefix(data.CustomID, changesForm):
		id, perr := strconv.ParseInt(strings.TrimPrefix(data.CustomID, changesForm), 10, 64)
		if err = perr; err == nil {
			rec, err = rv.gallery.RequestChanges(r.ctx, actor, roles, store.VersionID(id), feedback)
		}
		done = "Sent back for changes:"
	default:
		err = skyerr.New(skyerr.InvalidID, "This form is broken.")
	}
	var perr *strconv.NumError
	if errors.As(err, &perr) {
		err = skyerr.New(skyerr.InvalidID, "This form is broken.")
	}
	if err != nil {
		r.sayQuiet(skyerr.UserText(err))
		return
	}
	r.say(fmt.Sprintf("%s **%s** %s; the author gets your feedback by DM.", done, rec.Version.Name, rec.Version.Version))
}

// findingLines lists findings, one a line, within max characters.
func findingLines(fs []extensions.Finding, max int) string {
	var b strings.Builder
	for n, f := range fs {
		line := "• "
		if f.Line > 0 && !strings.HasPrefix(f.Message, "line ") {
			line += fmt.Sprintf("line %d: ", f.Line)
		}
		line += f.Message + "\n"
		if b.Len()+len(line) > max {
			fmt.Fprintf(&b, "… %d more", len(fs)-n)
			break
		}
		b.WriteString(line)
	}
	return strings.TrimRight(b.String(), "\n")
}

var _ Handler = (*Review)(nil)
