package extensions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Interaction kinds an extension can receive.
const (
	InteractionCommand      = "command"
	InteractionAutocomplete = "autocomplete"
	InteractionComponent    = "component"
	InteractionModal        = "modal"
)

// ComponentPrefix starts the custom id of every component an extension
// sends: "sx:<extension>:<its own id>". The executor adds it, clicks are
// routed back by it, and the extension sees its own id.
const ComponentPrefix = "sx:"

// ComponentID is the custom id skybot puts on an extension's component.
func ComponentID(extension, id string) string { return ComponentPrefix + extension + ":" + id }

// ParseComponentID splits a custom id skybot made into the extension and
// the extension's own id.
func ParseComponentID(customID string) (extension, id string, ok bool) {
	rest, ok := strings.CutPrefix(customID, ComponentPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// InteractionEvent is one interaction for an extension, as plain data the
// bot layer copies out of the gateway event.
type InteractionEvent struct {
	Kind      string // one of the Interaction* kinds
	GuildID   string
	ChannelID string
	User      User
	// Member is the member module's data of the user (members_read).
	Member            map[string]any
	MemberPermissions int64
	MemberRoles       []string
	Interaction       Interaction

	// Commands and autocomplete.
	CommandName string
	Subcommand  string         // "group sub" or "sub", when used
	Options     map[string]any // by name; users, channels, roles and attachments as {id, type, ...}
	Focused     string         // autocomplete: the option being typed

	// Components and modals.
	CustomID  string            // the extension's own id (prefix removed)
	Extension string            // whose component it is
	Values    []string          // select menus
	Fields    map[string]string // modal text inputs by their custom id
	MessageID string            // the message whose component was used
}

// InteractionOutcome tells the bot layer what became of an interaction,
// so it can answer one that the extension left unanswered.
type InteractionOutcome struct {
	Handled   bool   // an extension of the guild owns it
	Extension string // which
	Failed    bool   // the run failed
	Message   string // why, in a sentence the user may see
}

// OnInteraction runs the extension that owns an interaction: the owner of
// a slash command (see GuildCommands), or the extension whose component
// was used. run is the per-run state the bot layer also uses (to defer on
// the extension's behalf when it is slow); nil makes a fresh one.
func (d *Dispatcher) OnInteraction(ctx context.Context, ev InteractionEvent, run *RunState) (InteractionOutcome, error) {
	view, err := d.m.view(ctx, store.GuildID(ev.GuildID))
	if err != nil {
		return InteractionOutcome{}, err
	}
	origin := Origin{
		GuildID: ev.GuildID, ChannelID: ev.ChannelID, UserID: ev.User.ID, MessageID: ev.MessageID,
		ByMember: true, MemberPermissions: ev.MemberPermissions, Trigger: ev.Kind, Run: run,
	}
	it := ev.Interaction
	it.Kind, it.MessageID = ev.Kind, ev.MessageID
	origin.Interaction = &it

	var (
		owner activeInstall
		reg   *sandbox.Registration
		found bool
	)
	switch ev.Kind {
	case InteractionCommand, InteractionAutocomplete:
		owners, _ := commandOwners(view)
		var ai activeInstall
		if ai, found = owners[ev.CommandName]; !found {
			return InteractionOutcome{}, nil
		}
		owner = ai
		if !ai.manifest.Legacy() {
			kind := sandbox.RegCommand
			if ev.Kind == InteractionAutocomplete {
				kind = sandbox.RegAutocomplete
			}
			reg = findReg(ai.regs, func(r sandbox.Registration) bool { return r.Kind == kind && r.Key == ev.CommandName })
			if reg == nil {
				return InteractionOutcome{Handled: true, Extension: ai.install.Name, Failed: true, Message: fmt.Sprintf("%s has no autocomplete for /%s.", ai.install.Name, ev.CommandName)}, nil
			}
		} else if ev.Kind == InteractionAutocomplete {
			return InteractionOutcome{Handled: true, Extension: ai.install.Name}, nil
		}
	case InteractionComponent, InteractionModal:
		for _, ai := range view.installs {
			if ai.install.Name != ev.Extension || ai.manifest.Legacy() {
				continue
			}
			owner, found = ai, true
			best := -1
			for i, r := range ai.regs {
				if r.Kind == sandbox.RegComponent && strings.HasPrefix(ev.CustomID, r.Key) && len(r.Key) > best {
					best, reg = len(r.Key), &ai.regs[i]
				}
			}
		}
		if !found {
			return InteractionOutcome{}, nil
		}
		if reg == nil {
			return InteractionOutcome{Handled: true, Extension: owner.install.Name, Failed: true,
				Message: fmt.Sprintf("%s no longer handles this button or form.", owner.install.Name)}, nil
		}
	default:
		return InteractionOutcome{}, fmt.Errorf("unknown interaction kind %q", ev.Kind)
	}

	if ev.Kind != InteractionAutocomplete && !owner.usableBy(ev.ChannelID, ev.MemberRoles) {
		return InteractionOutcome{Handled: true, Extension: owner.install.Name, Failed: true,
			Message: fmt.Sprintf("The server's admins do not let you use %s here.", owner.install.Name)}, nil
	}
	var sev sandbox.Event
	if owner.manifest.Legacy() {
		sev = slashEvent(ev, view.prefix, d.botUser(), d.m.now())
	} else {
		sev = handlerEvent(ev.Kind, *reg, "interaction", interactionContext(ev, sandbox.NewScopeSet(owner.install.GrantedScopes...)))
	}
	res := d.run(ctx, owner, view, sev, origin)
	out := InteractionOutcome{Handled: true, Extension: owner.install.Name}
	if f := res.Failure; f != nil {
		out.Failed = true
		out.Message = fmt.Sprintf("%s ran into an error; the server's admins can see it with /ext logs %s.", owner.install.Name, owner.install.Name)
	}
	return out, nil
}

func findReg(regs []sandbox.Registration, match func(sandbox.Registration) bool) *sandbox.Registration {
	for i := range regs {
		if match(regs[i]) {
			return &regs[i]
		}
	}
	return nil
}

// interactionContext is a handler's context data for an interaction.
func interactionContext(ev InteractionEvent, granted sandbox.ScopeSet) map[string]any {
	ctx := map[string]any{
		"guildId": ev.GuildID, "channelId": ev.ChannelID, "user": userData(ev.User),
		"interactionId": ev.Interaction.ID,
	}
	if ev.Member != nil && granted.Has("members_read") {
		ctx["member"] = ev.Member
	}
	switch ev.Kind {
	case InteractionCommand, InteractionAutocomplete:
		ctx["commandName"] = ev.CommandName
		ctx["options"] = orEmpty(ev.Options)
		if ev.Subcommand != "" {
			ctx["subcommand"] = ev.Subcommand
		}
		if ev.Focused != "" {
			ctx["focused"] = ev.Focused
		}
	default:
		ctx["customId"] = ev.CustomID
		ctx["messageId"] = ev.MessageID
		if ev.Values != nil {
			ctx["values"] = ev.Values
		}
		if ev.Fields != nil {
			ctx["fields"] = ev.Fields
		}
	}
	return ctx
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// slashEvent builds a legacy slash run's modules (part B 2.6, 3.6):
// interaction, plus bot and moment; guild, roles, config and the rest
// come from the module source.
func slashEvent(ev InteractionEvent, prefix string, bot User, now time.Time) sandbox.Event {
	sev := scheduleModules(TypeSlash, prefix, bot, now)
	var member any
	if ev.User.ID != "" {
		member = map[string]any{"id": ev.User.ID}
	}
	sev.Modules["interaction"] = mustJSON(map[string]any{
		"id": ev.Interaction.ID, "commandName": ev.CommandName, "guildId": ev.GuildID, "channelId": ev.ChannelID,
		"user":    map[string]any{"id": ev.User.ID, "username": ev.User.Username, "tag": ev.User.Username, "bot": ev.User.Bot},
		"member":  member,
		"options": orEmpty(ev.Options),
	})
	return sev
}

// SlashCommand is one guild command an extension asks skybot to register.
type SlashCommand struct {
	Extension                string
	Name                     string
	Description              string
	Options                  []SlashOption
	DefaultMemberPermissions *string // a decimal permission bitfield
}

// SlashOption is one option of a SlashCommand; Type is a slashOptionTypes
// name.
type SlashOption = slashOption

// SlashOptionType returns Discord's number for an option type name.
func SlashOptionType(name string) int { return slashOptionTypes[strings.ToLower(name)] }

// SlashChoiceValue is a choice's value (string or number).
type SlashChoice = slashChoice

// ReservedCommands are skybot's own slash command names: an extension can
// never take them.
var ReservedCommands = []string{"ext", "gallery", "review", "skybot"}

// commandOwners maps each extension slash command name of a guild to the
// install that owns it, by one rule: skybot's own names are reserved, and
// otherwise the earliest installed extension keeps a name. conflicts
// describes each loser, for the admin.
func commandOwners(view *guildView) (map[string]activeInstall, []string) {
	owners := map[string]activeInstall{}
	var conflicts []string
	claim := func(ai activeInstall, name string) {
		switch {
		case slices.Contains(ReservedCommands, name):
			conflicts = append(conflicts, fmt.Sprintf("/%s of %s is one of skybot's own commands; it was not registered", name, ai.install.Name))
		case owners[name].install.Name != "":
			conflicts = append(conflicts, fmt.Sprintf("/%s of %s is already %s's (installed first); it was not registered", name, ai.install.Name, owners[name].install.Name))
		default:
			owners[name] = ai
		}
	}
	for _, ai := range view.installs {
		if ai.loadErr != nil {
			continue
		}
		if ai.manifest.Legacy() {
			if ai.manifest.Type == TypeSlash && ai.manifest.Key != "" {
				claim(ai, strings.ToLower(ai.manifest.Key))
			}
			continue
		}
		for _, r := range ai.regs {
			if r.Kind == sandbox.RegCommand {
				claim(ai, r.Key)
			}
		}
	}
	return owners, conflicts
}

// GuildCommands returns the slash commands the guild's enabled extensions
// register, in install order, and a sentence for each one left out.
func (d *Dispatcher) GuildCommands(ctx context.Context, guild string) ([]SlashCommand, []string, error) {
	view, err := d.m.view(ctx, store.GuildID(guild))
	if err != nil {
		return nil, nil, err
	}
	owners, conflicts := commandOwners(view)
	var out []SlashCommand
	for _, ai := range view.installs {
		if ai.manifest.Legacy() {
			name := strings.ToLower(ai.manifest.Key)
			if o, ok := owners[name]; ok && o.install.ExtensionID == ai.install.ExtensionID && ai.manifest.Type == TypeSlash {
				desc := ai.manifest.SlashDescription
				if desc == "" {
					desc = ai.manifest.Description
				}
				out = append(out, SlashCommand{Extension: ai.install.Name, Name: name, Description: truncateRunes(desc, maxSlashDescription)})
			}
			continue
		}
		for _, r := range ai.regs {
			if r.Kind != sandbox.RegCommand {
				continue
			}
			if o, ok := owners[r.Key]; !ok || o.install.ExtensionID != ai.install.ExtensionID {
				continue
			}
			var def slashDefinition
			if err := json.Unmarshal(r.Command, &def); err != nil {
				continue // validated at load
			}
			out = append(out, SlashCommand{Extension: ai.install.Name, Name: def.Name, Description: def.Description,
				Options: def.Options, DefaultMemberPermissions: def.DefaultMemberPermissions})
		}
	}
	return out, conflicts, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	if len(r) == 0 {
		return "An extension command"
	}
	return s
}

// Watch registers f to hear of every change to a guild's installs (to
// re-register its slash commands, ...). f must not block.
func (m *Manager) Watch(f func(guild store.GuildID)) { m.watch(f) }

// Watch registers f to hear of every change to a guild's installs.
func (d *Dispatcher) Watch(f func(guild store.GuildID)) { d.m.watch(f) }

// commandConflicts says which slash commands of a version about to be
// installed (or updated to) in guild will not be registered, and why:
// skybot's own names are reserved, and a name another extension installed
// first keeps. The admin reads it on the consent card.
func (m *Manager) commandConflicts(ctx context.Context, guild store.GuildID, name string, man Manifest, regs []sandbox.Registration) []string {
	var names []string
	if man.Legacy() {
		if man.Type == TypeSlash && man.Key != "" {
			names = append(names, strings.ToLower(man.Key))
		}
	} else {
		for _, r := range regs {
			if r.Kind == sandbox.RegCommand {
				names = append(names, r.Key)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	view, err := m.view(ctx, guild)
	if err != nil {
		return nil
	}
	owners, _ := commandOwners(view)
	var out []string
	for _, n := range names {
		switch o, taken := owners[n]; {
		case slices.Contains(ReservedCommands, n):
			out = append(out, fmt.Sprintf("/%s is one of skybot's own commands, so this extension's /%s will not be registered", n, n))
		case taken && o.install.Name != name:
			out = append(out, fmt.Sprintf("/%s already belongs to %s (installed first), so this extension's /%s will not be registered while %s keeps it", n, o.install.Name, n, o.install.Name))
		}
	}
	return out
}
