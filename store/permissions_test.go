package store

import (
	"context"
	"slices"
	"testing"
)

func TestInstallPermissionsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	ext := save(t, st, "perms", "", "owner", "1.0.0").ExtensionID
	p, err := st.InstallPermissions(ctx, "g1", ext)
	if err != nil || p.Channels != nil || p.Roles != nil || p.NoMemberChecks {
		t.Fatalf("default permissions %+v, %v", p, err)
	}
	want := InstallPermissions{Channels: []string{"10", "11"}, Roles: []string{"20"}, NoMemberChecks: true}
	if err := st.SetInstallPermissions(ctx, "g1", ext, want, "admin"); err != nil {
		t.Fatal(err)
	}
	got, err := st.InstallPermissions(ctx, "g1", ext)
	if err != nil || !slices.Equal(got.Channels, want.Channels) || !slices.Equal(got.Roles, want.Roles) || !got.NoMemberChecks {
		t.Fatalf("permissions %+v, %v", got, err)
	}
	if err := st.SetInstallPermissions(ctx, "g1", ext, InstallPermissions{}, "admin"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.InstallPermissions(ctx, "g1", ext); len(got.Channels) != 0 || got.NoMemberChecks {
		t.Fatalf("after reset %+v", got)
	}
}
