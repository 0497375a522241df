package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// GalleryCmd serves /gallery: every member searches, reads about and rates
// the gallery's extensions; skybot's administrators also feature, unlist
// and ban from it.
type GalleryCmd struct {
	gallery *extensions.Gallery
	manager *extensions.Manager
	log     *slog.Logger
}

// NewGallery returns the /gallery handlers for g; m sets servers' tiers.
func NewGallery(g *extensions.Gallery, m *extensions.Manager, log *slog.Logger) *GalleryCmd {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GalleryCmd{gallery: g, manager: m, log: log}
}

// Display limits of /gallery answers.
const (
	searchResults   = 10 // listings in one search or featured answer
	infoRatings     = 3  // newest ratings shown by info
	embedFieldValue = 1024
	autocompleteMax = 25
)

// Definitions implements bot.Interactions.
func (gc *GalleryCmd) Definitions() []*discordgo.ApplicationCommand {
	var cats []*discordgo.ApplicationCommandOptionChoice
	for _, c := range extensions.Categories() {
		cats = append(cats, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	galleryName := func(desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name",
			Description: desc, Required: true, Autocomplete: true, MaxLength: 100}
	}
	on := func(desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "on", Description: desc, Required: true}
	}
	user := func() *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "The author", Required: true}
	}
	minStars, maxStars := 1.0, 5.0
	var tiers []*discordgo.ApplicationCommandOptionChoice
	for _, t := range gc.manager.TierNames() {
		if len(tiers) < autocompleteMax {
			tiers = append(tiers, &discordgo.ApplicationCommandOptionChoice{Name: t, Value: t})
		}
	}
	return []*discordgo.ApplicationCommand{{
		Name:        "gallery",
		Description: "Find, read about and rate extensions in the skybot gallery",
		Options: []*discordgo.ApplicationCommandOption{
			sub("search", "Search the gallery's extensions by text, tag or category",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "query",
					Description: "Words in the name, title, description or tags", MaxLength: 100, Autocomplete: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "tag",
					Description: "Only extensions with this tag", MaxLength: 40, Autocomplete: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "category",
					Description: "Only extensions in this category", Choices: cats}),
			sub("info", "Show a gallery extension's author, versions, scopes and ratings", galleryName("The extension's name")),
			sub("featured", "Show the gallery's featured extensions"),
			sub("export", "Download a published version as a .skypkg package (owners: any of their versions)",
				galleryName("The extension's name"),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "version",
					Description: "Which version (default: the newest published; for its owner, the newest)", MaxLength: 64},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "format",
					Description: "Package format (default 2.0; 1.0 is SkynetBot's)", Choices: packageFormats()}),
			sub("rate", "Rate an extension from 1 to 5 stars; rating again replaces your rating",
				galleryName("The extension's name"),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "stars",
					Description: "1 (poor) to 5 (excellent)", Required: true, MinValue: &minStars, MaxValue: maxStars},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "review",
					Description: "A few words for other servers (optional)", MaxLength: store.MaxRatingText}),
			sub("feature", "Feature an extension, or stop (gallery administrators only)", galleryName("The extension's name"), on("true features it, false stops")),
			sub("unlist", "Hide an extension from search, or list it again (gallery administrators only)", galleryName("The extension's name"), on("true hides it, false lists it again")),
			sub("premium", "Make an extension premium, or not (gallery administrators only)", galleryName("The extension's name"), on("true: only premium-tier servers may install it")),
			sub("ban", "Bar an author from the gallery (gallery administrators only)", user(),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "reason",
					Description: "Why (kept with the ban)", Required: true, MaxLength: 500}),
			sub("unban", "Lift an author's gallery ban (gallery administrators only)", user()),
			sub("tier", "Show or set a server's tier: its run limits and installs (gallery administrators only)",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "server",
					Description: "The server's ID", Required: true, MinLength: &minGuildID, MaxLength: 20},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "tier",
					Description: "The tier to give it (leave out to show its tier)", Choices: tiers}),
		},
	}}
}

