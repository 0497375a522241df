package discordtest_test

import (
	"fmt"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
)

// A guild, a bot that moderates through REST, and a transcript of what
// happened from Subscribe.
func Example() {
	srv, err := discordtest.New(discordtest.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	g := srv.CreateGuild("Demo")
	general := srv.AddChannel(g.ID, "general", discordgo.ChannelTypeGuildText)
	spammer := srv.AddMember(g.ID, "spammer")

	cancel := srv.Subscribe(func(ev discordtest.Event) {
		switch ev.Kind {
		case discordtest.KindMessageCreate:
			fmt.Printf("%s: %s\n", ev.Message.Author.Username, ev.Message.Content)
		case discordtest.KindMemberBan:
			fmt.Printf("banned spammer: %v (%s)\n", ev.UserID == spammer.UserID, ev.Detail)
		}
	})
	defer cancel()

	bot, _ := discordgo.New("Bot " + srv.Token())
	bot.Client = srv.HTTPClient() // the only change a bot needs

	if _, err := srv.SendMessage(general.ID, spammer.UserID, "buy cheap stuff"); err != nil {
		panic(err)
	}
	if _, err := bot.ChannelMessageSend(general.ID, "No spam here."); err != nil {
		panic(err)
	}
	if err := bot.GuildBanCreate(g.ID, spammer.UserID, 0, discordgo.WithAuditLogReason("spam")); err != nil {
		panic(err)
	}
	fmt.Println(len(srv.Bans(g.ID)), "ban")
	// Output:
	// spammer: buy cheap stuff
	// skybot: No spam here.
	// banned spammer: true (spam)
	// 1 ban
}
