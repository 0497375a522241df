package commands

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

var errNeedManage = skyerr.New(skyerr.Forbidden, "You need the Manage Server permission to manage extensions.")

// canManage reports whether the member behind i may manage extensions.
func canManage(i *discordgo.InteractionCreate) bool {
	return i.Member != nil && i.Member.Permissions&(manageServer|discordgo.PermissionAdministrator) != 0
}

// Buttons of a consent card carry the plan id: skybot:plan:apply:<id>.
const (
	applyPrefix  = "skybot:plan:apply:"
	cancelPrefix = "skybot:plan:cancel:"
)

// consentText is the card an admin reads before accepting a plan: what
// changes, and each scope it grants in plain words with its risk.
func consentText(p *extensions.Plan) string {
	var b strings.Builder
	b.WriteString(p.Describe() + "\n")
	if p.Kind == extensions.PlanInstall {
		if len(p.Manifest.Scopes) == 0 {
			b.WriteString("It asks for no scopes: it may run, but it cannot act on this server.\n")
		} else {
			b.WriteString("It asks to:\n")
			writeScopes(&b, p.Scopes())
		}
	} else {
		if len(p.AddedScopes) > 0 {
			b.WriteString("It asks for new scopes:\n")
			writeScopes(&b, describe(p.AddedScopes))
		}
		if len(p.RemovedScopes) > 0 {
			fmt.Fprintf(&b, "It no longer needs: %s.\n", codeList(p.RemovedScopes))
		}
	}
	for _, d := range p.Dependencies {
		fmt.Fprintf(&b, "It brings **%s** %s from the gallery (required by %s), which ", d.Manifest.Name, d.Manifest.Version, strings.Join(d.RequiredBy, ", "))
		if len(d.Manifest.Scopes) == 0 {
			b.WriteString("asks for no scopes.\n")
		} else {
			b.WriteString("asks to:\n")
			writeScopes(&b, describe(d.Manifest.Scopes))
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "Note: %s.\n", w)
	}
	if p.NeedsConsent() {
		fmt.Fprintf(&b, "Nothing runs until you accept (this request expires <t:%d:R>).", p.Expires.Unix())
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeScopes(b *strings.Builder, scopes []sandbox.Scope) {
	for _, sc := range scopes {
		fmt.Fprintf(b, "• `%s` — %s", sc.Name, sc.Describe)
		if sc.Risk != "" {
			fmt.Fprintf(b, " ⚠️ %s", sc.Risk)
		}
		b.WriteString("\n")
	}
}

func describe(names []string) []sandbox.Scope {
	var out []sandbox.Scope
	for _, n := range names {
		if sc, ok := sandbox.LookupScope(n); ok {
			out = append(out, sc)
		}
	}
	return out
}

func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

func consentButtons(p *extensions.Plan) []discordgo.MessageComponent {
	label := map[extensions.PlanKind]string{
		extensions.PlanInstall: "Install", extensions.PlanUpdate: "Update", extensions.PlanRollback: "Roll back",
	}[p.Kind]
	if len(p.Dependencies) > 0 {
		label = fmt.Sprintf("Install all %d", 1+len(p.Dependencies))
	}
	if grantsScopes(p) && p.NeedsConsent() {
		label += " and grant these scopes"
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: label, Style: discordgo.SuccessButton, CustomID: applyPrefix + p.ID},
		discordgo.Button{Label: "Cancel", Style: discordgo.SecondaryButton, CustomID: cancelPrefix + p.ID},
	}}}
}

// grantsScopes reports whether accepting p grants any scope, its own or
// those of what it brings with it.
func grantsScopes(p *extensions.Plan) bool {
	if len(p.Manifest.Scopes) > 0 {
		return true
	}
	return slices.ContainsFunc(p.Dependencies, func(d *extensions.Dependency) bool { return len(d.Manifest.Scopes) > 0 })
}

