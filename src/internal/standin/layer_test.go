package standin_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// member is what a layer holds at one path.
type member struct {
	typ      byte
	mode     int64
	uid, gid int
	linkname string
	content  string
}

// readLayerTar reads a layer into its members by path; hard links become the regular files
// they name.
func readLayerTar(t *testing.T, p string) (map[string]member, []string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	members := map[string]member{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return members, order
		}
		if err != nil {
			t.Fatal(err)
		}
		name := path.Clean(h.Name)
		order = append(order, name)
		if h.Typeflag == tar.TypeLink {
			target, ok := members[path.Clean(h.Linkname)]
			if !ok {
				t.Fatalf("%s: hard link to %s, which is not before it in the layer", name, h.Linkname)
			}
			members[name] = target
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		members[name] = member{typ: h.Typeflag, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, linkname: h.Linkname, content: string(data)}
	}
}

// apply applies a layer on top of the members of the layers below, as an engine does: a
// whiteout deletes the name and all under it, a member replaces what was there (all under it
// too unless both are directories).
func apply(lower, layer map[string]member, order []string) map[string]member {
	out := map[string]member{}
	for k, v := range lower {
		out[k] = v
	}
	removeTree := func(p string) {
		for k := range out {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(out, k)
			}
		}
	}
	for _, name := range order {
		m := layer[name]
		if base := path.Base(name); strings.HasPrefix(base, ".wh.") {
			removeTree(path.Join(path.Dir(name), strings.TrimPrefix(base, ".wh.")))
			continue
		}
		if old, ok := out[name]; ok && !(old.typ == tar.TypeDir && m.typ == tar.TypeDir) {
			removeTree(name)
		}
		out[name] = m
	}
	return out
}

func mustWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// The recipe's layer over the base's gives the recipe's tree: what changed (content, mode,
// owner, a link's target, a file turned directory and back), what is new, and what is gone
// (a file, a whole directory), and nothing that did not change.
func TestDiffLayerOverTheBaseGivesTheTree(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	work := t.TempDir()
	lowerDir := filepath.Join(work, "lower")
	for name, content := range map[string]string{
		"etc/passwd":           "root:x:0:0::/root:/bin/sh\n",
		"etc/same.conf":        "same\n",
		"etc/changed.conf":     "old\n",
		"etc/samesize.conf":    "aaaa\n",
		"etc/chmod.conf":       "x\n",
		"etc/chown.conf":       "x\n",
		"etc/deleted.conf":     "x\n",
		"usr/share/gone/a":     "a\n",
		"usr/share/gone/sub/b": "b\n",
		"usr/share/kept/a":     "a\n",
		"var/lib/becomes-dir":  "file\n",
		"var/lib/was-dir/x":    "x\n",
		"usr/bin/tool":         "#!/bin/sh\n",
		"dev/null":             "",
	} {
		mustWrite(t, filepath.Join(lowerDir, name), content, 0o644)
	}
	if err := os.Chmod(filepath.Join(lowerDir, "usr/bin/tool"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(lowerDir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(lowerDir, "tmp"), os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"bin": "usr/bin", "etc/alt": "/usr/bin/tool", "etc/alt-same": "/usr/bin/tool"} {
		if err := os.Symlink(target, filepath.Join(lowerDir, link)); err != nil {
			t.Fatal(err)
		}
	}
	lowerTar := filepath.Join(work, "lower.tar")
	lowerID, err := standin.LayerTar(context.Background(), lowerDir, lowerTar)
	if err != nil {
		t.Fatal(err)
	}

	// The recipe's tree: a copy of the base, changed.
	upper := filepath.Join(work, "upper")
	if out, err := exec.Command("cp", "-a", lowerDir, upper).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	u := func(name string) string { return filepath.Join(upper, name) }
	mustWrite(t, u("etc/changed.conf"), "new and longer\n", 0o644)
	mustWrite(t, u("etc/samesize.conf"), "bbbb\n", 0o644) // same size, other content
	mustWrite(t, u("etc/new.conf"), "new\n", 0o600)
	mustWrite(t, u("usr/share/new/deep/file"), "deep\n", 0o644)
	mustWrite(t, u("tmp/new"), "in a sticky directory\n", 0o644)
	mustWrite(t, u("dev/pts/0"), "", 0o644) // the engine mounts its own /dev
	// Rewritten with the same content: unchanged (only its modification time differs).
	mustWrite(t, u("etc/same.conf"), "same\n", 0o644)
	if err := os.Chmod(u("etc/chmod.conf"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/deleted.conf", "usr/share/gone", "var/lib/becomes-dir", "var/lib/was-dir", "etc/alt"} {
		if err := os.RemoveAll(u(p)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, u("var/lib/becomes-dir/inside"), "now a directory\n", 0o644)
	mustWrite(t, u("var/lib/was-dir"), "now a file\n", 0o644)
	if err := os.Symlink("/usr/bin/other", u("etc/alt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(u("etc/new.conf"), u("etc/new-link.conf")); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	if root {
		if err := os.Chown(u("etc/chown.conf"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	xattr := syscall.Setxattr(u("usr/bin/tool"), "user.test", []byte("x"), 0) == nil
	// What the tree is, as a layer of its own (less dev's contents).
	wantTar := filepath.Join(work, "want.tar")
	if _, err := standin.LayerTar(context.Background(), upper, wantTar); err != nil {
		t.Fatal(err)
	}
	want, _ := readLayerTar(t, wantTar)

	diffTar := filepath.Join(work, "diff.tar")
	gotLowerID, diffID, err := standin.DiffLayer(context.Background(), lowerTar, upper, diffTar)
	if err != nil {
		t.Fatal(err)
	}
	if gotLowerID != lowerID || !strings.HasPrefix(diffID, "sha256:") {
		t.Errorf("diff ids %s (want %s), %s", gotLowerID, lowerID, diffID)
	}
	lower, _ := readLayerTar(t, lowerTar)
	diff, order := readLayerTar(t, diffTar)

	got := apply(lower, diff, order)
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: missing from base + diff", name)
		} else if g != w {
			t.Errorf("%s: base + diff has %+v, want %+v", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: in base + diff, not in the tree", name)
		}
	}

	// The diff holds the changes and their parents only.
	wantMembers := []string{
		"etc", "etc/.wh.deleted.conf", "etc/alt", "etc/changed.conf", "etc/chmod.conf", "etc/new-link.conf", "etc/new.conf", "etc/samesize.conf",
		"tmp", "tmp/new",
		"usr", "usr/share", "usr/share/.wh.gone", "usr/share/new", "usr/share/new/deep", "usr/share/new/deep/file",
		"var", "var/lib", "var/lib/becomes-dir", "var/lib/becomes-dir/inside", "var/lib/was-dir",
	}
	if root {
		wantMembers = append(wantMembers, "etc/chown.conf")
	}
	if xattr {
		wantMembers = append(wantMembers, "usr/bin", "usr/bin/tool")
	}
	slices.Sort(wantMembers)
	gotMembers := slices.Sorted(func(yield func(string) bool) {
		for k := range diff {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(gotMembers, wantMembers) {
		t.Errorf("diff members\n%v\nwant\n%v", gotMembers, wantMembers)
	}
	if m := diff["tmp"]; m.mode != 0o1777 {
		t.Errorf("the parent tmp is in the diff with mode %o, want 1777", m.mode)
	}
	for i := 1; i < len(order); i++ {
		if dir := path.Dir(order[i]); dir != "." && !slices.Contains(order[:i], dir) {
			t.Errorf("%s comes before its parent", order[i])
		}
	}
}