// HandleInteraction implements bot.Interactions.
func (gc *GalleryCmd) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool {
	if i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionApplicationCommandAutocomplete {
		return false
	}
	data := i.ApplicationCommandData()
	if data.Name != "gallery" || len(data.Options) == 0 {
		return false
	}
	r := &responder{s: s, i: i.Interaction, ctx: ctx}
	defer func() {
		if r.err != nil {
			gc.log.Warn("answering /gallery failed", "guild_id", i.GuildID, "interaction", i.ID, "err", r.err)
		}
	}()
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		gc.autocomplete(r, data)
		return true
	}
	actor := interactionUser(i)
	sub := data.Options[0]
	switch sub.Name {
	case "search":
		gc.search(r, sub)
	case "info":
		gc.info(r, stringOption(sub, "name"))
	case "featured":
		gc.featured(r)
	case "export":
		name, format := strings.ToLower(strings.TrimSpace(stringOption(sub, "name"))), stringOption(sub, "format")
		data, filename, err := gc.gallery.Export(r.ctx, actor, name, strings.TrimSpace(stringOption(sub, "version")), format)
		if err != nil {
			r.say(skyerr.UserText(err))
			return true
		}
		r.sayFile(fmt.Sprintf("**%s** as a %s package.", name, cmp.Or(format, extensions.PackageV2)), filename, data)
	case "rate":
		stars, _ := intOption(sub, "stars")
		gc.rate(r, actor, stringOption(sub, "name"), int(stars), stringOption(sub, "review"))
	case "feature", "unlist", "premium", "ban", "unban":
		gc.admin(r, actor, sub)
	case "tier":
		gc.tier(r, actor, sub)
	default:
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "/gallery %s is not a subcommand.", sub.Name)))
	}
	return true
}

// interactionUser is who asked, in a guild or in a DM.
func interactionUser(i *discordgo.InteractionCreate) store.UserID {
	switch {
	case i.Member != nil && i.Member.User != nil:
		return store.UserID(i.Member.User.ID)
	case i.User != nil:
		return store.UserID(i.User.ID)
	}
	return ""
}

// sayEmbeds replies with content and embeds, ephemerally.
func (r *responder) sayEmbeds(content string, embeds []*discordgo.MessageEmbed) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: content, Embeds: embeds, Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
		},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

func (gc *GalleryCmd) search(r *responder, sub *discordgo.ApplicationCommandInteractionDataOption) {
	query, tag, category := stringOption(sub, "query"), stringOption(sub, "tag"), stringOption(sub, "category")
	ls, err := gc.gallery.Search(r.ctx, query, tag, category, searchResults)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(ls) == 0 {
		r.say(fmt.Sprintf("No published extension matches %s. Try fewer words, or `/gallery featured`.", searchWords(query, tag, category)))
		return
	}
	r.sayEmbeds(fmt.Sprintf("%d extension(s) match %s:", len(ls), searchWords(query, tag, category)),
		[]*discordgo.MessageEmbed{listEmbed("Gallery search", ls)})
}

// searchWords says what a search asked for, for its answer.
func searchWords(query, tag, category string) string {
	var parts []string
	if q := strings.TrimSpace(query); q != "" {
		parts = append(parts, fmt.Sprintf("“%s”", clip(q, 100)))
	}
	if tag != "" {
		parts = append(parts, "tag `"+clip(tag, 40)+"`")
	}
	if category != "" {
		parts = append(parts, "category `"+category+"`")
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, " with ")
}

// listEmbed shows listings one field each: name@version, stars, installs
// and description, with how to read more and install.
func listEmbed(title string, ls []extensions.Listing) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Title: title, Color: 0x5865F2,
		Footer: &discordgo.MessageEmbedFooter{Text: "More: /gallery info name:<name> · Install: /ext install extension:<name>"}}
	for _, l := range ls {
		desc := l.Manifest.Description
		if desc == "" {
			desc = "No description."
		}
		value := fmt.Sprintf("%s · %s\n%s", starsText(l.Rating), installsText(l.Installs), desc)
		if l.Meta.Premium {
			value = premiumNote + " · " + value
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name:  clip(l.Extension.Name+"@"+l.Version.Version, 256),
			Value: clip(value, embedFieldValue),
		})
	}
	return e
}

// premiumNote marks a premium extension in listings and info.
const premiumNote = "💎 premium (servers on a premium tier)"

// starsText is a rating summary in words.
func starsText(r store.RatingSummary) string {
	if r.Count == 0 {
		return "not rated yet"
	}
	return fmt.Sprintf("★ %.1f (%d rating%s)", r.Average, r.Count, plural(r.Count))
}

