package commands

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// /ext config opens a form (a modal) of an extension's settings;
// /ext permissions shows or sets where, and for whom, its commands run.

// configPrefix starts the custom id of a settings form:
// skybot:config:<extension>:<page>. It must not start with
// extensions.ComponentPrefix, which routes to extensions.
const configPrefix = "skybot:config:"

// Discord's limits on a modal.
const (
	modalInputs      = 5   // text inputs in one modal
	modalTitleLen    = 45  // characters of a modal's title
	inputLabelLen    = 45  // characters of a text input's label
	inputHintLen     = 100 // characters of a text input's placeholder
	inputValueLen    = 4000
	shortInputMaxLen = extensions.MaxTextSetting
)

// Placeholders of a secret's input: its value is never shown.
const (
	secretSetHint   = "set — leave empty to keep"
	secretUnsetHint = "not set"
)

func configOptions() []*discordgo.ApplicationCommandOption {
	first := 1.0
	return []*discordgo.ApplicationCommandOption{nameOpt(), {
		Type: discordgo.ApplicationCommandOptionInteger, Name: "page", MinValue: &first,
		Description: "Which five settings to show (1: the first five)",
	}}
}

func permissionsOptions() []*discordgo.ApplicationCommandOption {
	return []*discordgo.ApplicationCommandOption{
		nameOpt(),
		{Type: discordgo.ApplicationCommandOptionString, Name: "channels",
			Description: "Where its commands run and it may send: #channels or ids, or all"},
		{Type: discordgo.ApplicationCommandOptionString, Name: "roles",
			Description: "Who may use its commands: @roles or ids (commas between names with spaces), or all"},
		{Type: discordgo.ApplicationCommandOptionBoolean, Name: "member_checks",
			Description: "Actions its commands start need the member's own Discord permission (default True)"},
	}
}

// config opens the settings form of an extension, five settings a page.
func (x *Ext) config(r *responder, guild store.GuildID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	name := stringOption(sub, "name")
	view, err := x.manager.Config(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	if len(view.Fields) == 0 {
		r.say(fmt.Sprintf("**%s** %s declares no settings; there is nothing to configure.", view.Name, view.Version))
		return
	}
	pages := (len(view.Fields) + modalInputs - 1) / modalInputs
	page := 1
	if p, ok := intOption(sub, "page"); ok {
		page = int(p)
	}
	if page < 1 || page > pages {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "%s has %d settings on %d page(s); there is no page %d.", view.Name, len(view.Fields), pages, page)))
		return
	}
	r.modal(configModal(view, page, pages))
}

// configModal is page (from 1) of the settings form: the current value
// of each setting, never a secret's.
func configModal(v extensions.ConfigView, page, pages int) *discordgo.InteractionResponseData {
	title := "Settings of " + v.Name
	if pages > 1 {
		title += fmt.Sprintf(" (%d/%d)", page, pages)
	}
	fields := v.Fields[(page-1)*modalInputs : min(page*modalInputs, len(v.Fields))]
	rows := make([]discordgo.MessageComponent, 0, len(fields))
	for _, f := range fields {
		in := discordgo.TextInput{
			CustomID: f.ID, Label: clip(f.Name(), inputLabelLen),
			Style: discordgo.TextInputShort, MaxLength: shortInputMaxLen,
		}
		switch {
		case f.Secret():
			in.MaxLength = inputValueLen
			in.Placeholder = secretUnsetHint
			if v.SecretSet(f.ID) {
				in.Placeholder = secretSetHint
			}
		default:
			if f.Type == extensions.SettingTextarea {
				in.Style, in.MaxLength = discordgo.TextInputParagraph, extensions.MaxTextareaSetting
			}
			in.Value = clip(f.FormatInput(v.Values[f.ID]), in.MaxLength)
			in.Placeholder = clip(inputHint(f), inputHintLen)
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{in}})
	}
	return &discordgo.InteractionResponseData{
		CustomID:   configPrefix + v.Name + ":" + strconv.Itoa(page),
		Title:      clip(title, modalTitleLen),
		Components: rows,
	}
}

// inputHint is a setting's placeholder: its help, its declared
// placeholder, or what its type takes.
func inputHint(f extensions.SettingField) string {
	for _, s := range []string{f.Help, f.Placeholder} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	hint := f.Hint()
	if _, ok := f.Current(nil); ok {
		hint += " (empty: the default)"
	}
	return hint
}

