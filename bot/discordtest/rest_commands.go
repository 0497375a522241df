package discordtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// commandName is Discord's rule for CHAT_INPUT command and option names.
var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// maxCommands is how many commands of one type a scope may hold.
const maxCommands = 100

// commandScope checks the route's application and guild and returns the
// guild id of the scope ("" for global commands).
func (s *Server) commandScope(r *request) (string, error) {
	if r.params["app"] != s.appID {
		return "", discordError(codeMissingAccess)
	}
	gid := r.params["guild"]
	if gid != "" {
		if _, err := s.botGuild(gid); err != nil {
			return "", discordError(codeMissingAccess)
		}
	}
	return gid, nil
}

// scopeCommandsLocked returns a scope's commands ordered by id.
func (s *Server) scopeCommandsLocked(guildID string) []*command {
	var out []*command
	for _, c := range s.st.commands {
		if c.guildID == guildID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].id, out[j].id) })
	return out
}

// wireCommand renders a command as Discord returns it.
func wireCommand(c *command) discordgo.ApplicationCommand {
	def := c.def
	def.ID, def.GuildID, def.Version = c.id, c.guildID, c.version
	if def.Type == discordgo.ChatApplicationCommand && def.Options == nil {
		def.Options = []*discordgo.ApplicationCommandOption{}
	}
	return def
}

