package extensions

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Handler-style extensions (SKYEXT.md A3) say what they handle by running
// their top level: a describe run reports the registrations, which are
// validated here once per version and cached. Routing then reads them like
// a legacy manifest's trigger.

// Bounds on what a handler-style extension may register.
const (
	minEveryMS          = 60_000
	maxEveryMS          = 7 * 24 * 3600 * 1000
	maxComponentPrefix  = 60
	maxSlashDescription = 100
)

var (
	prefixKeyPattern   = regexp.MustCompile(`^[a-z0-9_-]{1,25}$`)
	commandNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	cronParser         = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// describe returns the validated registrations of a handler-style version,
// running its top level once (in guild's isolate) on a cache miss.
func (m *Manager) describe(ctx context.Context, guild store.GuildID, ver store.Version, p *sandbox.Program, limits sandbox.Limits) ([]sandbox.Registration, error) {
	m.mu.Lock()
	regs, ok := m.described[ver.ID]
	m.mu.Unlock()
	if ok {
		return regs, nil
	}
	regs, err := m.describeProgram(ctx, guild, ver.Name, ver.Version, p, limits)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.described[ver.ID] = regs
	m.mu.Unlock()
	return regs, nil
}

// describeProgram runs a handler-style program's top level inside the
// sandbox's limits, with no scope granted, and validates what it
// registered: the health check every install and update passes before
// anything is written.
func (m *Manager) describeProgram(ctx context.Context, guild store.GuildID, name, version string, p *sandbox.Program, limits sandbox.Limits) ([]sandbox.Registration, error) {
	res, err := m.runner.Deliver(ctx, sandbox.Delivery{
		Spec:   sandbox.Spec{Key: sandbox.Key{Guild: string(guild), Extension: name}, Version: version, Program: p, Granted: sandbox.NewScopeSet(), Limits: limits},
		Event:  sandbox.Event{Kind: sandbox.EventDescribe},
		Origin: Origin{GuildID: string(guild), Extension: name, Version: version, Trigger: "describe"},
	})
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.LoadFailed, "%s@%s could not be loaded to read its handlers.", name, version)
	}
	if f := res.Failure; f != nil {
		where := ""
		if line := StackPosition(f.Stack); line != "" {
			where = " at " + line
		}
		return nil, skyerr.New(skyerr.LoadFailed, "The top level of %s@%s failed%s: %s.", name, version, where, strings.TrimSuffix(f.Message, "."))
	}
	if err := validateRegistrations(res.Registrations); err != nil {
		return nil, skyerr.New(skyerr.LoadFailed, "%s@%s registers a handler skybot cannot route: %s.", name, version, err)
	}
	return res.Registrations, nil
}

// StackPosition is the first extension position of a JS stack,
// "hello.skyext:12:5", or "" if it names none.
func StackPosition(stack string) string { return stackPosition.FindString(stack) }

var stackPosition = regexp.MustCompile(`[\w.-]+\.skyext:\d+(?::\d+)?`)

// validateRegistrations checks what an isolate reported: it is untrusted.
func validateRegistrations(regs []sandbox.Registration) error {
	commands := map[string]bool{}
	for _, r := range regs {
		switch r.Kind {
		case sandbox.RegEvent:
			if !slices.Contains(GuildEvents, r.Key) {
				return fmt.Errorf("sky.on(%q): not an event skybot delivers (see the author guide)", r.Key)
			}
		case sandbox.RegCommand:
			if err := validateSlashDefinition(r.Key, r.Command); err != nil {
				return err
			}
			if commands[r.Key] {
				return fmt.Errorf("the slash command %q is registered twice", r.Key)
			}
			commands[r.Key] = true
		case sandbox.RegAutocomplete:
		case sandbox.RegPrefix:
			if !prefixKeyPattern.MatchString(r.Key) {
				return fmt.Errorf("sky.prefix(%q): a key is 1 to 25 of a-z, 0-9, _ and -", r.Key)
			}
		case sandbox.RegKeyword:
			if len(r.Keywords) == 0 {
				return fmt.Errorf("sky.keyword needs at least one word")
			}
		case sandbox.RegEvery:
			if r.EveryMS < minEveryMS || r.EveryMS > maxEveryMS {
				return fmt.Errorf("sky.every(%dms): the interval must be between 1 minute and 7 days", r.EveryMS)
			}
		case sandbox.RegCron:
			if _, err := cronParser.Parse(r.Cron); err != nil {
				return fmt.Errorf("sky.cron(%q): %v", r.Cron, err)
			}
		case sandbox.RegComponent:
			if r.Key == "" || len(r.Key) > maxComponentPrefix {
				return fmt.Errorf("sky.component(%q): a custom id prefix is 1 to %d characters", r.Key, maxComponentPrefix)
			}
		case sandbox.RegJob:
		case sandbox.RegLifecycle:
			if !slices.Contains(sandbox.LifecycleHooks, r.Key) {
				return fmt.Errorf("unknown lifecycle hook %q", r.Key)
			}
		default:
			return fmt.Errorf("unknown registration kind %q", r.Kind)
		}
	}
	return nil
}

