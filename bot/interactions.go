package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// Extensions' interactions: their slash commands (registered per guild),
// autocomplete, and the components and modals of their messages (custom
// ids "sx:<extension>:..."). skybot's own commands come first.

// autoDeferAfter is how long an extension may take to answer an
// interaction before skybot defers it on its behalf: Discord drops an
// interaction not answered within 3 seconds.
const autoDeferAfter = 2500 * time.Millisecond

// isOwnInteraction reports whether skybot's own handlers should see i.
func (b *Bot) isOwnInteraction(i *discordgo.InteractionCreate) bool {
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		name := i.ApplicationCommandData().Name
		return b.opts.Interactions != nil && slices.ContainsFunc(b.opts.Interactions.Definitions(), func(c *discordgo.ApplicationCommand) bool { return c.Name == name })
	case discordgo.InteractionMessageComponent:
		return !strings.HasPrefix(i.MessageComponentData().CustomID, extensions.ComponentPrefix)
	case discordgo.InteractionModalSubmit:
		return !strings.HasPrefix(i.ModalSubmitData().CustomID, extensions.ComponentPrefix)
	}
	return true
}

// onExtensionInteraction runs the extension that owns i. When the
// extension is slow, skybot defers for it; when it ends without
// answering, skybot answers so the member is not left with "This
// interaction failed".
func (b *Bot) onExtensionInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) {
	if b.opts.Dispatcher == nil || i.GuildID == "" {
		return
	}
	ev, ok := interactionEventOf(s, i)
	if !ok {
		return
	}
	run := extensions.NewRunState()
	var timerMu sync.Mutex
	deferTimer := time.AfterFunc(b.autoDefer(), func() {
		timerMu.Lock()
		defer timerMu.Unlock()
		if ev.Kind == extensions.InteractionAutocomplete {
			return
		}
		if answered, _ := run.Answer(true); answered {
			return
		}
		typ := discordgo.InteractionResponseDeferredChannelMessageWithSource
		if ev.Kind == extensions.InteractionComponent {
			typ = discordgo.InteractionResponseDeferredMessageUpdate
		}
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: typ}, discordgo.WithContext(ctx)); err != nil {
			b.log.Warn("deferring for a slow extension failed", "guild_id", i.GuildID, "err", err)
		}
	})
	out, err := b.opts.Dispatcher.OnInteraction(ctx, ev, run)
	deferTimer.Stop()
	timerMu.Lock() // a deferral in flight finishes first
	timerMu.Unlock()
	if err != nil {
		b.log.Error("dispatch interaction", "guild_id", i.GuildID, "err", err)
		out = extensions.InteractionOutcome{Handled: true, Failed: true, Message: "skybot could not run this command; try again later."}
	}
	if !out.Handled {
		out = extensions.InteractionOutcome{Failed: true, Message: "This command belongs to no extension of this server any more."}
	}
	b.answerLeftover(ctx, s, i, ev, run, out)
}

func (b *Bot) autoDefer() time.Duration {
	if b.opts.AutoDeferAfter > 0 {
		return b.opts.AutoDeferAfter
	}
	return autoDeferAfter
}

// answerLeftover answers what the extension left unanswered: an error or
// a notice, ephemeral.
func (b *Bot) answerLeftover(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, ev extensions.InteractionEvent, run *extensions.RunState, out extensions.InteractionOutcome) {
	answered, deferred := run.Answered()
	var err error
	switch {
	case ev.Kind == extensions.InteractionAutocomplete:
		if !answered {
			err = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionApplicationCommandAutocompleteResult,
				Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
			}, discordgo.WithContext(ctx))
		}
	case !answered:
		msg := out.Message
		if !out.Failed {
			msg = fmt.Sprintf("%s did not answer.", out.Extension)
		}
		err = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: msg, Flags: discordgo.MessageFlagsEphemeral},
		}, discordgo.WithContext(ctx))
	case deferred && out.Failed && !interactionEdited(run):
		_, err = s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: out.Message, Flags: discordgo.MessageFlagsEphemeral}, discordgo.WithContext(ctx))
	}
	if err != nil {
		b.log.Warn("answering for an extension failed", "guild_id", i.GuildID, "ext", out.Extension, "err", err)
	}
}

