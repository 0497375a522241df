package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// Watch follows one gallery change: a version entering the queue gets a
// card in the review channel, every later step edits that card in place,
// and a decision is DMed to the author. Failures are logged; they never
// undo the step, which is stored already.
func (rv *Review) Watch(ctx context.Context, c extensions.Change) {
	rec, err := rv.record(ctx, c.Version)
	if err != nil {
		rv.log.Warn("review card: cannot read the version", "version_id", c.Version, "err", err)
		return
	}
	if rv.channel != "" {
		rv.showCard(ctx, rec)
	}
	switch c.Action {
	case store.ReviewApproved, store.ReviewRejected, store.ReviewChangesRequested:
		rv.tellAuthor(ctx, rec, c)
	}
}

// record reads a version's review as its owner may (the change's actor
// may be a maintainer by role, which the gallery cannot see here).
func (rv *Review) record(ctx context.Context, id store.VersionID) (extensions.Review, error) {
	ver, err := rv.store.Version(ctx, id)
	if err != nil {
		return extensions.Review{}, err
	}
	ext, err := rv.store.Extension(ctx, ver.ExtensionID)
	if err != nil {
		return extensions.Review{}, err
	}
	return rv.gallery.ReviewOf(ctx, ext.OwnerID, nil, id)
}

// showCard posts the version's card, or edits the one posted before.
func (rv *Review) showCard(ctx context.Context, rec extensions.Review) {
	embed := rv.cardEmbed(ctx, rec)
	buttons := cardButtons(rec)
	none := noMentions()
	card, err := rv.store.ReviewCard(ctx, rec.Version.ID)
	if err == nil {
		_, err = rv.session.ChannelMessageEditComplex(&discordgo.MessageEdit{
			Channel: card.ChannelID, ID: card.MessageID,
			Embeds: &[]*discordgo.MessageEmbed{embed}, Components: &buttons, AllowedMentions: none,
		}, discordgo.WithContext(ctx))
		if err == nil {
			return
		}
		rv.log.Warn("review card: edit failed; posting a new one", "version_id", rec.Version.ID, "err", err)
	} else if !errors.Is(err, store.ErrNotFound) {
		rv.log.Warn("review card: cannot read where it is", "version_id", rec.Version.ID, "err", err)
		return
	}
	msg, err := rv.session.ChannelMessageSendComplex(rv.channel, &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{embed}, Components: buttons, AllowedMentions: none,
		Files: []*discordgo.File{{Name: rec.Version.Name + "-" + rec.Version.Version + ".js", ContentType: "text/javascript",
			Reader: strings.NewReader(rec.Version.Code)}},
	}, discordgo.WithContext(ctx))
	if err != nil {
		rv.log.Warn("review card: post failed", "version_id", rec.Version.ID, "channel_id", rv.channel, "err", err)
		return
	}
	if err := rv.store.SaveReviewCard(ctx, store.ReviewCard{Version: rec.Version.ID, ChannelID: msg.ChannelID, MessageID: msg.ID}); err != nil {
		rv.log.Warn("review card: cannot remember it", "version_id", rec.Version.ID, "err", err)
	}
}

// tellAuthor DMs the decision and its feedback to the version's owner.
func (rv *Review) tellAuthor(ctx context.Context, rec extensions.Review, c extensions.Change) {
	var text string
	switch c.Action {
	case store.ReviewApproved:
		text = fmt.Sprintf("**%s** %s was approved by <@%s> and is published in the skybot gallery.", c.Name, c.Number, c.Actor)
	case store.ReviewRejected:
		text = fmt.Sprintf("**%s** %s was rejected by <@%s>. Their feedback:\n> %s", c.Name, c.Number, c.Actor, quote(c.Reason))
	default:
		text = fmt.Sprintf("<@%s> asks for changes to **%s** %s before it can be published. Their feedback:\n> %s\nSubmit a new version when it is ready.", c.Actor, c.Name, c.Number, quote(c.Reason))
	}
	rv.dm(ctx, rec.Owner, text)
}