// appliedText tells the admin what a plan did.
func appliedText(p *extensions.Plan) string {
	man := p.Manifest
	switch p.Kind {
	case extensions.PlanInstall:
		s := fmt.Sprintf("Installed **%s** %s — %s.", man.Name, man.Version, extensions.DescribeTrigger(man))
		if len(man.Scopes) > 0 {
			s += " Granted: " + codeList(man.Scopes) + "."
		}
		for _, d := range p.Dependencies {
			s += fmt.Sprintf("\nWith it: **%s** %s", d.Manifest.Name, d.Manifest.Version)
			if len(d.Manifest.Scopes) > 0 {
				s += ", granted " + codeList(d.Manifest.Scopes)
			}
			s += "."
		}
		return s
	case extensions.PlanUpdate:
		return fmt.Sprintf("Updated **%s** %s → %s.", man.Name, p.From, man.Version)
	}
	return fmt.Sprintf("Rolled **%s** back %s → %s; its stored data is unchanged.", man.Name, p.From, man.Version)
}

// handleButton answers a click on a consent card: only someone who may
// manage extensions can accept or cancel, and the card updates in place.
func (x *Ext) handleButton(r *responder, i *discordgo.InteractionCreate) bool {
	id := i.MessageComponentData().CustomID
	var apply bool
	var planID string
	switch {
	case strings.HasPrefix(id, applyPrefix):
		apply, planID = true, strings.TrimPrefix(id, applyPrefix)
	case strings.HasPrefix(id, cancelPrefix):
		planID = strings.TrimPrefix(id, cancelPrefix)
	case strings.HasPrefix(id, uninstallPrefix):
		x.uninstallButton(r, i, strings.TrimPrefix(id, uninstallPrefix))
		return true
	default:
		return false
	}
	if !canManage(i) {
		r.say(skyerr.UserText(errNeedManage))
		return true
	}
	if !apply {
		x.manager.Discard(planID)
		r.update("Cancelled; nothing was changed.")
		return true
	}
	actor := store.UserID(i.Member.User.ID)
	p, err := x.manager.Apply(r.ctx, store.GuildID(i.GuildID), actor, planID)
	if err != nil {
		x.log.Info("apply refused", "guild_id", i.GuildID, "plan", planID, "err", err)
		r.update(skyerr.UserText(err))
		return true
	}
	r.update(appliedText(p))
	return true
}

// plan defers, makes a plan, then either shows the consent card or, when
// no new scope is involved, applies it and says what changed.
func (x *Ext) plan(r *responder, make func() (*extensions.Plan, error)) {
	if !r.defer_() {
		return
	}
	p, err := make()
	if err != nil {
		r.edit(skyerr.UserText(err), nil)
		return
	}
	if p.NeedsConsent() {
		r.edit(consentText(p), consentButtons(p))
		return
	}
	applied, err := x.manager.Apply(r.ctx, p.Guild, p.Actor, p.ID)
	if err != nil {
		r.edit(skyerr.UserText(err), nil)
		return
	}
	text := appliedText(applied)
	if len(applied.RemovedScopes) > 0 {
		text += " No longer granted: " + codeList(applied.RemovedScopes) + "."
	}
	r.edit(text, nil)
}

func (x *Ext) setEnabled(r *responder, guild store.GuildID, actor store.UserID, name string, enabled bool) {
	in, err := x.manager.SetEnabled(r.ctx, guild, actor, name, enabled)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if enabled {
		r.say(fmt.Sprintf("Enabled **%s** %s.", in.Name, in.Version))
		return
	}
	r.say(fmt.Sprintf("Disabled **%s** %s: it receives no events until you enable it; its data is kept.", in.Name, in.Version))
}

