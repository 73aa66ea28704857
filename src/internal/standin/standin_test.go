package standin_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

func key(t *testing.T, r standin.Recipe) string {
	t.Helper()
	k, err := standin.Key(r)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRecipesAreComplete checks what every recipe must have, and that no image reference names
// two recipes: standin.For picks the image of a services file by its reference.
func TestRecipesAreComplete(t *testing.T) {
	recipeOfTag := map[string]string{}
	for _, r := range standin.All() {
		for _, tag := range r.Tags {
			if other, ok := recipeOfTag[tag]; ok {
				t.Errorf("%s is the tag of both %s and %s", tag, other, r.Name)
			}
			recipeOfTag[tag] = r.Name
		}
		if len(r.Tags) == 0 || len(r.Packages) == 0 || len(r.ExposedPorts) == 0 || len(r.Cmd) == 0 {
			t.Errorf("%s: incomplete recipe %+v", r.Name, r)
		}
		script, err := standin.EntrypointScript(r)
		if err != nil {
			t.Errorf("%s: %v", r.Name, err)
		} else if !bytes.HasPrefix(script, []byte("#!/bin/")) {
			t.Errorf("%s: entrypoint %s has no #! line", r.Name, r.Entrypoint)
		}
	}
}

func TestKeyIsStableAndChangesWithEverythingThatDefinesTheImage(t *testing.T) {
	base := standin.Redis
	k := key(t, base)
	if k2 := key(t, standin.Redis); k2 != k {
		t.Fatalf("key is not stable: %s, then %s", k, k2)
	}
	variants := map[string]func(*standin.Recipe){
		"name":       func(r *standin.Recipe) { r.Name = "redis2" },
		"tags":       func(r *standin.Recipe) { r.Tags = []string{"redis:7"} },
		"packages":   func(r *standin.Recipe) { r.Packages = append(slices.Clone(r.Packages), "procps") },
		"entrypoint": func(r *standin.Recipe) { r.Entrypoint = "postgresql.sh" },
		"cmd":        func(r *standin.Recipe) { r.Cmd = []string{"redis-server", "--save", ""} },
		"env":        func(r *standin.Recipe) { r.Env = append(slices.Clone(r.Env), "X=1") },
		"ports":      func(r *standin.Recipe) { r.ExposedPorts = []string{"6380/tcp"} },
		"workdir":    func(r *standin.Recipe) { r.WorkingDir = "/" },
		"stopsignal": func(r *standin.Recipe) { r.StopSignal = "SIGINT" },
		"remove":     func(r *standin.Recipe) { r.Remove = []string{"usr/share/i18n"} },
		"files":      func(r *standin.Recipe) { r.Files = map[string]string{"etc/x.conf": "x"} },
	}
	seen := map[string]string{k: "base"}
	for name, change := range variants {
		r := base
		change(&r)
		kv := key(t, r)
		if other, ok := seen[kv]; ok {
			t.Errorf("changing the %s gives the key of %s", name, other)
		}
		seen[kv] = name
	}
	// The recipe variables themselves are not modified by the above.
	if key(t, standin.Redis) != k {
		t.Fatal("the Redis recipe changed")
	}
}

func TestArchiveNames(t *testing.T) {
	re := regexp.MustCompile(`^([a-z0-9]+)-[0-9a-f]{12}\.tar$`)
	names := map[string]bool{}
	for _, r := range standin.All() {
		n, err := standin.ArchiveName(r)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatch(n)
		if m == nil || m[1] != r.Name {
			t.Errorf("archive name %q for %s", n, r.Name)
		}
		names[n] = true
	}
	if len(names) != len(standin.All()) {
		t.Errorf("archive names collide: %v", names)
	}
	if _, err := standin.ArchiveName(standin.Recipe{Name: "x", Tags: []string{"x:1"}, Packages: []string{"p"}, Entrypoint: "missing.sh"}); err == nil {
		t.Error("a recipe with a missing entrypoint has an archive name")
	}
	if _, err := standin.ArchiveName(standin.Recipe{Name: "../x", Tags: []string{"x:1"}, Packages: []string{"p"}, Entrypoint: "redis.sh"}); err == nil {
		t.Error("a recipe named ../x has an archive name")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("DOCKER_BROKER_IMAGE_CACHE", "/some/where")
	if d, err := standin.CacheDir(); err != nil || d != "/some/where" {
		t.Fatalf("CacheDir() = %q, %v with DOCKER_BROKER_IMAGE_CACHE set", d, err)
	}
	t.Setenv("DOCKER_BROKER_IMAGE_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg/cache")
	if d, err := standin.CacheDir(); err != nil || d != "/xdg/cache/docker-broker/standin-images" {
		t.Fatalf("CacheDir() = %q, %v, want the user cache dir", d, err)
	}
}

// A cached archive is returned as it is: nothing is built (the recipe's packages do not exist,
// so a build would fail).
func TestArchiveReturnsTheCachedArchiveWithoutBuilding(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_BROKER_IMAGE_CACHE", dir)
	r := standin.Redis
	r.Packages = []string{"no-such-package-anywhere"}
	name, err := standin.ArchiveName(r)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, name)
	if err := os.WriteFile(want, []byte("cached"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	start := time.Now()
	got, err := r.Archive(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Archive() = %s, want %s", got, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a cached Archive() took %s", d)
	}
	if strings.Contains(logs.String(), "building") {
		t.Errorf("a cached Archive() logged a build:\n%s", logs.String())
	}
	if b, _ := os.ReadFile(want); string(b) != "cached" {
		t.Errorf("the cached archive was rewritten")
	}
}

func TestLockWaitsForTheHolderAndHonoursTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	log := slog.New(slog.DiscardHandler)
	unlock, err := standin.Lock(context.Background(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := standin.Lock(ctx, path, log); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v, want a deadline error", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := standin.Lock(context.Background(), path, log)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("second lock did not wait for the holder: %v", err)
	default:
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second lock not granted after the holder let go")
	}
}

func TestRemoveStaleKeepsOtherRecipesTheNewArchiveAndRecentlyUsedOnes(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"redis-0123456789ab.tar",         // stale: unused for longer than a week
		"redis-aaaaaaaaaaaa.tar",         // another checkout's, used yesterday
		"redis-ffffffffffff.tar",         // the new one
		"redis-cluster-0123456789ab.tar", // another recipe
		"redis.lock",
		"postgresql-0123456789ab.tar",
	}
	for _, f := range files {
		path := filepath.Join(dir, f)
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		used := time.Now().Add(-8 * 24 * time.Hour)
		if f == "redis-aaaaaaaaaaaa.tar" {
			used = time.Now().Add(-24 * time.Hour)
		}
		if err := os.Chtimes(path, used, used); err != nil {
			t.Fatal(err)
		}
	}
	standin.RemoveStale(dir, "redis", "redis-ffffffffffff.tar", slog.New(slog.DiscardHandler))
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"postgresql-0123456789ab.tar", "redis-aaaaaaaaaaaa.tar", "redis-cluster-0123456789ab.tar", "redis-ffffffffffff.tar", "redis.lock"}
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
}

