package commands

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// statsVersions is how many versions /ext stats lists, newest first.
const statsVersions = 10

// statsOption is the name option of /ext stats and /publish stats: any
// gallery extension the asker owns, installed here or not.
func statsOption() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name",
		Description: "Your gallery extension's name", Required: true, MaxLength: 100}
}

// showStats answers /ext stats and /publish stats: an extension's installs,
// runs and errors per version over the last 30 days, with a chart, for its
// owner or a gallery administrator. flush first writes the runs counted
// in memory, so the answer is up to the moment.
func showStats(r *responder, g *extensions.Gallery, flush func(context.Context) error, log *slog.Logger, actor store.UserID, name string) {
	if g == nil {
		r.say(skyerr.UserText(skyerr.New(skyerr.NotFound, "This skybot has no gallery.")))
		return
	}
	name = strings.ToLower(strings.TrimSpace(name))
	// The chart takes a moment to draw.
	if !r.defer_() {
		return
	}
	var note string
	if err := flush(r.ctx); err != nil {
		note = "\nThe latest runs could not be counted yet (" + skyerr.UserText(err) + "); they show on the next try."
	}
	st, err := g.Stats(r.ctx, actor, name)
	if err != nil {
		r.edit(skyerr.UserText(err), nil)
		return
	}
	embed := statsEmbed(st)
	var files []*discordgo.File
	if png, err := usageChart(fmt.Sprintf("%s: runs and errors, last %d days", name, extensions.StatsDays), st.FirstDay, st.Days); err != nil {
		log.Error("drawing the stats chart failed", "ext", name, "err", err)
		note += "\nThe chart could not be drawn."
	} else {
		files = []*discordgo.File{{Name: "stats.png", ContentType: "image/png", Reader: bytes.NewReader(png)}}
		embed.Image = &discordgo.MessageEmbedImage{URL: "attachment://stats.png"}
	}
	content := fmt.Sprintf("Stats of **%s**.%s", name, note)
	_, r.err = r.s.InteractionResponseEdit(r.i, &discordgo.WebhookEdit{
		Content: &content, Embeds: &[]*discordgo.MessageEmbed{embed}, Files: files,
	}, discordgo.WithContext(r.ctx))
}

// statsEmbed lays out an extension's stats: the totals, then a line per
// version.
func statsEmbed(st extensions.ExtensionStats) *discordgo.MessageEmbed {
	desc := fmt.Sprintf("Last %d days: **%d** runs, **%d** errors%s, in %d server%s · %s now.",
		extensions.StatsDays, st.Total.Runs, st.Total.Errors, errorRate(st.Total.UsageCount),
		st.Total.Guilds, plural(st.Total.Guilds), installsText(st.Installs))
	e := &discordgo.MessageEmbed{Title: clip(st.Extension.Name+" — usage", 256), Description: desc, Color: 0x5865F2,
		Footer: &discordgo.MessageEmbedFooter{Text: "Days are UTC. Runs count every event, command, button and schedule the extension handled."}}
	for i, v := range st.Versions {
		if i == statsVersions {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Older versions",
				Value: fmt.Sprintf("%d more not shown.", len(st.Versions)-statsVersions)})
			break
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name: clip(fmt.Sprintf("%s (%s)", v.Version.Version, v.Version.State), 256),
			Value: fmt.Sprintf("%d installed now, %d ever · %d runs, %d errors%s in %d server%s",
				v.Installs.Active, v.Installs.Ever, v.Usage.Runs, v.Usage.Errors, errorRate(v.Usage.UsageCount), v.Usage.Guilds, plural(v.Usage.Guilds)),
		})
	}
	return e
}

// errorRate is " (n%)" of the runs that failed, or "" without runs.
func errorRate(c store.UsageCount) string {
	if c.Runs == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.1f%%)", 100*float64(c.Errors)/float64(c.Runs))
}