// interactionEventOf copies an interaction into plain data.
func interactionEventOf(s *discordgo.Session, i *discordgo.InteractionCreate) (extensions.InteractionEvent, bool) {
	ev := extensions.InteractionEvent{
		GuildID: i.GuildID, ChannelID: i.ChannelID,
		Interaction: extensions.Interaction{ID: i.ID, Token: i.Token, AppID: i.AppID},
	}
	if i.Member != nil {
		ev.User = userOf(i.Member.User)
		ev.MemberPermissions = i.Member.Permissions
		ev.MemberRoles = i.Member.Roles
		ev.Member = map[string]any{"id": ev.User.ID, "nickname": nullable(i.Member.Nick), "roles": nonNil(i.Member.Roles), "user": extensions.UserData(ev.User)}
	} else {
		ev.User = userOf(i.User)
	}
	if i.Message != nil {
		ev.MessageID = i.Message.ID
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		data := i.ApplicationCommandData()
		ev.Kind = extensions.InteractionCommand
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			ev.Kind = extensions.InteractionAutocomplete
		}
		ev.CommandName = data.Name
		opts := data.Options
		var path []string
		for len(opts) == 1 && (opts[0].Type == discordgo.ApplicationCommandOptionSubCommand || opts[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
			path = append(path, opts[0].Name)
			opts = opts[0].Options
		}
		ev.Subcommand = strings.Join(path, " ")
		ev.Options = map[string]any{}
		for _, o := range opts {
			ev.Options[o.Name] = optionValue(o, data.Resolved)
			if o.Focused {
				ev.Focused = o.Name
			}
		}
	case discordgo.InteractionMessageComponent:
		data := i.MessageComponentData()
		ext, id, ok := extensions.ParseComponentID(data.CustomID)
		if !ok {
			return ev, false
		}
		ev.Kind, ev.Extension, ev.CustomID, ev.Values = extensions.InteractionComponent, ext, id, data.Values
	case discordgo.InteractionModalSubmit:
		data := i.ModalSubmitData()
		ext, id, ok := extensions.ParseComponentID(data.CustomID)
		if !ok {
			return ev, false
		}
		ev.Kind, ev.Extension, ev.CustomID = extensions.InteractionModal, ext, id
		ev.Fields = map[string]string{}
		for _, row := range data.Components {
			r, ok := row.(*discordgo.ActionsRow)
			if !ok {
				continue
			}
			for _, c := range r.Components {
				if in, ok := c.(*discordgo.TextInput); ok {
					_, own, _ := extensions.ParseComponentID(in.CustomID)
					if own == "" {
						own = in.CustomID
					}
					ev.Fields[own] = in.Value
				}
			}
		}
	default:
		return ev, false
	}
	return ev, true
}