func (x *Ext) info(r *responder, guild store.GuildID, name string) {
	info, err := x.manager.Info(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	in, man := info.Install, info.Manifest
	var b strings.Builder
	state := "enabled"
	if !in.Enabled {
		state = "disabled"
	}
	fmt.Fprintf(&b, "**%s** %s — %s\n", man.Name, man.Version, state)
	if man.Description != "" {
		b.WriteString(man.Description + "\n")
	}
	fmt.Fprintf(&b, "Trigger: %s\n", extensions.DescribeTrigger(man))
	if len(in.GrantedScopes) > 0 {
		fmt.Fprintf(&b, "Granted: %s\n", codeList(in.GrantedScopes))
	} else {
		b.WriteString("Granted: no scopes\n")
	}
	fmt.Fprintf(&b, "Installed by <@%s> <t:%d:R>; versions here: %s\n", in.InstalledBy, in.InstalledAt.Unix(), strings.Join(info.Versions, ", "))
	b.WriteString("History:\n")
	for _, h := range info.History {
		fmt.Fprintf(&b, "• <t:%d:f> %s by <@%s>\n", h.At.Unix(), h.Action, h.ActorID)
	}
	r.say(strings.TrimRight(b.String(), "\n"))
}

// autocomplete offers the installed extensions whose name starts with what
// the admin typed (at most 25, Discord's limit).
func (x *Ext) autocomplete(r *responder, i *discordgo.InteractionCreate) {
	typed, sub, focused := "", "", ""
	for _, o := range i.ApplicationCommandData().Options {
		for _, opt := range o.Options {
			if opt.Focused {
				typed, sub, focused = strings.ToLower(opt.StringValue()), o.Name, opt.Name
			}
		}
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	guild := store.GuildID(i.GuildID)
	switch {
	case !canManage(i):
	case sub == "install" && focused == "extension":
		choices = x.publishedChoices(r.ctx, typed)
	case sub == "update":
		choices = x.updateChoices(r.ctx, guild, focused, typed, subOption(i.ApplicationCommandData(), sub))
	default:
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		defer cancel()
		choices = x.installedChoices(ctx, guild, typed)
	}
	r.choices(choices)
}

// installedChoices offers the installed extensions whose name starts with
// typed.
func (x *Ext) installedChoices(ctx context.Context, guild store.GuildID, typed string) []*discordgo.ApplicationCommandOptionChoice {
	ins, err := x.manager.List(ctx, guild)
	if err != nil {
		x.log.Warn("autocomplete", "guild_id", guild, "err", err)
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	for _, in := range ins {
		if strings.HasPrefix(in.Name, typed) && len(choices) < 25 {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: in.Name + " " + in.Version, Value: in.Name})
		}
	}
	return choices
}

// subOption is the subcommand called name of a command's options.
func subOption(data discordgo.ApplicationCommandInteractionData, name string) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range data.Options {
		if o.Name == name {
			return o
		}
	}
	return &discordgo.ApplicationCommandInteractionDataOption{}
}

// publishedChoices offers the gallery's published extensions matching
// what was typed (before any "@version"), best rated first.
func (x *Ext) publishedChoices(ctx context.Context, typed string) []*discordgo.ApplicationCommandOptionChoice {
	if x.gallery == nil {
		return nil
	}
	name, _, _ := strings.Cut(typed, "@")
	return galleryChoices(ctx, x.gallery, x.log, name)
}

// galleryChoices offers the listed gallery extensions matching typed, best
// rated first: "name version — description", clipped to Discord's 100
// characters, the name as the value. A failed search offers nothing and
// is logged.
func galleryChoices(ctx context.Context, g *extensions.Gallery, log *slog.Logger, typed string) []*discordgo.ApplicationCommandOptionChoice {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	listings, err := g.Search(ctx, typed, "", "", 25)
	if err != nil {
		log.Warn("autocomplete from the gallery", "err", err)
		return nil
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	for _, l := range listings {
		label := l.Extension.Name + " " + l.Version.Version
		if d := l.Manifest.Description; d != "" {
			label += " — " + d
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, 100), Value: l.Extension.Name})
	}
	return choices
}

func (x *Ext) logChannel(r *responder, guild store.GuildID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	channel := ""
	for _, o := range sub.Options {
		if o.Name == "channel" && o.Type == discordgo.ApplicationCommandOptionChannel {
			channel, _ = o.Value.(string)
		}
	}
	if err := x.manager.SetLogChannel(r.ctx, guild, channel); err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if channel == "" {
		r.say("Extension events are no longer posted in a channel.")
		return
	}
	r.say(fmt.Sprintf("Extension installs, updates, failures, suspensions and moderation-log entries will be posted in <#%s>.", channel))
}