// slashDefinition is the part of a sky.command definition skybot reads.
type slashDefinition struct {
	Name                     string         `json:"name"`
	Description              string         `json:"description"`
	Options                  []slashOption  `json:"options"`
	DefaultMemberPermissions *string        `json:"defaultMemberPermissions"`
	Extra                    map[string]any `json:"-"`
}

type slashOption struct {
	Type         string        `json:"type"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Required     bool          `json:"required"`
	Choices      []slashChoice `json:"choices"`
	Autocomplete bool          `json:"autocomplete"`
	MinValue     *float64      `json:"minValue"`
	MaxValue     *float64      `json:"maxValue"`
	MinLength    *int          `json:"minLength"`
	MaxLength    *int          `json:"maxLength"`
	Options      []slashOption `json:"options"` // subcommands and groups
}

type slashChoice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// slashOptionTypes are the option type names a definition may use, with
// Discord's numbers.
var slashOptionTypes = map[string]int{
	"subcommand": 1, "group": 2, "string": 3, "integer": 4, "boolean": 5,
	"user": 6, "channel": 7, "role": 8, "mentionable": 9, "number": 10, "attachment": 11,
}

func validateSlashDefinition(name string, raw json.RawMessage) error {
	var def slashDefinition
	if err := json.Unmarshal(raw, &def); err != nil {
		return fmt.Errorf("sky.command %q: the definition is not {name, description, options}: %v", name, err)
	}
	if !commandNamePattern.MatchString(def.Name) {
		return fmt.Errorf("sky.command %q: a name is 1 to 32 of a-z, 0-9, _ and -", def.Name)
	}
	if def.Description == "" || len([]rune(def.Description)) > maxSlashDescription {
		return fmt.Errorf("sky.command %q: the description must be 1 to 100 characters", def.Name)
	}
	return validateSlashOptions(def.Name, def.Options, 0)
}

func validateSlashOptions(cmd string, opts []slashOption, depth int) error {
	if len(opts) > 25 {
		return fmt.Errorf("sky.command %q: at most 25 options", cmd)
	}
	seen := map[string]bool{}
	for _, o := range opts {
		t, ok := slashOptionTypes[strings.ToLower(o.Type)]
		if !ok {
			return fmt.Errorf("sky.command %q: option %q has an unknown type %q", cmd, o.Name, o.Type)
		}
		if !commandNamePattern.MatchString(o.Name) || seen[o.Name] {
			return fmt.Errorf("sky.command %q: option names are unique, 1 to 32 of a-z, 0-9, _ and - (%q)", cmd, o.Name)
		}
		seen[o.Name] = true
		if o.Description == "" || len([]rune(o.Description)) > maxSlashDescription {
			return fmt.Errorf("sky.command %q: option %q needs a description of 1 to 100 characters", cmd, o.Name)
		}
		if len(o.Choices) > 25 {
			return fmt.Errorf("sky.command %q: option %q has more than 25 choices", cmd, o.Name)
		}
		if t <= 2 {
			if depth >= 2 || (t == 2 && depth > 0) {
				return fmt.Errorf("sky.command %q: subcommands nest at most group → subcommand", cmd)
			}
			if err := validateSlashOptions(cmd, o.Options, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// messageContext is the context data a handler gets for a message: the
// message, its author, and the member when members_read was granted.
func messageContext(msg Message, granted sandbox.ScopeSet) map[string]any {
	mentions := make([]string, 0, len(msg.Mentions))
	for _, u := range msg.Mentions {
		mentions = append(mentions, u.ID)
	}
	ctx := map[string]any{
		"guildId":   msg.GuildID,
		"channelId": msg.ChannelID,
		"user":      userData(msg.Author),
		"message": map[string]any{
			"id": msg.ID, "content": msg.Content, "channelId": msg.ChannelID,
			"author":           map[string]any{"id": msg.Author.ID, "username": msg.Author.Username, "bot": msg.Author.Bot},
			"createdTimestamp": msg.CreatedAt.UnixMilli(), "mentions": mentions,
		},
	}
	if member, ok := msg.Modules["member"]; ok && granted.Has("members_read") {
		ctx["member"] = member
	}
	return ctx
}

// handlerEvent builds the event that calls registration reg with data.
func handlerEvent(kind string, reg sandbox.Registration, reply string, data map[string]any) sandbox.Event {
	return sandbox.Event{Kind: kind, Handler: reg.ID, Reply: reply, Data: mustJSON(data)}
}

// keywordRegMatches is sky.keyword's match: part B's rule on the words.
func keywordRegMatches(r sandbox.Registration, content string) bool {
	return keywordMatches(Manifest{Keywords: r.Keywords, CaseSensitive: r.CaseSensitive}, content)
}

// OnEvent runs every extension of the event's guild that handles it: the
// handler-style ones that registered sky.on(name), and legacy event
// extensions (part B 2.5, which SkynetBot never dispatched). Events skybot
// caused reach nobody; events caused by other bots reach only handlers
// that opted in.
func (d *Dispatcher) OnEvent(ctx context.Context, ev GuildEvent) error {
	if ev.GuildID == "" || ev.SelfCaused {
		return nil
	}
	view, err := d.m.view(ctx, store.GuildID(ev.GuildID))
	if err != nil {
		return err
	}
	now := d.m.now()
	for _, ai := range view.installs {
		origin := Origin{GuildID: ev.GuildID, ChannelID: ev.ChannelID, UserID: ev.UserID, Trigger: ev.Name}
		if ev.Name == "messageCreate" || ev.Name == "messageUpdate" {
			origin.MessageID, _ = ev.Data["id"].(string)
		}
		if ai.manifest.Legacy() {
			if ai.manifest.Type != TypeEvent || ai.manifest.Event != ev.Name || ev.FromBot {
				continue
			}
			sev := scheduleModules(TypeEvent, view.prefix, d.botUser(), now)
			sev.Modules["event"] = mustJSON(map[string]any{"name": ev.Name, "data": ev.Data})
			d.run(ctx, ai, view, sev, origin)
			continue
		}
		for _, r := range ai.regs {
			if r.Kind != sandbox.RegEvent || r.Key != ev.Name || (ev.FromBot && !r.Bots) {
				continue
			}
			reply := ""
			if origin.MessageID != "" {
				reply = "message"
			}
			d.run(ctx, ai, view, handlerEvent(ev.Name, r, reply, eventContext(ev)), origin)
		}
	}
	return nil
}

// eventContext is what an event handler receives: the snapshot as data,
// and under a friendlier name for member and message events.
func eventContext(ev GuildEvent) map[string]any {
	ctx := map[string]any{"event": ev.Name, "guildId": ev.GuildID, "data": ev.Data}
	if ev.ChannelID != "" {
		ctx["channelId"] = ev.ChannelID
	}
	if ev.UserID != "" {
		ctx["userId"] = ev.UserID
	}
	switch {
	case strings.HasPrefix(ev.Name, "guildMember"):
		ctx["member"] = ev.Data
	case ev.Name == "messageCreate" || ev.Name == "messageUpdate" || ev.Name == "messageDelete":
		ctx["message"] = ev.Data
	}
	return ctx
}

// scheduleModules are the legacy modules of a run with no message (timer
// and event runs, part B 2.4 and 2.7): bot and moment; guild, roles and
// config come from the bot layer when it has them.
func scheduleModules(kind, prefix string, bot User, now time.Time) sandbox.Event {
	return sandbox.Event{
		Kind: kind,
		Modules: map[string]json.RawMessage{
			"bot":    mustJSON(map[string]any{"user": shortUser(bot), "prefix": prefix}),
			"moment": mustJSON(map[string]any{"now": now.UnixMilli()}),
		},
	}
}
