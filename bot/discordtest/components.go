package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// componentInfo is what the emulator reads of a component.
type componentInfo struct {
	Type       discordgo.ComponentType `json:"type"`
	CustomID   string                  `json:"custom_id"`
	Disabled   bool                    `json:"disabled"`
	Required   *bool                   `json:"required"`
	Components []json.RawMessage       `json:"components"`
	Accessory  json.RawMessage         `json:"accessory"`
	Component  json.RawMessage         `json:"component"`
}

// findComponent searches components (rows, sections, containers, labels)
// for an interactive one with the custom_id.
func findComponent(list []json.RawMessage, customID string) *componentInfo {
	for _, raw := range list {
		var ci componentInfo
		if json.Unmarshal(raw, &ci) != nil {
			continue
		}
		if ci.CustomID == customID && ci.Type != discordgo.ActionsRowComponent {
			return &ci
		}
		nested := append([]json.RawMessage{}, ci.Components...)
		if len(ci.Accessory) > 0 {
			nested = append(nested, ci.Accessory)
		}
		if len(ci.Component) > 0 {
			nested = append(nested, ci.Component)
		}
		if found := findComponent(nested, customID); found != nil {
			return found
		}
	}
	return nil
}

// textInputs lists the text inputs of a modal's components, in order.
func textInputs(list []json.RawMessage) []componentInfo {
	var out []componentInfo
	for _, raw := range list {
		var ci componentInfo
		if json.Unmarshal(raw, &ci) != nil {
			continue
		}
		if ci.Type == discordgo.TextInputComponent {
			out = append(out, ci)
			continue
		}
		nested := append([]json.RawMessage{}, ci.Components...)
		if len(ci.Component) > 0 {
			nested = append(nested, ci.Component)
		}
		out = append(out, textInputs(nested)...)
	}
	return out
}

// ClickButton clicks a button (type 3 interaction, component_type 2) on a
// message in the channel (ephemeral interaction messages included). The
// message must have an enabled button with that custom_id.
func (s *Server) ClickButton(channelID, messageID, userID, customID string) (*Interaction, error) {
	return s.componentInteraction(channelID, messageID, userID, customID, nil)
}

// SelectMenu picks values in a select menu of a message (type 3
// interaction with the menu's component_type).
func (s *Server) SelectMenu(channelID, messageID, userID, customID string, values []string) (*Interaction, error) {
	if values == nil {
		values = []string{}
	}
	return s.componentInteraction(channelID, messageID, userID, customID, values)
}

// componentInteraction starts a message component interaction: a button
// click (values nil) or a select menu choice.
func (s *Server) componentInteraction(channelID, messageID, userID, customID string, values []string) (*Interaction, error) {
	var out *Interaction
	err := s.mutate(func() error {
		c, err := s.st.channel(channelID)
		if err != nil {
			return fmt.Errorf("discordtest: channel %s: %w", channelID, err)
		}
		g, c, err := s.personContextLocked(c.guildID, c.id, userID)
		if err != nil {
			return err
		}
		m := s.findAnyMessageLocked(c.id, messageID)
		if m == nil {
			return fmt.Errorf("discordtest: message %s not found in channel %s", messageID, channelID)
		}
		comp := findComponent(m.components, customID)
		if comp == nil {
			return fmt.Errorf("discordtest: message %s has no component with custom_id %q", messageID, customID)
		}
		if comp.Disabled {
			return fmt.Errorf("discordtest: component %q is disabled", customID)
		}
		isButton := comp.Type == discordgo.ButtonComponent
		if isButton != (values == nil) {
			return fmt.Errorf("discordtest: component %q has type %d", customID, comp.Type)
		}
		data := map[string]any{"custom_id": customID, "component_type": int(comp.Type)}
		if !isButton {
			data["values"] = values
			rd := &resolvedData{}
			for _, v := range values {
				switch comp.Type {
				case discordgo.UserSelectMenuComponent:
					s.resolveUserLocked(g, v, rd)
				case discordgo.RoleSelectMenuComponent:
					s.resolveRoleLocked(g, v, rd)
				case discordgo.MentionableSelectMenuComponent:
					s.resolveUserLocked(g, v, rd)
					s.resolveRoleLocked(g, v, rd)
				case discordgo.ChannelSelectMenuComponent:
					if ch, ok := s.st.channels[v]; ok {
						rd.add("channel", v, s.wireChannelLocked(ch))
					}
				}
			}
			if !rd.empty() {
				data["resolved"] = rd
			}
		}
		out = s.newInteractionLocked(discordgo.InteractionMessageComponent, g, c, userID, customID, data, m)
		return nil
	})
	return out, err
}