func (x *Ext) status(r *responder, guild store.GuildID) {
	st, err := x.manager.Status(r.ctx, guild)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(st) == 0 {
		r.say("No extensions are installed on this server.")
		return
	}
	var b strings.Builder
	b.WriteString("Extensions on this server (failures in the last 24 hours):\n")
	for _, s := range st {
		icon, state := "🟢", "running"
		switch {
		case !s.Install.Enabled:
			icon, state = "⏸️", "disabled"
		case s.Errors > 0:
			icon = "🟠"
		}
		fmt.Fprintf(&b, "%s **%s** %s — %s, %d failure(s)", icon, s.Install.Name, s.Install.Version, state, s.Errors)
		if s.Last != "" {
			fmt.Fprintf(&b, "; latest <t:%d:R>: %s", s.LastAt.Unix(), truncate(s.Last, 200))
		}
		b.WriteString("\n")
	}
	r.say(strings.TrimRight(b.String(), "\n"))
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func (x *Ext) export(r *responder, guild store.GuildID, name, format string) {
	data, filename, err := x.manager.Export(r.ctx, guild, name, format)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if format == "" {
		format = extensions.PackageV2
	}
	r.sayFile(fmt.Sprintf("**%s** as a %s package.", name, format), filename, data)
}

// policy shows the guild's policy, or changes the parts given. Changing it
// needs Administrator: a policy restrains the Manage Server admins.
func (x *Ext) policy(r *responder, i *discordgo.InteractionCreate, guild store.GuildID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	p, err := x.manager.Policy(r.ctx, guild)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(sub.Options) > 0 {
		if i.Member.Permissions&discordgo.PermissionAdministrator == 0 {
			r.say(skyerr.UserText(skyerr.New(skyerr.Forbidden, "Changing the extension policy needs the Administrator permission.")))
			return
		}
		for _, o := range sub.Options {
			switch o.Name {
			case "uploads":
				p.NoUploads = !o.BoolValue()
			case "max_installs":
				p.MaxInstalls = int(o.IntValue())
			case "negative_balances":
				p.NegativeBalances = o.BoolValue()
			case "timeout_ms":
				p.TimeoutMS = o.IntValue()
			case "max_host_calls":
				p.MaxHostCalls = int(o.IntValue())
			case "auto_update":
				p.AutoUpdate = o.StringValue()
				if p.AutoUpdate == "default" {
					p.AutoUpdate = ""
				}
			case "scopes":
				p.AllowedScopes = nil
				if v := strings.TrimSpace(o.StringValue()); !strings.EqualFold(v, "all") {
					p.AllowedScopes = []string{}
					for _, s := range strings.Split(v, ",") {
						if s = strings.TrimSpace(s); s != "" {
							p.AllowedScopes = append(p.AllowedScopes, s)
						}
					}
				}
			}
		}
		if err := x.manager.SetPolicy(r.ctx, guild, p); err != nil {
			r.say(skyerr.UserText(err))
			return
		}
	}
	var b strings.Builder
	b.WriteString("Extension policy of this server:\n")
	uploads := "allowed"
	if p.NoUploads {
		uploads = "not allowed"
	}
	fmt.Fprintf(&b, "• Installing attached files: %s\n", uploads)
	if p.AllowedScopes == nil {
		b.WriteString("• Scopes: any\n")
	} else if len(p.AllowedScopes) == 0 {
		b.WriteString("• Scopes: none (only extensions that ask for no scope)\n")
	} else {
		fmt.Fprintf(&b, "• Scopes: only %s\n", codeList(p.AllowedScopes))
	}
	if p.MaxInstalls > 0 {
		fmt.Fprintf(&b, "• At most %d extensions (or the tier's limit, if lower)", p.MaxInstalls)
	} else {
		b.WriteString("• Installs: the tier's limit")
	}
	if p.TimeoutMS > 0 {
		fmt.Fprintf(&b, "\n• A run may take at most %d ms (or the tier's limit, if lower)", p.TimeoutMS)
	}
	if p.MaxHostCalls > 0 {
		fmt.Fprintf(&b, "\n• A run may make at most %d host calls (or the tier's limit, if lower)", p.MaxHostCalls)
	}
	track, whose := p.AutoUpdate, "this server's choice"
	if track == "" {
		track, whose = x.manager.DefaultTrack(), "skybot's default"
	}
	fmt.Fprintf(&b, "\n• Auto-update: %s (%s)", trackWords[track], whose)
	if p.NegativeBalances {
		b.WriteString("\n• Economy: extensions may take balances below zero")
	} else {
		b.WriteString("\n• Economy: balances never go below zero")
	}
	r.say(b.String())
}

// trackWords says what each auto-update track does.
var trackWords = map[string]string{
	extensions.TrackNone:  "off; newer gallery versions wait for /ext update",
	extensions.TrackPatch: "patch versions (x.y.Z) install themselves unless they ask for new scopes",
	extensions.TrackMinor: "minor and patch versions (x.Y.Z) install themselves unless they ask for new scopes",
}
