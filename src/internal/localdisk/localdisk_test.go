package localdisk

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestInstancesAreTheDirectoriesOfInstances(t *testing.T) {
	root := t.TempDir()
	d := New(root, "")
	ctx := context.Background()
	for _, id := range []string{"b", "a"} {
		if err := d.MakeDirs(ctx, id, []string{"/data"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cf-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	ids, err := d.Instances(ctx)
	if err != nil || !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("instances: %v %v, want [a b]", ids, err)
	}
	if ids, err := New(filepath.Join(root, "absent"), "").Instances(ctx); err != nil || len(ids) > 0 {
		t.Errorf("instances of a data directory not made yet: %v %v", ids, err)
	}
}

func TestASecretFileIsPrivateEvenWhenItExisted(t *testing.T) {
	d := New(t.TempDir(), "")
	ctx := context.Background()
	p := filepath.Join(d.Dir("i"), "secrets", "password")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSecret(ctx, "i", "secrets/password", []byte("new")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(p)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", info.Mode(), err)
	}
}

func TestOnlyRetainedDirectoriesPastTheCutoffArePurged(t *testing.T) {
	base := t.TempDir()
	d := New(filepath.Join(base, "instances"), filepath.Join(base, "deleted"))
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0)
	if err := d.MakeDirs(ctx, "i", nil); err != nil {
		t.Fatal(err)
	}
	kept, err := d.Retain(ctx, "i", at)
	if err != nil || kept != filepath.Join(base, "deleted", "cf-i-1700000000") {
		t.Fatalf("retained at %s: %v", kept, err)
	}
	if err := os.WriteFile(filepath.Join(base, "deleted", "notes"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var purged []string
	report := func(dir string, err error) {
		if err != nil {
			t.Error(err)
		}
		purged = append(purged, dir)
	}
	d.PurgeRetained(ctx, at.Add(-time.Second), report)
	d.PurgeRetained(ctx, at, report)
	if !slices.Equal(purged, []string{kept}) {
		t.Errorf("purged %v, want only %s, once", purged, kept)
	}
}