// handleModal applies a submitted settings form. It reports false for a
// modal that is not skybot's.
func (x *Ext) handleModal(r *responder, i *discordgo.InteractionCreate) bool {
	data := i.ModalSubmitData()
	rest, ok := strings.CutPrefix(data.CustomID, configPrefix)
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, ":")
	if i.GuildID == "" || i.Member == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidState, "Extensions are managed inside a server, not in DMs.")))
		return true
	}
	if !canManage(i) {
		r.say(skyerr.UserText(errNeedManage))
		return true
	}
	guild, actor := store.GuildID(i.GuildID), store.UserID(i.Member.User.ID)
	values := modalValues(data)
	before, err := x.manager.Config(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return true
	}
	dir := &directory{s: r.s, ctx: r.ctx, guildID: i.GuildID}
	if err := checkConfigRefs(dir, before.Fields, values); err != nil {
		r.say(skyerr.UserText(err))
		return true
	}
	if err := x.manager.SetConfig(r.ctx, guild, actor, name, values); err != nil {
		x.log.Info("config refused", "guild_id", guild, "ext", name, "err", err)
		r.say(skyerr.UserText(err))
		return true
	}
	after, err := x.manager.Config(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return true
	}
	r.sayQuiet(configChanges(before, after, values))
	return true
}

// modalValues are a submitted modal's text inputs by custom id.
func modalValues(data discordgo.ModalSubmitInteractionData) map[string]string {
	values := map[string]string{}
	for _, c := range data.Components {
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range row.Components {
			if in, ok := c.(*discordgo.TextInput); ok {
				values[in.CustomID] = in.Value
			}
		}
	}
	return values
}

// checkConfigRefs refuses a channel or role setting that names a channel
// or role of another server. Malformed input is left to SetConfig.
func checkConfigRefs(dir *directory, fields extensions.SettingsSchema, values map[string]string) error {
	for _, f := range fields {
		text := strings.TrimSpace(values[f.ID])
		if text == "" || (f.Type != extensions.SettingChannelSelect && f.Type != extensions.SettingRoleSelect) {
			continue
		}
		raw, err := f.FromInput(text)
		if err != nil {
			continue
		}
		typed, _ := f.Typed(raw)
		id, _ := typed.(string)
		roles := f.Type == extensions.SettingRoleSelect
		found, err := dir.lookup(roles, func(e dirEntry) bool { return e.id == id })
		if err != nil {
			return err
		}
		if len(found) == 0 {
			what := map[bool]string{false: "channel", true: "role"}[roles]
			return skyerr.New(skyerr.InvalidConfig, "The setting %q is not valid: there is no %s with id %s in this server. Nothing was changed.", f.Name(), what, id)
		}
	}
	return nil
}

// configChanges says what a submitted form changed; a secret's value is
// never repeated.
func configChanges(before, after extensions.ConfigView, values map[string]string) string {
	var lines []string
	for _, f := range after.Fields {
		text, given := values[f.ID]
		if !given {
			continue
		}
		if f.Secret() {
			if strings.TrimSpace(text) != "" {
				lines = append(lines, "• "+f.Name()+": set")
			}
			continue
		}
		was, hadValue := before.Values[f.ID]
		now, hasValue := after.Values[f.ID]
		if hadValue == hasValue && reflect.DeepEqual(was, now) {
			continue
		}
		shown := "no value"
		if hasValue {
			shown = showValue(f, now)
		}
		if strings.TrimSpace(text) == "" {
			shown = "back to the default (" + shown + ")"
		}
		lines = append(lines, "• "+f.Name()+": "+shown)
	}
	if len(lines) == 0 {
		return fmt.Sprintf("Nothing changed in the settings of **%s**.", after.Name)
	}
	return fmt.Sprintf("Saved the settings of **%s**:\n%s", after.Name, strings.Join(lines, "\n"))
}

// showValue renders a typed value for the admin: channels and roles as
// mentions, long text clipped.
func showValue(f extensions.SettingField, v any) string {
	s := f.FormatInput(v)
	switch f.Type {
	case extensions.SettingChannelSelect:
		return "<#" + s + ">"
	case extensions.SettingRoleSelect:
		return "<@&" + s + ">"
	}
	if s == "" {
		return "(empty)"
	}
	return clip(s, 200)
}