// optionValue is an option's value as part B 3.6 shapes it.
func optionValue(o *discordgo.ApplicationCommandInteractionDataOption, res *discordgo.ApplicationCommandInteractionDataResolved) any {
	id, _ := o.Value.(string)
	switch o.Type {
	case discordgo.ApplicationCommandOptionUser:
		if res != nil && res.Members != nil {
			if _, ok := res.Members[id]; ok {
				return map[string]any{"id": id, "type": "member"}
			}
		}
		return map[string]any{"id": id, "type": "user"}
	case discordgo.ApplicationCommandOptionChannel:
		return map[string]any{"id": id, "type": "channel"}
	case discordgo.ApplicationCommandOptionRole:
		return map[string]any{"id": id, "type": "role"}
	case discordgo.ApplicationCommandOptionMentionable:
		return map[string]any{"id": id, "type": "mentionable"}
	case discordgo.ApplicationCommandOptionAttachment:
		out := map[string]any{"id": id, "type": "attachment"}
		if res != nil && res.Attachments != nil {
			if a, ok := res.Attachments[id]; ok {
				out["url"], out["name"] = a.URL, a.Filename
			}
		}
		return out
	case discordgo.ApplicationCommandOptionInteger:
		if f, ok := o.Value.(float64); ok {
			return int64(f)
		}
	}
	return o.Value
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SyncGuildCommands registers the guild's extension slash commands (a
// guild-scoped bulk overwrite), with skybot's own commands when they are
// registered in that guild too. Names left out by the conflict rule are
// logged.
func (b *Bot) SyncGuildCommands(ctx context.Context, guildID string) error {
	if b.opts.Dispatcher == nil {
		return nil
	}
	mu := b.guildLock(guildID)
	mu.Lock()
	defer mu.Unlock()
	cmds, conflicts, err := b.opts.Dispatcher.GuildCommands(ctx, guildID)
	if err != nil {
		return err
	}
	for _, c := range conflicts {
		b.log.Warn("extension slash command not registered", "guild_id", guildID, "reason", c)
	}
	var defs []*discordgo.ApplicationCommand
	if guildID == b.opts.CommandGuildID && b.opts.Interactions != nil {
		defs = append(defs, b.opts.Interactions.Definitions()...)
	}
	for _, c := range cmds {
		defs = append(defs, commandDefinition(c))
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID(), guildID, defs, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("register %d guild commands in %s: %w", len(defs), guildID, err)
	}
	return nil
}

func (b *Bot) appID() string {
	if b.s.State.Application != nil && b.s.State.Application.ID != "" {
		return b.s.State.Application.ID
	}
	return b.s.State.User.ID
}

func (b *Bot) guildLock(guildID string) *sync.Mutex {
	v, _ := b.syncLocks.LoadOrStore(guildID, &sync.Mutex{})
	return v.(*sync.Mutex)
}

// watchInstalls re-registers a guild's commands whenever its installs
// change, off the caller's goroutine.
func (b *Bot) watchInstalls(m interface{ Watch(func(store.GuildID)) }) {
	m.Watch(func(g store.GuildID) {
		b.bg.Add(1)
		go func() {
			defer b.bg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), b.opts.EventTimeout)
			defer cancel()
			if err := b.SyncGuildCommands(ctx, string(g)); err != nil {
				b.log.Warn("guild commands not updated", "guild_id", g, "err", err)
			}
		}()
	})
}

func commandDefinition(c extensions.SlashCommand) *discordgo.ApplicationCommand {
	def := &discordgo.ApplicationCommand{Name: c.Name, Description: c.Description, Options: commandOptions(c.Options)}
	if c.DefaultMemberPermissions != nil {
		if p, err := strconv.ParseInt(*c.DefaultMemberPermissions, 10, 64); err == nil {
			def.DefaultMemberPermissions = &p
		}
	}
	return def
}

func commandOptions(in []extensions.SlashOption) []*discordgo.ApplicationCommandOption {
	var out []*discordgo.ApplicationCommandOption
	for _, o := range in {
		opt := &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionType(extensions.SlashOptionType(o.Type)),
			Name: o.Name, Description: o.Description, Required: o.Required, Autocomplete: o.Autocomplete,
			MinValue: o.MinValue, MinLength: o.MinLength, Options: commandOptions(o.Options),
		}
		if o.MaxValue != nil {
			opt.MaxValue = *o.MaxValue
		}
		if o.MaxLength != nil {
			opt.MaxLength = *o.MaxLength
		}
		for _, ch := range o.Choices {
			opt.Choices = append(opt.Choices, &discordgo.ApplicationCommandOptionChoice{Name: ch.Name, Value: ch.Value})
		}
		out = append(out, opt)
	}
	return out
}
