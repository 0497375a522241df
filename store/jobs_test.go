package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestJobsReplaceByKeyAndSurviveReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	first, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ext := save(t, first, "timers", "", "owner", "1.0.0").ExtensionID
	due := time.UnixMilli(1_800_000_000_000).UTC()
	for _, j := range []Job{
		{GuildID: "g1", ExtensionID: ext, Key: "remind:1", DueAt: due, Payload: `{"n":1}`},
		{GuildID: "g1", ExtensionID: ext, Key: "remind:1", DueAt: due.Add(time.Minute), Payload: `{"n":2}`},
		{GuildID: "g1", ExtensionID: ext, Key: "remind:2", DueAt: due.Add(-time.Minute), Payload: `null`},
	} {
		if err := first.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	st := openAt(t, path)
	jobs, err := st.Jobs(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Key != "remind:2" || jobs[1].Payload != `{"n":2}` || !jobs[1].DueAt.Equal(due.Add(time.Minute)) {
		t.Fatalf("jobs %+v", jobs)
	}
	if gs, err := st.ScheduledGuilds(ctx); err != nil || len(gs) != 1 || gs[0] != "g1" {
		t.Fatalf("scheduled guilds %v", gs)
	}
	if ok, _ := st.DeleteJob(ctx, "g1", ext, "remind:2"); !ok {
		t.Fatal("delete reported nothing deleted")
	}
	if ok, _ := st.DeleteJob(ctx, "g1", ext, "remind:2"); ok {
		t.Fatal("second delete reported a deletion")
	}
}

func TestJobsQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	ext := save(t, st, "many", "", "owner", "1.0.0").ExtensionID
	for i := range MaxJobsPerInstall {
		if err := st.PutJob(ctx, Job{GuildID: "g1", ExtensionID: ext, Key: fmt.Sprintf("k%d", i), DueAt: time.Now(), Payload: "null"}); err != nil {
			t.Fatal(err)
		}
	}
	err := st.PutJob(ctx, Job{GuildID: "g1", ExtensionID: ext, Key: "one-more", DueAt: time.Now(), Payload: "null"})
	if !errors.Is(err, ErrQuota) {
		t.Fatalf("job %d: err %v, want ErrQuota", MaxJobsPerInstall+1, err)
	}
}
