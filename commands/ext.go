// Package commands holds skybot's own slash commands — /ext today — and
// their replies. Each handler checks who is asking before anything else;
// admin output is ephemeral, and work that may be slow is deferred first.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// Ext serves /ext: install, list, uninstall, logs, config, permissions, ...
type Ext struct {
	manager *extensions.Manager
	// gallery is the marketplace published versions are installed from
	// (nil: attached files only).
	gallery *extensions.Gallery
	// client downloads attachments (the session's client, so the emulator
	// serves them in tests and the demo).
	client *http.Client
	log    *slog.Logger
}

// NewExt returns the /ext handlers; g may be nil.
func NewExt(m *extensions.Manager, g *extensions.Gallery, client *http.Client, log *slog.Logger) *Ext {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Ext{manager: m, gallery: g, client: client, log: log}
}

// manageServer is the Discord permission /ext needs.
const manageServer = discordgo.PermissionManageGuild

// Definitions implements bot.Interactions.
func (x *Ext) Definitions() []*discordgo.ApplicationCommand {
	perms := int64(manageServer)
	noDM := false
	return []*discordgo.ApplicationCommand{{
		Name:                     "ext",
		Description:              "Manage this server's skybot extensions",
		DefaultMemberPermissions: &perms,
		DMPermission:             &noDM,
		Options: []*discordgo.ApplicationCommandOption{
			sub("install", "Install a published extension (name or name@version), or an attached .skyext or .skypkg file",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "extension",
					Description: "A published extension: name, or name@version for an older one", MaxLength: 100, Autocomplete: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file",
					Description: "Or the .skyext or .skypkg file"}),
			sub("update", "Update an extension to a newer gallery version (or the attached file); name all updates every one",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name",
					Description: "The extension's name, or all", Required: true, Autocomplete: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "version",
					Description: "The published version to update to (default: the newest)", MaxLength: 64, Autocomplete: true},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file",
					Description: "Or the newer .skyext or .skypkg file (for an extension uploaded here)"}),
			sub("rollback", "Go back to the previous (or a chosen) version; its data stays", nameOpt(),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "version", Description: "The version to go back to (default: the previous one)"}),
			sub("enable", "Let an extension run again", nameOpt()),
			sub("disable", "Stop an extension without removing it or its data", nameOpt()),
			sub("uninstall", "Remove an extension from this server; you choose whether its data is kept", nameOpt(),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "purge",
					Description: "Skip the question: true deletes its stored data, false keeps it"}),
			sub("list", "List the extensions installed on this server"),
			sub("status", "Show whether each extension runs, and its failures in the last 24 hours"),
			sub("info", "Show an installed extension's version, scopes and history", nameOpt()),
			sub("export", "Download an installed extension as a .skypkg package", nameOpt(),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "format",
					Description: "Package format (default 2.0; 1.0 is SkynetBot's)", Choices: packageFormats()}),
			sub("logs", "Show an extension's recent errors and console output", nameOpt()),
			sub("stats", "Show the installs, runs and errors of a gallery extension you own, with a chart", statsOption()),
			sub("submit", submitDescription, submitOptions()...),
			sub("config", "Change an extension's settings in a form", configOptions()...),
			sub("permissions", "Show or limit where and for whom an extension's commands run", permissionsOptions()...),
			sub("policy", "Show or change what this server allows extensions (Administrator only)",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "uploads", Description: "Allow installing attached files"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "scopes", Description: "Scopes extensions may be granted: a comma list, or all"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "max_installs", Description: "Most extensions installed at once (0: the tier's limit)"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "negative_balances", Description: "Let extensions take economy balances below zero"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "timeout_ms", Description: "Lower the time one run may take, in ms (0: the tier's)"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "max_host_calls", Description: "Lower the host calls one run may make (0: the tier's)"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "auto_update",
					Description: "Which newly published gallery versions install themselves", Choices: []*discordgo.ApplicationCommandOptionChoice{
						{Name: "none", Value: extensions.TrackNone}, {Name: "patch (x.y.Z)", Value: extensions.TrackPatch},
						{Name: "minor (x.Y.Z)", Value: extensions.TrackMinor}, {Name: "skybot's default", Value: "default"}}}),
			sub("logchannel", "Post extension installs, updates, failures, suspensions and moderation-log entries in a channel",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionChannel, Name: "channel",
					Description: "The channel (leave out to stop posting)", ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText}}),
		},
	}}
}

