package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// updateAllName is the /ext update name that updates every extension.
const updateAllName = "all"

// update moves an installed extension to a newer version: the attached
// file for a guild's own upload, else a published gallery version (the
// newest, or the one named). It applies at once unless the new version
// asks for scopes not granted yet. name all updates every gallery
// extension of the server.
func (x *Ext) update(r *responder, guild store.GuildID, actor store.UserID, data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption) {
	att := attachmentOption(data, sub, "file")
	name, version := stringOption(sub, "name"), strings.TrimSpace(stringOption(sub, "version"))
	switch {
	case name == updateAllName && (att != nil || version != ""):
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "/ext update name:all updates every extension to its newest version; it takes no file or version.")))
	case name == updateAllName:
		x.updateAll(r, guild, actor)
	case att != nil && version != "":
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "Name a gallery version or attach a file, not both.")))
	case att != nil:
		x.plan(r, func() (*extensions.Plan, error) {
			return x.manager.PlanUpdate(r.ctx, guild, actor, name,
				extensions.Upload{Filename: att.Filename, Size: int64(att.Size)},
				func(ctx context.Context, limit int64) ([]byte, error) { return x.download(ctx, att.URL, limit) })
		})
	case x.gallery == nil:
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidPackage, "This skybot has no gallery; attach the newer .skyext file.")))
	default:
		if version != "" {
			if _, err := semver.StrictNewVersion(version); err != nil {
				r.say(skyerr.UserText(skyerr.New(skyerr.InvalidID, "%q is not a version (e.g. 1.2.0).", version)))
				return
			}
		}
		x.plan(r, func() (*extensions.Plan, error) {
			return x.manager.PlanUpdatePublished(r.ctx, guild, actor, name, version, x.gallery)
		})
	}
}

// updateAll updates every gallery extension of the server, editing its
// answer as each one is done, and ends with the tally.
func (x *Ext) updateAll(r *responder, guild store.GuildID, actor store.UserID) {
	if x.gallery == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.InvalidState, "This skybot has no gallery to update from.")))
		return
	}
	if !r.defer_() {
		return
	}
	var lines []string
	results, err := x.manager.UpdateAll(r.ctx, guild, actor, x.gallery, func(done, total int, res extensions.UpdateResult) {
		lines = append(lines, res.Line())
		if done < total {
			r.edit(updateAllText(fmt.Sprintf("Updating %d extensions… %d done.", total, done), lines), nil)
		}
	})
	if err != nil {
		r.edit(skyerr.UserText(err), nil)
		return
	}
	if len(results) == 0 {
		r.edit("No extension on this server comes from the gallery; update your own uploads with `/ext update name:<name> file:<newer file>`.", nil)
		return
	}
	r.edit(updateAllText(updateTally(results), lines), nil)
}

// updateTally is the last line of /ext update all: how many of each outcome.
func updateTally(rs []extensions.UpdateResult) string {
	var updated, waiting, current, failed int
	for _, r := range rs {
		switch {
		case r.Updated:
			updated++
		case len(r.Waiting) > 0:
			waiting++
		case r.Current:
			current++
		default:
			failed++
		}
	}
	return fmt.Sprintf("Done: %d updated, %d waiting for you to accept new scopes, %d already up to date, %d failed.", updated, waiting, current, failed)
}

// updateAllText is the heading and a line per extension, within a
// message's length (the heading always shows).
func updateAllText(heading string, lines []string) string {
	const room = 1900
	var b strings.Builder
	b.WriteString(heading)
	for i, l := range lines {
		if b.Len()+len(l)+1 > room {
			fmt.Fprintf(&b, "\n… and %d more.", len(lines)-i)
			break
		}
		b.WriteString("\n" + l)
	}
	return b.String()
}

