package discordtest

import (
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// resolvedData is data.resolved of a command or component interaction.
type resolvedData struct {
	Users       map[string]wireUser       `json:"users,omitempty"`
	Members     map[string]wireMember     `json:"members,omitempty"`
	Roles       map[string]wireRole       `json:"roles,omitempty"`
	Channels    map[string]wireChannel    `json:"channels,omitempty"`
	Attachments map[string]wireAttachment `json:"attachments,omitempty"`
}

func (rd *resolvedData) empty() bool {
	return len(rd.Users)+len(rd.Members)+len(rd.Roles)+len(rd.Channels)+len(rd.Attachments) == 0
}

// cloneOptions deep-copies options so that the caller's are left alone.
func cloneOptions(in []*discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandInteractionDataOption {
	out := make([]*discordgo.ApplicationCommandInteractionDataOption, 0, len(in))
	for _, o := range in {
		if o == nil {
			continue
		}
		c := *o
		c.Options = cloneOptions(o.Options)
		out = append(out, &c)
	}
	return out
}

// findOption finds an option by name, looking into subcommands.
func findOption(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range opts {
		if o.Name == name {
			return o
		}
		if found := findOption(o.Options, name); found != nil {
			return found
		}
	}
	return nil
}

// resolveOptionsLocked checks options against the command's definition,
// fills missing types, stores uploads and fills data.resolved.
func (s *Server) resolveOptionsLocked(g *guild, c *channel, defs []*discordgo.ApplicationCommandOption,
	opts []*discordgo.ApplicationCommandInteractionDataOption, rd *resolvedData) ([]*discordgo.ApplicationCommandInteractionDataOption, error) {
	for _, o := range opts {
		var def *discordgo.ApplicationCommandOption
		for _, d := range defs {
			if d.Name == o.Name {
				def = d
			}
		}
		if def == nil {
			return nil, fmt.Errorf("option %q is not defined by the command", o.Name)
		}
		if o.Type == 0 {
			o.Type = def.Type
		}
		if o.Type != def.Type {
			return nil, fmt.Errorf("option %q has type %v, the command defines %v", o.Name, o.Type, def.Type)
		}
		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			sub, err := s.resolveOptionsLocked(g, c, def.Options, o.Options, rd)
			if err != nil {
				return nil, err
			}
			o.Options = sub
			continue
		case discordgo.ApplicationCommandOptionAttachment:
			var up Upload
			switch v := o.Value.(type) {
			case Upload:
				up = v
			case *Upload:
				up = *v
			default:
				continue // an attachment id bound later, or from a previous upload
			}
			a := s.storeUploadLocked(c, up)
			rd.addAttachment(a)
			o.Value = a.id
			continue
		}
		id, _ := o.Value.(string)
		switch o.Type {
		case discordgo.ApplicationCommandOptionUser:
			s.resolveUserLocked(g, id, rd)
		case discordgo.ApplicationCommandOptionChannel:
			if ch, ok := s.st.channels[id]; ok {
				rd.add("channel", id, s.wireChannelLocked(ch))
			}
		case discordgo.ApplicationCommandOptionRole:
			s.resolveRoleLocked(g, id, rd)
		case discordgo.ApplicationCommandOptionMentionable:
			s.resolveUserLocked(g, id, rd)
			s.resolveRoleLocked(g, id, rd)
		}
	}
	return opts, nil
}

func (s *Server) resolveUserLocked(g *guild, id string, rd *resolvedData) {
	if _, ok := s.st.users[id]; !ok {
		return
	}
	rd.add("user", id, s.wireUserLocked(id))
	if g != nil {
		if m, ok := g.members[id]; ok {
			wm := s.wireMemberLocked(m, false, "")
			wm.Permissions = permString(g.permissions(id))
			rd.add("member", id, wm)
		}
	}
}

func (s *Server) resolveRoleLocked(g *guild, id string, rd *resolvedData) {
	if g == nil {
		return
	}
	if r, ok := g.roles[id]; ok {
		rd.add("role", id, wireRoleOf(r))
	}
}

// add puts a resolved user, member, role or channel in its map.
func (rd *resolvedData) add(kind, id string, v any) {
	switch kind {
	case "user":
		if rd.Users == nil {
			rd.Users = map[string]wireUser{}
		}
		rd.Users[id] = v.(wireUser)
	case "member":
		if rd.Members == nil {
			rd.Members = map[string]wireMember{}
		}
		rd.Members[id] = v.(wireMember)
	case "role":
		if rd.Roles == nil {
			rd.Roles = map[string]wireRole{}
		}
		rd.Roles[id] = v.(wireRole)
	case "channel":
		if rd.Channels == nil {
			rd.Channels = map[string]wireChannel{}
		}
		rd.Channels[id] = v.(wireChannel)
	}
}

func (rd *resolvedData) addAttachment(a *attachment) {
	if rd.Attachments == nil {
		rd.Attachments = map[string]wireAttachment{}
	}
	rd.Attachments[a.id] = wireAttachmentOf(a)
}

// storeUploadLocked keeps an uploaded file on the emulated CDN.
func (s *Server) storeUploadLocked(c *channel, up Upload) *attachment {
	ct := up.ContentType
	if ct == "" {
		ct = http.DetectContentType(up.Data)
	}
	name := up.Filename
	if name == "" {
		name = "file"
	}
	a := &attachment{id: s.ids.next(), filename: name, contentType: ct, channelID: c.id, data: append([]byte(nil), up.Data...), ephemeral: true}
	s.st.files[a.id] = a
	return a
}