// packageFormats are the .skypkg formats export offers.
func packageFormats() []*discordgo.ApplicationCommandOptionChoice {
	return []*discordgo.ApplicationCommandOptionChoice{
		{Name: "2.0 (skybot, lossless)", Value: extensions.PackageV2}, {Name: "1.0 (SkynetBot)", Value: extensions.PackageLegacy}}
}

func sub(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
}

func nameOpt() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name",
		Description: "The extension's name", Required: true, Autocomplete: true}
}

// HandleInteraction implements bot.Interactions.
func (x *Ext) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool {
	r := &responder{s: s, i: i.Interaction, ctx: ctx}
	defer func() {
		if r.err != nil {
			x.log.Warn("answering /ext failed", "guild_id", i.GuildID, "interaction", i.ID, "err", r.err)
		}
	}()
	switch i.Type {
	case discordgo.InteractionMessageComponent:
		return x.handleButton(r, i)
	case discordgo.InteractionModalSubmit:
		return x.handleModal(r, i)
	case discordgo.InteractionApplicationCommandAutocomplete:
		if i.ApplicationCommandData().Name != "ext" {
			return false
		}
		x.autocomplete(r, i)
		return true
	case discordgo.InteractionApplicationCommand:
	default:
		return false
	}
	data := i.ApplicationCommandData()
	if data.Name != "ext" || len(data.Options) == 0 {
		return false
	}
	if data.Options[0].Name == "submit" {
		return false // the review family's: /ext submit is /publish submit
	}
	if i.GuildID == "" || i.Member == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidState, "Extensions are managed inside a server, not in DMs.")))
		return true
	}
	if !canManage(i) {
		r.say(skyerr.UserText(errNeedManage))
		return true
	}
	sub := data.Options[0]
	guild, actor := store.GuildID(i.GuildID), store.UserID(i.Member.User.ID)
	switch sub.Name {
	case "install":
		x.install(r, guild, actor, data, sub)
	case "update":
		x.update(r, guild, actor, data, sub)
	case "rollback":
		x.plan(r, func() (*extensions.Plan, error) {
			return x.manager.PlanRollback(r.ctx, guild, actor, stringOption(sub, "name"), stringOption(sub, "version"))
		})
	case "enable", "disable":
		x.setEnabled(r, guild, actor, stringOption(sub, "name"), sub.Name == "enable")
	case "info":
		x.info(r, guild, stringOption(sub, "name"))
	case "status":
		x.status(r, guild)
	case "export":
		x.export(r, guild, stringOption(sub, "name"), stringOption(sub, "format"))
	case "list":
		x.list(r, guild)
	case "uninstall":
		x.uninstall(r, guild, actor, sub)
	case "logs":
		x.logs(r, guild, sub)
	case "stats":
		showStats(r, x.gallery, x.manager.FlushUsage, x.log, actor, stringOption(sub, "name"))
	case "logchannel":
		x.logChannel(r, guild, sub)
	case "config":
		x.config(r, guild, sub)
	case "permissions":
		x.permissions(r, guild, actor, sub)
	case "policy":
		x.policy(r, i, guild, sub)
	default:
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "/ext %s is not a subcommand.", sub.Name)))
	}
	return true
}

func (x *Ext) install(r *responder, guild store.GuildID, actor store.UserID, data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption) {
	att := attachmentOption(data, sub, "file")
	published := strings.TrimSpace(stringOption(sub, "extension"))
	switch {
	case att != nil && published != "":
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Name a published extension or attach a file, not both.")))
		return
	case published != "":
		x.installPublished(r, guild, actor, published)
		return
	case att == nil:
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Name a published extension (extension:name or name@version) or attach the .skyext or .skypkg file to install.")))
		return
	}
	// Downloading and compiling may take a while: acknowledge first.
	if !r.defer_() {
		return
	}
	p, err := x.manager.PlanInstall(r.ctx, guild, actor,
		extensions.Upload{Filename: att.Filename, Size: int64(att.Size)},
		func(ctx context.Context, limit int64) ([]byte, error) { return x.download(ctx, att.URL, limit) })
	if err != nil {
		x.log.Info("install refused", "guild_id", guild, "file", att.Filename, "err", err)
		r.edit(skyerr.UserText(err), nil)
		return
	}
	r.edit(consentText(p), consentButtons(p))
}