// A cached archive counts as used when Archives hands it out, so that removeStale keeps it.
func TestArchivesMarksTheCachedArchiveUsed(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_BROKER_IMAGE_CACHE", dir)
	name, err := standin.ArchiveName(standin.Redis)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	long := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, long, long); err != nil {
		t.Fatal(err)
	}
	paths, err := standin.Archives(context.Background(), []standin.Recipe{standin.Redis}, 1, nil)
	if err != nil || len(paths) != 1 || paths[0] != path {
		t.Fatalf("Archives: %v, %v; want [%s]", paths, err, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("the archive's last use is still %s", fi.ModTime())
	}
}

// writeTree creates a small root file system: files, a symbolic and a hard link, device and
// proc contents that must not reach the layer.
func writeTree(t *testing.T, rootfs string) {
	t.Helper()
	for _, d := range []string{"usr/bin", "etc", "dev/pts", "proc/1", "sys/kernel", "var/cache/apt/archives", "usr/share/doc/x", "tmp", "usr/local/bin"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"usr/bin/tool":                      "#!/bin/sh\n",
		"etc/passwd":                        "root:x:0:0::/root:/bin/sh\n",
		"etc/resolv.conf":                   "nameserver 192.0.2.1\n",
		"etc/hostname":                      "buildhost\n",
		"dev/null":                          "",
		"proc/1/status":                     "",
		"sys/kernel/x":                      "",
		"var/cache/apt/archives/foo_1.deb":  "deb",
		"usr/share/doc/x/copyright":         "c",
		"tmp/junk":                          "j",
		"var/cache/apt/archives/notdeb.txt": "kept",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "usr/bin/tool"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(rootfs, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(rootfs, "usr/bin/tool"), filepath.Join(rootfs, "usr/bin/tool2")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(rootfs, "etc/passwd"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
}

type builtArchive struct {
	files    map[string][]byte // the archive's members
	manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Entrypoint   []string
			Cmd          []string
			Env          []string
			ExposedPorts map[string]struct{}
			WorkingDir   string
			StopSignal   string
			Labels       map[string]string
		} `json:"config"`
		RootFS struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	layer map[string]*tar.Header // the last layer's members by name
}

func readArchive(t *testing.T, b []byte) builtArchive {
	t.Helper()
	a := builtArchive{files: map[string][]byte{}, layer: map[string]*tar.Header{}}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		a.files[h.Name] = data
	}
	if err := json.Unmarshal(a.files["manifest.json"], &a.manifest); err != nil {
		t.Fatalf("manifest.json: %v\n%s", err, a.files["manifest.json"])
	}
	if len(a.manifest) != 1 {
		t.Fatalf("manifest.json has %d images, want 1", len(a.manifest))
	}
	m := a.manifest[0]
	configBytes, ok := a.files[m.Config]
	if !ok {
		t.Fatalf("manifest config %s is not in the archive", m.Config)
	}
	sum := sha256.Sum256(configBytes)
	if m.Config != hex.EncodeToString(sum[:])+".json" {
		t.Errorf("config file %s is not named by its sha256", m.Config)
	}
	if err := json.Unmarshal(configBytes, &a.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	if len(m.Layers) == 0 || len(m.Layers) != len(a.config.RootFS.DiffIDs) {
		t.Fatalf("layers %v, diff ids %v: want as many of each", m.Layers, a.config.RootFS.DiffIDs)
	}
	for i, name := range m.Layers {
		layer, ok := a.files[name]
		if !ok {
			t.Fatalf("layer %s is not in the archive", name)
		}
		lsum := sha256.Sum256(layer)
		if got := "sha256:" + hex.EncodeToString(lsum[:]); got != a.config.RootFS.DiffIDs[i] {
			t.Errorf("layer digest %s, diff id %s", got, a.config.RootFS.DiffIDs[i])
		}
		if i < len(m.Layers)-1 {
			continue
		}
		lr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer: %v", err)
			}
			a.layer[strings.TrimSuffix(h.Name, "/")] = h
		}
	}
	return a
}