func installsText(n int) string {
	return fmt.Sprintf("%d install%s", n, plural(n))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (gc *GalleryCmd) featured(r *responder) {
	ls, err := gc.gallery.Featured(r.ctx, searchResults)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(ls) == 0 {
		r.say("No extension is featured right now. Browse with `/gallery search`.")
		return
	}
	r.sayEmbeds("Featured in the gallery:", []*discordgo.MessageEmbed{listEmbed("Featured extensions", ls)})
}

func (gc *GalleryCmd) info(r *responder, name string) {
	name = strings.ToLower(strings.TrimSpace(name))
	info, err := gc.gallery.Info(r.ctx, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	ratings, err := gc.gallery.Ratings(r.ctx, name, infoRatings)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	r.sayEmbeds("", []*discordgo.MessageEmbed{infoEmbed(info, ratings)})
}

// infoEmbed is /gallery info's answer.
func infoEmbed(info extensions.GalleryInfo, ratings []store.Rating) *discordgo.MessageEmbed {
	title := info.Extension.Name
	if t := info.Manifest.Title; t != "" && t != title {
		title = t + " (" + title + ")"
	}
	var desc strings.Builder
	if info.Manifest.Description != "" {
		desc.WriteString(info.Manifest.Description + "\n")
	}
	fmt.Fprintf(&desc, "By <@%s> · latest %s · %s · %s", info.Extension.OwnerID, info.Latest.Version, starsText(info.Rating), installsText(info.Installs))
	fmt.Fprintf(&desc, "\nLast %d days: %d runs, %d errors, active in %d server%s", extensions.StatsDays,
		info.Usage.Runs, info.Usage.Errors, info.Usage.Guilds, plural(info.Usage.Guilds))
	var flags []string
	if info.Meta.Featured {
		flags = append(flags, "featured")
	}
	if info.Meta.Unlisted {
		flags = append(flags, "unlisted (installable by name, not in search)")
	}
	if info.Meta.Premium {
		flags = append(flags, premiumNote)
	}
	if t := info.Meta.SupportThread; t != "" {
		flags = append(flags, "support: <#"+t+">")
	}
	if len(flags) > 0 {
		desc.WriteString("\n" + strings.Join(flags, " · "))
	}
	e := &discordgo.MessageEmbed{Title: clip(title, 256), Description: clip(desc.String(), 4096), Color: 0x5865F2,
		Footer: &discordgo.MessageEmbedFooter{Text: "Install: /ext install extension:" + info.Extension.Name + " · Rate: /gallery rate"}}
	field := func(name, value string) {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: clip(value, embedFieldValue)})
	}
	if len(info.Scopes) == 0 {
		field("Scopes", "None: it asks for no permissions.")
	} else {
		var b strings.Builder
		writeScopes(&b, info.Scopes)
		field("Scopes", strings.TrimRight(b.String(), "\n"))
	}
	var vs strings.Builder
	for _, v := range info.Versions {
		fmt.Fprintf(&vs, "• %s — %d active, %d ever\n", v.Version.Version, v.Installs.Active, v.Installs.Ever)
	}
	field("Versions", strings.TrimRight(vs.String(), "\n"))
	tags := info.Meta.Tags
	labels := "category `" + info.Meta.Category + "`"
	if info.Meta.Category == "" {
		labels = "no category"
	}
	if len(tags) > 0 {
		labels += " · tags " + codeList(tags)
	}
	field("Labels", labels)
	if len(ratings) > 0 {
		var b strings.Builder
		for _, rt := range ratings {
			fmt.Fprintf(&b, "%s <@%s>", strings.Repeat("★", rt.Stars), rt.UserID)
			if rt.Text != "" {
				fmt.Fprintf(&b, ": %s", clip(rt.Text, 250))
			}
			b.WriteString("\n")
		}
		field("Latest ratings", strings.TrimRight(b.String(), "\n"))
	}
	return e
}

func (gc *GalleryCmd) rate(r *responder, actor store.UserID, name string, stars int, text string) {
	name = strings.ToLower(strings.TrimSpace(name))
	sum, err := gc.gallery.Rate(r.ctx, actor, name, stars, text)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	r.say(fmt.Sprintf("You rated **%s** %d star%s (rating again replaces it). It now has %s.", name, stars, plural(stars), starsText(sum)))
}

// admin runs the administrators' subcommands. The Gallery checks the
// right too; asking here first keeps a refusal from touching anything.
func (gc *GalleryCmd) admin(r *responder, actor store.UserID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	if !gc.gallery.IsAdmin(actor) {
		r.say(skyerr.UserText(skyerr.New(skyerr.Forbidden, "Only skybot's administrators can use /gallery %s.", sub.Name)))
		return
	}
	name := strings.ToLower(strings.TrimSpace(stringOption(sub, "name")))
	on := boolOption(sub, "on")
	user := userOption(sub, "user")
	var err error
	var done string
	switch sub.Name {
	case "feature":
		err = gc.gallery.SetFeatured(r.ctx, actor, name, on)
		done = map[bool]string{true: "**%s** is featured now.", false: "**%s** is no longer featured."}[on]
	case "unlist":
		err = gc.gallery.SetUnlisted(r.ctx, actor, name, on)
		done = map[bool]string{true: "**%s** is unlisted: out of search and featured, still installable by name.", false: "**%s** is listed again."}[on]
	case "premium":
		err = gc.gallery.SetPremium(r.ctx, actor, name, on)
		done = map[bool]string{true: "**%s** is premium: only servers whose tier includes premium extensions can install it now; servers that have it keep it.", false: "**%s** is no longer premium: every server can install it."}[on]
	case "ban":
		err = gc.gallery.BanAuthor(r.ctx, actor, user, stringOption(sub, "reason"))
		name, done = "<@"+string(user)+">", "%s is banned from the gallery: no more submissions or ratings, and their extensions leave search."
	case "unban":
		err = gc.gallery.UnbanAuthor(r.ctx, actor, user)
		name, done = "<@"+string(user)+">", "%s may use the gallery again."
	}
	if err != nil {
		r.sayQuiet(skyerr.UserText(err))
		return
	}
	gc.log.Info("gallery administration", "action", sub.Name, "target", name, "actor", actor)
	r.sayQuiet(fmt.Sprintf(done, name))
}