// installPublished prepares installing a gallery version: "name" is the
// newest published, "name@1.2.0" that one.
func (x *Ext) installPublished(r *responder, guild store.GuildID, actor store.UserID, spec string) {
	name, version, _ := strings.Cut(spec, "@")
	if x.gallery == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidState, "This skybot has no gallery; attach the extension's file instead.")))
		return
	}
	if !r.defer_() {
		return
	}
	p, err := x.manager.PlanInstallPublished(r.ctx, guild, actor, strings.ToLower(name), version, x.gallery)
	if err != nil {
		x.log.Info("install refused", "guild_id", guild, "extension", spec, "err", err)
		r.edit(skyerr.UserText(err), nil)
		return
	}
	r.edit(consentText(p), consentButtons(p))
}

// download fetches an attachment, refusing more than limit bytes.
func (x *Ext) download(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("attachment url: %w", err)
	}
	resp, err := x.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download attachment: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download attachment: status %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("download attachment: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, skyerr.New(skyerr.TooLarge, "The attachment is larger than the limit of %d bytes.", limit)
	}
	return data, nil
}

func (x *Ext) list(r *responder, guild store.GuildID) {
	ins, err := x.manager.List(r.ctx, guild)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(ins) == 0 {
		r.say("No extensions are installed on this server. Install one with `/ext install` and a .skyext file.")
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d extension(s) installed:\n", len(ins))
	for _, in := range ins {
		state := "enabled"
		if !in.Enabled {
			state = "disabled"
		}
		if in.System {
			state = "system, " + state
		}
		scopes := "no scopes"
		if len(in.GrantedScopes) > 0 {
			scopes = "scopes " + strings.Join(in.GrantedScopes, ", ")
		}
		fmt.Fprintf(&b, "• **%s** %s — %s, %s\n", in.Name, in.Version, state, scopes)
	}
	r.say(strings.TrimRight(b.String(), "\n"))
}

func (x *Ext) logs(r *responder, guild store.GuildID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	name := stringOption(sub, "name")
	entries, err := x.manager.Logs(r.ctx, guild, name, 10)
	if errors.Is(err, store.ErrNotFound) {
		r.say(skyerr.UserText(skyerr.New(skyerr.NotFound, "%s is not installed on this server.", name)))
		return
	}
	if err != nil {
		r.say(skyerr.UserText(skyerr.Wrap(err, skyerr.Unknown, "Could not read the log of %s.", name)))
		return
	}
	if len(entries) == 0 {
		r.say(fmt.Sprintf("%s has logged nothing yet.", name))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Latest log of **%s** (newest first):\n", name)
	for _, e := range entries {
		line := fmt.Sprintf("`%s` %s %s", e.At.UTC().Format("2006-01-02 15:04:05"), strings.ToUpper(e.Level), e.Message)
		// Where it happened, from the stack the entry keeps.
		if at := extensions.StackPosition(e.Detail); at != "" && !strings.Contains(e.Message, at) {
			line += " (at " + at + ")"
		}
		if b.Len()+len(line) > 1900 {
			b.WriteString("…")
			break
		}
		b.WriteString(line + "\n")
	}
	r.say(strings.TrimRight(b.String(), "\n"))
}

// Option helpers.

func stringOption(sub *discordgo.ApplicationCommandInteractionDataOption, name string) string {
	for _, o := range sub.Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionString {
			return o.StringValue()
		}
	}
	return ""
}

func boolOption(sub *discordgo.ApplicationCommandInteractionDataOption, name string) bool {
	v, _ := boolOptionSet(sub, name)
	return v
}

func attachmentOption(data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption, name string) *discordgo.MessageAttachment {
	if data.Resolved == nil {
		return nil
	}
	for _, o := range sub.Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionAttachment {
			id, _ := o.Value.(string)
			return data.Resolved.Attachments[id]
		}
	}
	return nil
}