// checkCommand validates a command definition the way Discord does and
// fills its defaults.
func checkCommand(def *discordgo.ApplicationCommand, field string) error {
	if def.Type == 0 {
		def.Type = discordgo.ChatApplicationCommand
	}
	switch def.Type {
	case discordgo.ChatApplicationCommand:
		if !commandName.MatchString(def.Name) || strings.ToLower(def.Name) != def.Name {
			return formError(field+"name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if n := len([]rune(def.Description)); n < 1 || n > 100 {
			return formError(field+"description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		return checkOptions(def.Options, field+"options")
	case discordgo.UserApplicationCommand, discordgo.MessageApplicationCommand:
		if n := len([]rune(def.Name)); n < 1 || n > 32 {
			return formError(field+"name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
		}
		if def.Description != "" || len(def.Options) > 0 {
			return formError(field+"description", "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description or options")
		}
		return nil
	}
	return formError(field+"type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
}

func checkOptions(opts []*discordgo.ApplicationCommandOption, field string) error {
	if len(opts) > 25 {
		return formError(field, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	seen := map[string]bool{}
	for i, o := range opts {
		f := fmt.Sprintf("%s.%d.", field, i)
		if o == nil || !commandName.MatchString(o.Name) || strings.ToLower(o.Name) != o.Name {
			return formError(f+"name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if seen[o.Name] {
			return formError(f+"name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
		}
		seen[o.Name] = true
		if n := len([]rune(o.Description)); n < 1 || n > 100 {
			return formError(f+"description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		if o.Type < discordgo.ApplicationCommandOptionSubCommand || o.Type > discordgo.ApplicationCommandOptionAttachment {
			return formError(f+"type", "BASE_TYPE_CHOICES", "Value must be one of {1..11}.")
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			return formError(f+"autocomplete", "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES", "Autocomplete and choices are mutually exclusive")
		}
		if err := checkOptions(o.Options, f+"options"); err != nil {
			return err
		}
	}
	return nil
}

func restListCommands(s *Server, r *request) (reply, error) {
	gid, err := s.commandScope(r)
	if err != nil {
		return reply{}, err
	}
	out := []discordgo.ApplicationCommand{}
	for _, c := range s.scopeCommandsLocked(gid) {
		out = append(out, wireCommand(c))
	}
	return okJSON(out)
}

// restOverwriteCommands replaces a scope's commands. A command that keeps
// its name (and type) keeps its id, as on Discord.
func restOverwriteCommands(s *Server, r *request) (reply, error) {
	gid, err := s.commandScope(r)
	if err != nil {
		return reply{}, err
	}
	var defs []discordgo.ApplicationCommand
	if err := json.Unmarshal(r.payload, &defs); err != nil {
		return reply{}, formError("", "MODEL_TYPE_CONVERT", "Invalid JSON body: "+err.Error())
	}
	if len(defs) > maxCommands {
		return reply{}, formError("", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
	seen := map[string]bool{}
	for i := range defs {
		if err := checkCommand(&defs[i], fmt.Sprintf("%d.", i)); err != nil {
			return reply{}, err
		}
		key := fmt.Sprint(defs[i].Type, defs[i].Name)
		if seen[key] {
			return reply{}, formError(fmt.Sprintf("%d.name", i), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
	}
	old := map[string]*command{}
	for _, c := range s.scopeCommandsLocked(gid) {
		old[fmt.Sprint(c.def.Type, c.def.Name)] = c
		delete(s.st.commands, c.id)
	}
	out := []discordgo.ApplicationCommand{}
	var names []string
	for _, def := range defs {
		c := &command{id: s.ids.next(), guildID: gid}
		if prev, ok := old[fmt.Sprint(def.Type, def.Name)]; ok {
			c.id = prev.id
		}
		c.version = s.ids.next()
		def.ApplicationID = s.appID
		c.def = def
		s.st.commands[c.id] = c
		out = append(out, wireCommand(c))
		names = append(names, "/"+def.Name)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	s.emitLocked(Event{Kind: KindCommandRegister, GuildID: gid, ActorID: r.actor, Detail: strings.Join(names, " ")})
	return okJSON(out)
}

// restCreateCommand creates a command, or updates the one with the same
// name and type (200 instead of 201).
func restCreateCommand(s *Server, r *request) (reply, error) {
	gid, err := s.commandScope(r)
	if err != nil {
		return reply{}, err
	}
	var def discordgo.ApplicationCommand
	if err := json.Unmarshal(r.payload, &def); err != nil {
		return reply{}, formError("", "MODEL_TYPE_CONVERT", "Invalid JSON body: "+err.Error())
	}
	if err := checkCommand(&def, ""); err != nil {
		return reply{}, err
	}
	def.ApplicationID = s.appID
	for _, c := range s.scopeCommandsLocked(gid) {
		if c.def.Name == def.Name && c.def.Type == def.Type {
			c.def, c.version = def, s.ids.next()
			s.emitLocked(Event{Kind: KindCommandRegister, GuildID: gid, ActorID: r.actor, Detail: "/" + def.Name})
			return okJSON(wireCommand(c))
		}
	}
	if len(s.scopeCommandsLocked(gid)) >= maxCommands {
		return reply{}, &apiError{Status: 400, Code: 30032, Message: "Maximum number of application commands reached (100)"}
	}
	c := &command{id: s.ids.next(), guildID: gid, def: def}
	c.version = c.id
	s.st.commands[c.id] = c
	s.emitLocked(Event{Kind: KindCommandRegister, GuildID: gid, ActorID: r.actor, Detail: "/" + def.Name})
	return created(wireCommand(c))
}

func (s *Server) commandForRoute(r *request) (*command, error) {
	gid, err := s.commandScope(r)
	if err != nil {
		return nil, err
	}
	c, ok := s.st.commands[r.params["command"]]
	if !ok || c.guildID != gid {
		return nil, discordError(codeUnknownCommand)
	}
	return c, nil
}

func restGetCommand(s *Server, r *request) (reply, error) {
	c, err := s.commandForRoute(r)
	if err != nil {
		return reply{}, err
	}
	return okJSON(wireCommand(c))
}

// restEditCommand patches a command: fields absent from the body keep
// their value.
func restEditCommand(s *Server, r *request) (reply, error) {
	c, err := s.commandForRoute(r)
	if err != nil {
		return reply{}, err
	}
	merged := c.def
	if err := json.Unmarshal(r.payload, &merged); err != nil {
		return reply{}, formError("", "MODEL_TYPE_CONVERT", "Invalid JSON body: "+err.Error())
	}
	merged.Type = c.def.Type
	if err := checkCommand(&merged, ""); err != nil {
		return reply{}, err
	}
	c.def, c.version = merged, s.ids.next()
	s.emitLocked(Event{Kind: KindCommandRegister, GuildID: c.guildID, ActorID: r.actor, Detail: "/" + merged.Name})
	return okJSON(wireCommand(c))
}

func restDeleteCommand(s *Server, r *request) (reply, error) {
	c, err := s.commandForRoute(r)
	if err != nil {
		return reply{}, err
	}
	delete(s.st.commands, c.id)
	s.emitLocked(Event{Kind: KindCommandDelete, GuildID: c.guildID, ActorID: r.actor, Detail: "/" + c.def.Name})
	return noContent()
}