func quote(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ") }

// Embed budgets, under Discord's limits (4096 description, 1024 a field,
// 6000 in all).
const (
	cardDiffBudget  = 2600
	cardFieldBudget = 700
)

func (rv *Review) cardEmbed(ctx context.Context, rec extensions.Review) *discordgo.MessageEmbed {
	v := rec.Version
	var desc strings.Builder
	desc.WriteString(clip(orNone(rec.Manifest.Description, "No description."), 400))
	if rec.Live != nil {
		var live extensions.Manifest
		_ = json.Unmarshal(rec.Live.Manifest, &live)
		fmt.Fprintf(&desc, "\n\n**Changes against the live %s**\n", rec.Live.Version)
		desc.WriteString(diffBlock("Manifest", manifestLines(live), manifestLines(rec.Manifest), cardDiffBudget/3))
		desc.WriteString(diffBlock("Code", strings.Split(rec.Live.Code, "\n"), strings.Split(v.Code, "\n"), cardDiffBudget*2/3))
	} else {
		desc.WriteString("\n\nA new extension: no published version to compare with; the code is attached.")
	}
	rep := "no record yet (reputation 0)"
	if st, err := rv.store.AuthorStats(ctx, rec.Owner); err == nil && st.Approved+st.Rejected+st.ChangesRequested+st.Ratings > 0 {
		rep = fmt.Sprintf("reputation %.1f: %d approved, %d rejected, %d sent back", extensions.ReputationOf(st).Score,
			st.Approved, st.Rejected, st.ChangesRequested)
		if st.Ratings > 0 {
			rep += fmt.Sprintf(", rated %.1f (%d)", st.Average(), st.Ratings)
		}
	}
	var scopes strings.Builder
	writeScopes(&scopes, describe(rec.Manifest.Scopes))
	fields := []*discordgo.MessageEmbedField{
		{Name: "Author", Value: fmt.Sprintf("<@%s> — %s", rec.Owner, rep), Inline: true},
		{Name: "State", Value: stateLine(rec), Inline: true},
		{Name: "Scopes", Value: clip(orNone(strings.TrimSpace(scopes.String()), "None."), cardFieldBudget)},
		{Name: "Scan findings", Value: orNone(findingLines(rec.Findings, cardFieldBudget), "None.")},
		{Name: "History", Value: historyLines(rec.History, cardFieldBudget)},
	}
	return &discordgo.MessageEmbed{
		Title:       clip(fmt.Sprintf("%s %s", v.Name, v.Version), 256),
		Description: desc.String(),
		Fields:      fields,
		Footer:      &discordgo.MessageEmbedFooter{Text: fmt.Sprintf("version %d · sha256 %s", v.ID, clip(v.SHA256, 16))},
	}
}

func orNone(s, none string) string {
	if strings.TrimSpace(s) == "" {
		return none
	}
	return s
}

func stateLine(rec extensions.Review) string {
	switch rec.Version.State {
	case store.StateQueue:
		return "In the queue, waiting for a maintainer to claim it."
	case store.StateReview:
		return fmt.Sprintf("In review, claimed by <@%s>.", rec.Reviewer)
	case store.StatePublished:
		return "Published."
	case store.StateRejected:
		if n := len(rec.History); n > 0 && rec.History[n-1].Action == store.ReviewChangesRequested {
			return "Sent back for changes."
		}
		return "Rejected."
	case store.StateSaved:
		return "Withdrawn by its author."
	}
	return rec.Version.State
}

var actionWords = map[store.ReviewAction]string{
	store.ReviewSubmitted: "submitted", store.ReviewClaimed: "claimed", store.ReviewApproved: "approved",
	store.ReviewRejected: "rejected", store.ReviewChangesRequested: "requested changes", store.ReviewWithdrawn: "withdrew",
}

func historyLines(h []store.ReviewEntry, max int) string {
	var lines []string
	for _, e := range h {
		line := fmt.Sprintf("<t:%d:f> <@%s> %s", e.At.Unix(), e.Actor, actionWords[e.Action])
		if e.Reason != "" {
			line += ": “" + clip(e.Reason, 200) + "”"
		}
		lines = append(lines, line)
	}
	// The newest steps matter most: drop the oldest ones that do not fit.
	out := strings.Join(lines, "\n")
	for len(out) > max && len(lines) > 1 {
		lines = lines[1:]
		out = "…\n" + strings.Join(lines, "\n")
	}
	return clip(orNone(out, "Nothing yet."), max)
}

func cardButtons(rec extensions.Review) []discordgo.MessageComponent {
	id := strconv.FormatInt(int64(rec.Version.ID), 10)
	var bs []discordgo.MessageComponent
	switch rec.Version.State {
	case store.StateQueue:
		bs = []discordgo.MessageComponent{discordgo.Button{Label: "Claim", Style: discordgo.PrimaryButton, CustomID: claimPrefix + id}}
	case store.StateReview:
		bs = []discordgo.MessageComponent{
			discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: approvePrefix + id},
			discordgo.Button{Label: "Reject", Style: discordgo.DangerButton, CustomID: rejectPrefix + id},
			discordgo.Button{Label: "Request changes", Style: discordgo.SecondaryButton, CustomID: changesPrefix + id},
		}
	default:
		return []discordgo.MessageComponent{}
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: bs}}
}

func manifestLines(m extensions.Manifest) []string {
	data, _ := json.MarshalIndent(m, "", "  ")
	return strings.Split(string(data), "\n")
}

// diffBlock is a titled line diff of old and new in a code block, within
// max characters ("" when they are equal).
func diffBlock(title string, old, new []string, max int) string {
	lines := lineDiff(old, new)
	if len(lines) == 0 {
		return fmt.Sprintf("%s: unchanged.\n", title)
	}
	var b strings.Builder
	for n, l := range lines {
		l = strings.ReplaceAll(l, "```", "`\u200b``")
		if b.Len()+len(l)+1 > max-40 {
			fmt.Fprintf(&b, "… %d more lines\n", len(lines)-n)
			break
		}
		b.WriteString(l + "\n")
	}
	return fmt.Sprintf("%s:\n```diff\n%s```\n", title, b.String())
}

// lineDiff is a small line diff: the common lines at both ends are
// skipped, and the middle is compared by its longest common subsequence
// when that is small enough, else shown as removed then added.
func lineDiff(old, new []string) []string {
	pre := 0
	for pre < len(old) && pre < len(new) && old[pre] == new[pre] {
		pre++
	}
	suf := 0
	for suf < len(old)-pre && suf < len(new)-pre && old[len(old)-1-suf] == new[len(new)-1-suf] {
		suf++
	}
	a, b := old[pre:len(old)-suf], new[pre:len(new)-suf]
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("@@ line %d @@", pre+1)}
	if len(a)*len(b) > 1<<20 {
		for _, l := range a {
			out = append(out, "- "+l)
		}
		for _, l := range b {
			out = append(out, "+ "+l)
		}
		return out
	}
	// lcs[i][j]: the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, "  "+a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	return out
}