func TestArchiveFormat(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	work := t.TempDir()
	rootfs := filepath.Join(work, "rootfs")
	writeTree(t, rootfs)
	r := standin.PostgreSQL
	script, err := standin.EntrypointScript(r)
	if err != nil {
		t.Fatal(err)
	}
	r.Remove = []string{"usr/bin/tool2"} // a recipe removal
	r.Files = map[string]string{         // recipe files: in a new directory, and over a link
		"etc/app/conf.d/10-defaults.conf": "a = 1\n",
		"etc/linked.conf":                 "not through the link\n",
	}
	outside := filepath.Join(work, "outside.conf") // where an absolute link of the tree points
	if err := os.WriteFile(outside, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rootfs, "etc/linked.conf")); err != nil {
		t.Fatal(err)
	}
	if err := standin.PrepareRootfs(rootfs, r, script); err != nil {
		t.Fatal(err)
	}
	layerPath := filepath.Join(work, "layer.tar")
	diffID, err := standin.LayerTar(context.Background(), rootfs, layerPath)
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, r)
	var out bytes.Buffer
	// Below the layer, another (as the base's is): an empty one.
	empty := filepath.Join(work, "empty.tar")
	if err := os.WriteFile(empty, make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	emptySum := sha256.Sum256(make([]byte, 1024))
	layers := []standin.Layer{standin.NewLayer(empty, "sha256:"+hex.EncodeToString(emptySum[:])), standin.NewLayer(layerPath, diffID)}
	if err := standin.WriteArchive(&out, r, k, layers, time.Now()); err != nil {
		t.Fatal(err)
	}
	a := readArchive(t, out.Bytes())
	if len(a.manifest[0].Layers) != 2 || a.config.RootFS.DiffIDs[1] != diffID {
		t.Errorf("layers %v, diff ids %v: want the empty one, then %s", a.manifest[0].Layers, a.config.RootFS.DiffIDs, diffID)
	}

	if got := a.manifest[0].RepoTags; !slices.Equal(got, r.Tags) {
		t.Errorf("RepoTags %v, want %v", got, r.Tags)
	}
	c := a.config
	if c.Architecture != runtime.GOARCH || c.OS != "linux" || c.RootFS.Type != "layers" {
		t.Errorf("architecture %q, os %q, rootfs type %q", c.Architecture, c.OS, c.RootFS.Type)
	}
	if !slices.Equal(c.Config.Entrypoint, []string{standin.EntrypointPath}) || !slices.Equal(c.Config.Cmd, r.Cmd) ||
		!slices.Equal(c.Config.Env, r.Env) || c.Config.StopSignal != "SIGINT" {
		t.Errorf("config %+v", c.Config)
	}
	if _, ok := c.Config.ExposedPorts["5432/tcp"]; !ok || len(c.Config.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v", c.Config.ExposedPorts)
	}
	if c.Config.Labels[standin.LabelName] != "postgresql" || c.Config.Labels[standin.LabelKey] != k[:12] {
		t.Errorf("labels %v", c.Config.Labels)
	}

	l := a.layer
	ep := strings.TrimPrefix(standin.EntrypointPath, "/")
	if h := l[ep]; h == nil || h.Mode&0o111 == 0 || h.Size != int64(len(script)) {
		t.Errorf("entrypoint in the layer: %+v", h)
	}
	if h := l["bin"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/bin" {
		t.Errorf("symlink bin: %+v", h)
	}
	if h := l["usr/bin/tool"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("usr/bin/tool: %+v", h)
	}
	for _, gone := range []string{"usr/bin/tool2", "dev/null", "dev/pts", "proc/1", "proc/1/status", "sys/kernel", "var/cache/apt/archives/foo_1.deb", "usr/share/doc/x", "tmp/junk"} {
		if l[gone] != nil {
			t.Errorf("%s is in the layer", gone)
		}
	}
	for _, kept := range []string{"dev", "proc", "sys", "tmp", "var/cache/apt/archives/notdeb.txt", "etc/passwd"} {
		if l[kept] == nil {
			t.Errorf("%s is not in the layer", kept)
		}
	}
	if h := l["etc/passwd"]; h != nil && os.Geteuid() == 0 && (h.Uid != 1234 || h.Gid != 5678) {
		t.Errorf("etc/passwd owned by %d:%d in the layer, want 1234:5678", h.Uid, h.Gid)
	}
	for name, content := range r.Files {
		if h := l[name]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o777 != 0o644 || h.Size != int64(len(content)) {
			t.Errorf("recipe file %s in the layer: %+v", name, h)
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "precious" {
		t.Errorf("a recipe file was written through a symbolic link: %q, %v", b, err)
	}
	if l["etc/hostname"] == nil || l["etc/hostname"].Size != int64(len("localhost\n")) || l["etc/resolv.conf"] == nil || l["etc/resolv.conf"].Size != 0 {
		t.Errorf("the build host's name or resolver reached the layer: %+v %+v", l["etc/hostname"], l["etc/resolv.conf"])
	}
	for name := range l {
		if strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
			t.Errorf("layer member %q", name)
		}
	}
}

func TestArchiveWithHardLink(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	work := t.TempDir()
	rootfs := filepath.Join(work, "rootfs")
	writeTree(t, rootfs)
	layerPath := filepath.Join(work, "layer.tar")
	if _, err := standin.LayerTar(context.Background(), rootfs, layerPath); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(layerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeLink {
			found = true
			if !(h.Name == "usr/bin/tool2" && h.Linkname == "usr/bin/tool") {
				t.Errorf("hard link %s -> %s", h.Name, h.Linkname)
			}
		}
	}
	if !found {
		t.Error("the hard link is not a hard link in the layer")
	}
}

// A removal must never follow a symbolic link out of the root file system (an absolute link
// points into the build host).
func TestRemovalDoesNotFollowSymlinksOutOfTheRootfs(t *testing.T) {
	work := t.TempDir()
	rootfs := filepath.Join(work, "rootfs")
	outside := filepath.Join(work, "host-run")
	if err := os.MkdirAll(filepath.Join(rootfs, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(outside, "precious")
	if err := os.WriteFile(precious, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rootfs, "var/run")); err != nil {
		t.Fatal(err)
	}
	r := standin.Redis
	r.Remove = []string{"var/run/*"}
	script, _ := standin.EntrypointScript(r)
	if err := standin.PrepareRootfs(rootfs, r, script); err == nil {
		t.Error("a removal through a symbolic link was not refused")
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("a file outside the root file system was removed: %v", err)
	}
}

// An interrupted debootstrap leaves mounts in its target (proc, or the host's devices bound
// in): removing the work directory detaches them instead of deleting through them.
func TestRemoveWorkDirDetachesMountsFirst(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, ".x.build-1")
	if err := os.MkdirAll(filepath.Join(dir, "rootfs/dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(work, "host-dev")
	precious := filepath.Join(outside, "precious")
	if os.Geteuid() == 0 {
		if err := os.MkdirAll(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(precious, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(outside, filepath.Join(dir, "rootfs/dev"), "", syscall.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(filepath.Join(dir, "rootfs/dev"), syscall.MNT_DETACH) })
	}
	if err := standin.RemoveWorkDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("work dir still there: %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := os.Stat(precious); err != nil {
			t.Fatalf("removal went through the mount: %v", err)
		}
	}
}