// permissions shows an install's permissions, or changes the parts given.
func (x *Ext) permissions(r *responder, guild store.GuildID, actor store.UserID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	name := stringOption(sub, "name")
	p, err := x.manager.Permissions(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	dir := &directory{s: r.s, ctx: r.ctx, guildID: string(guild)}
	changed := false
	for _, o := range sub.Options {
		switch o.Name {
		case "channels":
			if p.Channels, err = dir.channelIDs(o.StringValue()); err != nil {
				r.say(skyerr.UserText(err))
				return
			}
		case "roles":
			if p.Roles, err = dir.roleIDs(o.StringValue()); err != nil {
				r.say(skyerr.UserText(err))
				return
			}
		case "member_checks":
			p.NoMemberChecks = !o.BoolValue()
		default:
			continue
		}
		changed = true
	}
	if changed {
		if err := x.manager.SetPermissions(r.ctx, guild, actor, name, p); err != nil {
			r.say(skyerr.UserText(err))
			return
		}
		// Read back what was stored.
		if p, err = x.manager.Permissions(r.ctx, guild, name); err != nil {
			r.say(skyerr.UserText(err))
			return
		}
		r.sayQuiet("Saved. " + describePermissions(name, p))
		return
	}
	r.sayQuiet(describePermissions(name, p) + fmt.Sprintf(
		"\nChange them with `/ext permissions name:%s` and channels, roles or member_checks; `all` clears a list.", name))
}

// describePermissions says in plain words what an install may do.
func describePermissions(name string, p store.InstallPermissions) string {
	where, send := "in every channel", "it sends and reads only in the channel of its event (more with the `messages_global` scope)"
	if len(p.Channels) > 0 {
		channels := mentions("<#%s>", p.Channels)
		where = "in " + channels
		send = "it may send and read in " + channels + " as well as in the channel of its event"
	}
	who := "for everyone"
	if len(p.Roles) > 0 {
		who = "for members with " + mentions("<@&%s>", p.Roles)
		if len(p.Roles) > 1 {
			who = "for members with any of " + mentions("<@&%s>", p.Roles)
		}
	}
	checks := "actions its commands start need the member's own Discord permission"
	if p.NoMemberChecks {
		checks = "actions its commands start go ahead with skybot's own permissions, whatever the member's (member checks are off)"
	}
	return fmt.Sprintf("Commands of **%s** run %s %s; %s; %s.", name, where, who, send, checks)
}

func mentions(format string, ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf(format, id)
	}
	return strings.Join(out, ", ")
}

// directory resolves what an admin typed to the guild's channels and
// roles: from the session's state first, from REST when the state has
// no match (it may lag behind, or be off).
type directory struct {
	s       *discordgo.Session
	ctx     context.Context
	guildID string

	loaded, fromREST bool
	channels, roles  []dirEntry
}

// dirEntry is a channel or a role.
type dirEntry struct {
	id, name string
	category bool
}

// lookup returns the roles (or channels) that match.
func (d *directory) lookup(roles bool, match func(dirEntry) bool) ([]dirEntry, error) {
	if !d.loaded {
		d.loadState()
		d.loaded = true
	}
	filter := func() []dirEntry {
		list := d.channels
		if roles {
			list = d.roles
		}
		var out []dirEntry
		for _, e := range list {
			if match(e) {
				out = append(out, e)
			}
		}
		return out
	}
	found := filter()
	if len(found) == 0 && !d.fromREST {
		if err := d.loadREST(); err != nil {
			return nil, err
		}
		found = filter()
	}
	return found, nil
}

func (d *directory) loadState() {
	if d.s.State == nil {
		return
	}
	g, err := d.s.State.Guild(d.guildID)
	if err != nil {
		return
	}
	d.s.State.RLock()
	defer d.s.State.RUnlock()
	for _, c := range g.Channels {
		d.channels = append(d.channels, dirEntry{id: c.ID, name: c.Name, category: c.Type == discordgo.ChannelTypeGuildCategory})
	}
	for _, r := range g.Roles {
		d.roles = append(d.roles, dirEntry{id: r.ID, name: r.Name})
	}
}

func (d *directory) loadREST() error {
	d.fromREST = true
	chs, err := d.s.GuildChannels(d.guildID, discordgo.WithContext(d.ctx))
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read the channels of this server.")
	}
	roles, err := d.s.GuildRoles(d.guildID, discordgo.WithContext(d.ctx))
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read the roles of this server.")
	}
	d.channels, d.roles = nil, nil
	for _, c := range chs {
		d.channels = append(d.channels, dirEntry{id: c.ID, name: c.Name, category: c.Type == discordgo.ChannelTypeGuildCategory})
	}
	for _, r := range roles {
		d.roles = append(d.roles, dirEntry{id: r.ID, name: r.Name})
	}
	return nil
}