// updateChoices completes /ext update: "all" and the installed names for
// name; the newer published versions of the named extension for version.
func (x *Ext) updateChoices(ctx context.Context, guild store.GuildID, focused, typed string, sub *discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandOptionChoice {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if focused == "version" {
		return x.newerVersionChoices(ctx, guild, stringOption(sub, "name"), typed)
	}
	choices := x.installedChoices(ctx, guild, typed)
	if strings.HasPrefix(updateAllName, typed) && x.gallery != nil {
		all := &discordgo.ApplicationCommandOptionChoice{Name: "all (every extension from the gallery)", Value: updateAllName}
		choices = append([]*discordgo.ApplicationCommandOptionChoice{all}, choices[:min(len(choices), 24)]...)
	}
	return choices
}

// newerVersionChoices offers the published versions of name newer than
// the installed one, newest first.
func (x *Ext) newerVersionChoices(ctx context.Context, guild store.GuildID, name, typed string) []*discordgo.ApplicationCommandOptionChoice {
	if x.gallery == nil || name == "" {
		return nil
	}
	info, err := x.manager.Info(ctx, guild, name)
	if err != nil {
		return nil
	}
	vs, err := x.gallery.Versions(ctx, name)
	if err != nil {
		x.log.Warn("autocomplete versions", "ext", name, "err", err)
		return nil
	}
	cur, err := semver.NewVersion(info.Install.Version)
	if err != nil {
		return nil
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	for _, v := range vs {
		next, err := semver.NewVersion(v.Version)
		if err != nil || !next.GreaterThan(cur) || !strings.HasPrefix(v.Version, typed) || len(choices) == 25 {
			continue
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: v.Version, Value: v.Version})
	}
	return choices
}

// Uninstall buttons: the custom id is the prefix, then keep, purge or
// cancel, then the extension's name.
const uninstallPrefix = "skybot:uninstall:"

// uninstall removes an extension. Without the purge option it first asks,
// with buttons, whether its stored data is kept (for a later reinstall)
// or deleted.
func (x *Ext) uninstall(r *responder, guild store.GuildID, actor store.UserID, sub *discordgo.ApplicationCommandInteractionDataOption) {
	name := stringOption(sub, "name")
	if purge, given := boolOptionSet(sub, "purge"); given {
		mode := "keep"
		if purge {
			mode = "purge"
		}
		x.doUninstall(r, guild, actor, name, mode, r.say)
		return
	}
	rm, err := x.manager.PlanUninstall(r.ctx, guild, name)
	if err != nil {
		r.say(skyerr.UserText(err))
		return
	}
	question := fmt.Sprintf("Uninstall **%s** %s? It has no stored data.", name, rm.Install.Version)
	buttons := []discordgo.MessageComponent{
		discordgo.Button{Label: "Uninstall", Style: discordgo.DangerButton, CustomID: uninstallPrefix + "plain:" + name},
	}
	if rm.Entries > 0 {
		question = fmt.Sprintf("Uninstall **%s** %s? It keeps %d stored entries (%s). Keeping them lets a later install of it pick up where it left off; deleting them cannot be undone.",
			name, rm.Install.Version, rm.Entries, byteSize(rm.Bytes))
		buttons = []discordgo.MessageComponent{
			discordgo.Button{Label: "Uninstall, keep data", Style: discordgo.PrimaryButton, CustomID: uninstallPrefix + "keep:" + name},
			discordgo.Button{Label: "Uninstall and delete data", Style: discordgo.DangerButton, CustomID: uninstallPrefix + "purge:" + name},
		}
	}
	buttons = append(buttons, discordgo.Button{Label: "Cancel", Style: discordgo.SecondaryButton, CustomID: uninstallPrefix + "cancel:" + name})
	r.sayButtons(question, buttons...)
}

// uninstallButton carries out the admin's answer to the uninstall question.
func (x *Ext) uninstallButton(r *responder, i *discordgo.InteractionCreate, rest string) {
	if !canManage(i) {
		r.say(skyerr.UserText(errNeedManage))
		return
	}
	choice, name, _ := strings.Cut(rest, ":")
	switch choice {
	case "keep", "purge", "plain":
		x.doUninstall(r, store.GuildID(i.GuildID), store.UserID(i.Member.User.ID), name, choice, r.update)
	default:
		r.update(fmt.Sprintf("Cancelled; **%s** stays installed.", name))
	}
}

// doUninstall uninstalls name and answers with answer (a reply, or the
// question's message rewritten). mode is keep or purge (the stored data),
// or plain when there was none to ask about.
func (x *Ext) doUninstall(r *responder, guild store.GuildID, actor store.UserID, name, mode string, answer func(string) bool) {
	in, err := x.manager.Uninstall(r.ctx, guild, actor, name, mode == "purge")
	if err != nil {
		answer(skyerr.UserText(err))
		return
	}
	switch mode {
	case "purge":
		answer(fmt.Sprintf("Uninstalled **%s** %s; its stored data was deleted.", in.Name, in.Version))
	case "keep":
		answer(fmt.Sprintf("Uninstalled **%s** %s; its stored data was kept.", in.Name, in.Version))
	default:
		answer(fmt.Sprintf("Uninstalled **%s** %s.", in.Name, in.Version))
	}
}

// byteSize renders n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// boolOptionSet returns a boolean option's value and whether it was given.
func boolOptionSet(sub *discordgo.ApplicationCommandInteractionDataOption, name string) (bool, bool) {
	for _, o := range sub.Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionBoolean {
			return o.BoolValue(), true
		}
	}
	return false, false
}
