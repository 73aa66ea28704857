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
	if err := d.WriteSecrets(ctx, "i", map[string][]byte{"secrets/password": []byte("new"), "secrets/username": []byte("u")}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"password": "new", "username": "u"} {
		p := filepath.Join(filepath.Dir(p), name)
		info, err := os.Stat(p)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("secret file %s: %v %v, want mode 0600", name, info.Mode(), err)
		}
		if data, err := os.ReadFile(p); err != nil || string(data) != want {
			t.Errorf("secret file %s holds %q %v, want %q", name, data, err, want)
		}
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

// TestFilesAreWrittenInABatchAndAFailureNamesItsFile writes files into two volumes, again as a
// recreation does (the file written once is kept), then a batch whose second file lies behind
// a symbolic link the service planted: the error names that file.
func TestFilesAreWrittenInABatchAndAFailureNamesItsFile(t *testing.T) {
	d := New(t.TempDir(), "")
	ctx := context.Background()
	if err := d.MakeDirs(ctx, "i", []string{"/data", "/var/log"}); err != nil {
		t.Fatal(err)
	}
	files := []VolumeFile{
		{Volume: "/data", Name: "conf/redis.conf", Content: []byte("port 6379\n"), Mode: 0o640},
		{Volume: "/data", Name: "users.acl", Content: []byte("user default\n"), Mode: 0o600, Once: true},
		{Volume: "/var/log", Name: "empty", Mode: 0o644},
	}
	for _, want := range [][]bool{{true, true, true}, {true, false, true}} {
		if written, err := d.WriteFiles(ctx, "i", files, -1, -1); err != nil || !slices.Equal(written, want) {
			t.Fatalf("written %v %v, want %v", written, err, want)
		}
		files[1].Content = []byte("changed\n")
	}
	for p, want := range map[string]string{"data/conf/redis.conf": "port 6379\n", "data/users.acl": "user default\n", "var/log/empty": ""} {
		if data, err := os.ReadFile(filepath.Join(d.Dir("i"), p)); err != nil || string(data) != want {
			t.Errorf("%s: %q %v, want %q", p, data, err, want)
		}
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(d.Dir("i"), "data", "link")); err != nil {
		t.Fatal(err)
	}
	files = []VolumeFile{files[0], {Volume: "/data", Name: "link/passwd", Content: []byte("x"), Mode: 0o644}}
	_, err := d.WriteFiles(ctx, "i", files, -1, -1)
	if err == nil || err.Error() != "writing /data/link/passwd: link is a symbolic link, which the broker does not follow" {
		t.Errorf("writing through a symbolic link: %v", err)
	}
}