// minGuildID is the shortest Discord ID /gallery tier accepts.
var minGuildID = 15

// tier shows a server's tier, or gives it another.
func (gc *GalleryCmd) tier(r *responder, actor store.UserID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	if !gc.gallery.IsAdmin(actor) {
		r.say(skyerr.UserText(skyerr.New(skyerr.Forbidden, "Only skybot's administrators can use /gallery tier.")))
		return
	}
	guild := strings.TrimSpace(stringOption(sub, "server"))
	if guild == "" || strings.Trim(guild, "0123456789") != "" {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "%q is not a server ID (digits only).", clip(guild, 30))))
		return
	}
	name := stringOption(sub, "tier")
	setting := name != ""
	var (
		limits extensions.TierLimits
		err    error
	)
	if setting {
		limits, err = gc.manager.SetTier(r.ctx, store.GuildID(guild), name)
	} else {
		name, limits, err = gc.manager.Tier(r.ctx, store.GuildID(guild))
	}
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	done := "is on"
	if setting {
		done = "is now on"
		gc.log.Info("gallery administration", "action", "tier", "target", guild, "tier", name, "actor", actor)
	}
	r.say(fmt.Sprintf("Server %s %s tier **%s**: %s.", guild, done, name, tierText(limits)))
}

// tierText says what a tier allows.
func tierText(t extensions.TierLimits) string {
	l := t.Limits
	parts := []string{fmt.Sprintf("runs of at most %s, %d host calls and %d MiB each", l.Timeout, l.MaxHostCalls, l.MaxAlloc>>20)}
	if t.MaxInstalls > 0 {
		parts = append(parts, fmt.Sprintf("up to %d extensions", t.MaxInstalls))
	} else {
		parts = append(parts, "no install limit")
	}
	if t.Premium {
		parts = append(parts, "premium extensions")
	} else {
		parts = append(parts, "no premium extensions")
	}
	return strings.Join(parts, "; ")
}

// userOption is the id of a USER option.
func userOption(sub *discordgo.ApplicationCommandInteractionDataOption, name string) store.UserID {
	for _, o := range sub.Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionUser {
			id, _ := o.Value.(string)
			return store.UserID(id)
		}
	}
	return ""
}

// autocomplete offers published extensions for query and name, and the
// tags of listed extensions for tag. Administrators' name options offer
// the same published names.
func (gc *GalleryCmd) autocomplete(r *responder, data discordgo.ApplicationCommandInteractionData) {
	sub := data.Options[0]
	typed, focused := "", ""
	for _, o := range sub.Options {
		if o.Focused {
			typed, focused = strings.ToLower(strings.TrimSpace(o.StringValue())), o.Name
		}
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	switch focused {
	case "query", "name":
		r.choices(galleryChoices(ctx, gc.gallery, gc.log, typed))
	case "tag":
		r.choices(gc.tagChoices(ctx, typed))
	default:
		r.choices(nil)
	}
}

// tagChoices offers the tags of listed extensions that start with (or
// else contain) typed, most used first. It reads one page of the
// gallery's listings, which is cheap and covers what search can find.
func (gc *GalleryCmd) tagChoices(ctx context.Context, typed string) []*discordgo.ApplicationCommandOptionChoice {
	ls, err := gc.gallery.Search(ctx, "", "", "", 100)
	if err != nil {
		gc.log.Warn("gallery tag autocomplete", "err", err)
		return nil
	}
	count := map[string]int{}
	var order []string
	for _, l := range ls {
		for _, t := range l.Meta.Tags {
			if !strings.Contains(t, typed) {
				continue
			}
			if count[t] == 0 {
				order = append(order, t)
			}
			count[t]++
		}
	}
	rank := func(t string) int {
		if strings.HasPrefix(t, typed) {
			return 0
		}
		return 1
	}
	slices.SortFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(count[b], count[a]), strings.Compare(a, b))
	})
	var cs []*discordgo.ApplicationCommandOptionChoice
	for _, t := range order {
		if len(cs) == autocompleteMax {
			break
		}
		cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: fmt.Sprintf("%s (%d)", t, count[t]), Value: t})
	}
	return cs
}

var _ Handler = (*GalleryCmd)(nil)