// SubmitModal submits the modal the bot showed in answer to from (type 5
// interaction). customID must be the modal's custom_id; values maps text
// input custom_ids to what the person typed (required inputs must be
// there, unknown ones are refused).
func (s *Server) SubmitModal(from *Interaction, userID, customID string, values map[string]string) (*Interaction, error) {
	if from == nil {
		return nil, errors.New("discordtest: SubmitModal: nil interaction")
	}
	var out *Interaction
	err := s.mutate(func() error {
		src, ok := s.st.interactions[from.ID]
		if !ok {
			return fmt.Errorf("discordtest: unknown interaction %s", from.ID)
		}
		if src.respType != ResponseModal {
			return fmt.Errorf("discordtest: interaction %s was answered with %q, not a modal", from.ID, src.respType)
		}
		var modal struct {
			CustomID   string            `json:"custom_id"`
			Components []json.RawMessage `json:"components"`
		}
		_ = json.Unmarshal(src.modal, &modal)
		if modal.CustomID != customID {
			return fmt.Errorf("discordtest: the modal's custom_id is %q, not %q", modal.CustomID, customID)
		}
		inputs := textInputs(modal.Components)
		known := map[string]bool{}
		var rows []map[string]any
		for _, ti := range inputs {
			known[ti.CustomID] = true
			v, given := values[ti.CustomID]
			if !given && (ti.Required == nil || *ti.Required) {
				return fmt.Errorf("discordtest: modal %q: required text input %q has no value", customID, ti.CustomID)
			}
			rows = append(rows, map[string]any{"type": int(discordgo.ActionsRowComponent), "components": []map[string]any{
				{"type": int(discordgo.TextInputComponent), "custom_id": ti.CustomID, "value": v},
			}})
		}
		for k := range values {
			if !known[k] {
				return fmt.Errorf("discordtest: modal %q has no text input %q", customID, k)
			}
		}
		g, c, err := s.personContextLocked(src.guildID, src.channelID, userID)
		if err != nil {
			return err
		}
		var msg *message
		if src.sourceMsgID != "" {
			msg = s.findAnyMessageLocked(src.channelID, src.sourceMsgID)
		}
		if rows == nil {
			rows = []map[string]any{}
		}
		data := map[string]any{"custom_id": customID, "components": rows}
		out = s.newInteractionLocked(discordgo.InteractionModalSubmit, g, c, userID, customID, data, msg)
		return nil
	})
	return out, err
}

// modalCopy decodes a modal into discordgo's type. InteractionResponseData
// cannot decode components itself (discordgo only implements that for
// messages), so they are decoded through a Message.
func modalCopy(raw json.RawMessage) *discordgo.InteractionResponseData {
	var fs map[string]json.RawMessage
	if json.Unmarshal(raw, &fs) != nil {
		return nil
	}
	comps := fs["components"]
	delete(fs, "components")
	d := convert[discordgo.InteractionResponseData](fs)
	if len(comps) > 0 {
		m := convert[discordgo.Message](map[string]json.RawMessage{"components": comps})
		d.Components = m.Components
	}
	return d
}