// clearsList reports input that lifts a limit.
func clearsList(input string) bool {
	return strings.EqualFold(input, "all") || strings.EqualFold(input, "none")
}

// channelIDs reads channel mentions, ids or #names, separated by spaces
// or commas; all (or none) is no limit.
func (d *directory) channelIDs(input string) ([]string, error) {
	input = strings.TrimSpace(input)
	if clearsList(input) {
		return nil, nil
	}
	var ids []string
	for _, tok := range strings.FieldsFunc(input, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' }) {
		var found []dirEntry
		var err error
		id, isID := mentionID(tok, "<#")
		if isID {
			found, err = d.lookup(false, func(e dirEntry) bool { return e.id == id })
		} else {
			n := strings.TrimPrefix(tok, "#")
			found, err = d.lookup(false, func(e dirEntry) bool { return strings.EqualFold(e.name, n) })
		}
		switch {
		case err != nil:
			return nil, err
		case len(found) == 0 && isID:
			return nil, skyerr.New(skyerr.InvalidID, "There is no channel with id %s in this server.", id)
		case len(found) == 0:
			return nil, skyerr.New(skyerr.InvalidID, "There is no channel named %s in this server.", tok)
		case len(found) > 1:
			return nil, skyerr.New(skyerr.InvalidID, "%d channels are named %s; name it by its mention or id instead.", len(found), tok)
		case found[0].category:
			return nil, skyerr.New(skyerr.InvalidID, "%s is a category; name its channels instead.", found[0].name)
		}
		ids = append(ids, found[0].id)
	}
	return ids, nil
}

// roleIDs reads role mentions, ids or @names, separated by spaces or
// commas (commas when a name holds spaces); all (or none, or @everyone)
// is no limit.
func (d *directory) roleIDs(input string) ([]string, error) {
	input = strings.TrimSpace(input)
	if clearsList(input) {
		return nil, nil
	}
	byName := func(n string) func(dirEntry) bool {
		n = strings.TrimPrefix(n, "@")
		return func(e dirEntry) bool { return strings.EqualFold(strings.TrimPrefix(e.name, "@"), n) }
	}
	var ids []string
	everyone := false
	add := func(e dirEntry) {
		if e.id == d.guildID { // @everyone: every member holds it
			everyone = true
			return
		}
		ids = append(ids, e.id)
	}
	for _, part := range strings.Split(input, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		// A whole part may be one name with spaces.
		if _, isID := mentionID(part, "<@&"); !isID && strings.ContainsAny(part, " \t") {
			found, err := d.lookup(true, byName(part))
			if err != nil {
				return nil, err
			}
			if len(found) == 1 {
				add(found[0])
				continue
			}
		}
		for _, tok := range strings.Fields(part) {
			var found []dirEntry
			var err error
			id, isID := mentionID(tok, "<@&")
			if isID {
				found, err = d.lookup(true, func(e dirEntry) bool { return e.id == id })
			} else {
				found, err = d.lookup(true, byName(tok))
			}
			switch {
			case err != nil:
				return nil, err
			case len(found) == 0 && isID:
				return nil, skyerr.New(skyerr.InvalidID, "There is no role with id %s in this server.", id)
			case len(found) == 0:
				return nil, skyerr.New(skyerr.InvalidID, "There is no role named %s in this server (separate names that hold spaces with commas).", tok)
			case len(found) > 1:
				return nil, skyerr.New(skyerr.InvalidID, "%d roles are named %s; name it by its mention or id instead.", len(found), tok)
			}
			add(found[0])
		}
	}
	if everyone {
		return nil, nil
	}
	return ids, nil
}

// mentionID reads "<open id>" or a bare id.
func mentionID(tok, open string) (string, bool) {
	if strings.HasPrefix(tok, open) && strings.HasSuffix(tok, ">") {
		tok = tok[len(open) : len(tok)-1]
	}
	if tok == "" || len(tok) > 20 {
		return "", false
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return tok, true
}

// clip cuts s to at most n characters, ending with … when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func intOption(sub *discordgo.ApplicationCommandInteractionDataOption, name string) (int64, bool) {
	for _, o := range sub.Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionInteger {
			return o.IntValue(), true
		}
	}
	return 0, false
}
