package nodedisk_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/nodedisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// planImage is the image of the instances here, also the helpers' (it has a shell and tar), and
// planUser the user its containers run as.
const (
	planImage = "redis:7"
	planUser  = "redis"
)

// node is a node disk on the test binary's dockerd, whose data root is a directory of this
// machine the test looks into only to check what the helpers did.
type node struct {
	t               testing.TB
	d               *testenv.Dockerd
	disk            *nodedisk.Disk
	root, retention string
	uid, gid        int
}

func newNode(t testing.TB) *node {
	t.Helper()
	d := testenv.Docker(t)
	recipe, ok := standin.For(planImage)
	if !ok {
		t.Fatalf("no stand-in for %s", planImage)
	}
	d.Standin(t, recipe)
	base := t.TempDir()
	n := &node{t: t, d: d, root: filepath.Join(base, "store", "instances"), retention: filepath.Join(base, "store", "instances.deleted")}
	disk, err := nodedisk.New(nodedisk.OnEngine(d.Engine, n.root, n.retention, planImage))
	if err != nil {
		t.Fatal(err)
	}
	n.disk = disk
	ids, err := d.Shell(context.Background(), d.Run(t, dockerengine.ContainerSpec{Name: "nd-ids", Image: planImage, Entrypoint: []string{"sleep", "600"}}).ID, "id -u "+planUser+"; id -g "+planUser)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(ids)
	n.uid, _ = strconv.Atoi(fields[0])
	n.gid, _ = strconv.Atoi(fields[1])
	return n
}

// wantOwned checks the node path's mode and owner.
func (n *node) wantOwned(p string, mode fs.FileMode, uid, gid int) {
	n.t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		n.t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if info.Mode().Perm() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		n.t.Errorf("%s is %v %d:%d, want %v %d:%d", p, info.Mode().Perm(), st.Uid, st.Gid, mode, uid, gid)
	}
}

// noHelpersLeft checks that no helper container remains on the node.
func (n *node) noHelpersLeft() {
	n.t.Helper()
	left, err := n.d.Engine.ListContainers(context.Background(), map[string]string{nodedisk.LabelHelper: "true"})
	if err != nil {
		n.t.Fatal(err)
	}
	if len(left) > 0 {
		n.t.Errorf("%d helper containers left on the node", len(left))
	}
}

// wantWritten writes files into the instance's volumes, owned by the plan's user, and checks
// which were written.
func (n *node) wantWritten(instanceID string, files []localdisk.VolumeFile, want ...bool) {
	n.t.Helper()
	written, err := n.disk.WriteFiles(context.Background(), instanceID, files, n.uid, n.gid)
	if err != nil || !slices.Equal(written, want) {
		n.t.Fatalf("writing files: %v %v, want %v", written, err, want)
	}
}

// wantContent checks that the node path is a regular file that holds content.
func (n *node) wantContent(p, content string) {
	n.t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		n.t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil || !info.Mode().IsRegular() || string(data) != content {
		n.t.Errorf("%s (%v) holds %q %v, want a regular file with %q", p, info.Mode(), data, err, content)
	}
}

// TestTheNodeDiskPreparesWhatTheContainerReads creates an instance's directories, secret and
// files on the node through helpers, then runs a container of the plan image as its user, with
// them bind-mounted as the broker mounts them: it reads the secret and a file, and plants
// symbolic links that the next writes neither follow nor write through.
func TestTheNodeDiskPreparesWhatTheContainerReads(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	if exists, err := n.disk.Exists(ctx, "i1"); err != nil || exists {
		t.Fatalf("a directory before any was made: %v %v", exists, err)
	}
	if err := n.disk.MakeDirs(ctx, "i1", []string{"/data", "/var/log/redis"}); err != nil {
		t.Fatal(err)
	}
	if err := n.disk.WriteSecrets(ctx, "i1", map[string][]byte{"secrets/password": []byte("s3cret\n$HOME"), "secrets/username": []byte("u")}); err != nil {
		t.Fatal(err)
	}
	if err := n.disk.Chown(ctx, "i1", []string{"data", "var/log/redis", "secrets/password"}, n.uid, n.gid); err != nil {
		t.Fatal(err)
	}
	// Files in two volumes, one of them empty, written by one helper.
	files := []localdisk.VolumeFile{
		{Volume: "/data", Name: "my conf/redis.conf", Content: []byte("port 6380\n"), Mode: 0o640},
		{Volume: "/data", Name: "users.acl", Content: []byte("user default on\n"), Mode: 0o600, Once: true},
		{Volume: "/var/log/redis", Name: "empty", Mode: 0o644},
	}
	n.wantWritten("i1", files, true, true, true)
	// Again, as at a recreation: the file written once stays as it is, the others are rewritten.
	files[0].Content, files[1].Content = []byte("port 6379\n"), []byte("changed\n")
	n.wantWritten("i1", files, true, false, true)
	if exists, err := n.disk.Exists(ctx, "i1"); err != nil || !exists {
		t.Fatalf("no directory after MakeDirs: %v %v", exists, err)
	}
	dir := n.disk.Dir("i1")
	if dir != filepath.Join(n.root, "cf-i1") {
		t.Errorf("Dir is %s", dir)
	}
	n.wantOwned(dir, 0o700, 0, 0)
	n.wantOwned(filepath.Join(dir, "data"), 0o750, n.uid, n.gid)
	n.wantOwned(filepath.Join(dir, "secrets", "password"), 0o600, n.uid, n.gid)
	n.wantOwned(filepath.Join(dir, "secrets", "username"), 0o600, 0, 0)
	n.wantContent(filepath.Join(dir, "secrets", "username"), "u")
	n.wantOwned(filepath.Join(dir, "data", "my conf"), 0o750, n.uid, n.gid)
	n.wantOwned(filepath.Join(dir, "data", "my conf", "redis.conf"), 0o640, n.uid, n.gid)
	n.wantOwned(filepath.Join(dir, "data", "users.acl"), 0o600, n.uid, n.gid)
	n.wantOwned(filepath.Join(dir, "var", "log", "redis", "empty"), 0o644, n.uid, n.gid)
	n.wantContent(filepath.Join(dir, "data", "users.acl"), "user default on\n")
	n.wantContent(filepath.Join(dir, "var", "log", "redis", "empty"), "")

	c := n.d.Run(t, dockerengine.ContainerSpec{
		Name: "nd-reader", Image: planImage, User: planUser, Entrypoint: []string{"sleep", "600"},
		Binds: []string{filepath.Join(dir, "data") + ":/data", filepath.Join(dir, "secrets", "password") + ":/run/secrets/password:ro"},
	})
	out, err := n.d.Shell(ctx, c.ID, `cat /run/secrets/password; echo; cat "/data/my conf/redis.conf"`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "s3cret\n$HOME\nport 6379"; out != want {
		t.Errorf("the container read %q, want %q", out, want)
	}
	// The service planted symbolic links for the broker to write through: a directory of a
	// file's path, and the file rewritten at every creation, a link to another of its files.
	plant := `ln -s /etc /data/link; echo canary > /data/canary; rm "/data/my conf/redis.conf"; ln -s ../canary "/data/my conf/redis.conf"`
	if _, err := n.d.Shell(ctx, c.ID, plant); err != nil {
		t.Fatal(err)
	}
	files = []localdisk.VolumeFile{
		{Volume: "/data", Name: "my conf/redis.conf", Content: []byte("port 6381\n"), Mode: 0o640},
		{Volume: "/data", Name: "link/passwd", Content: []byte("x"), Mode: 0o644},
	}
	_, err = n.disk.WriteFiles(ctx, "i1", files, n.uid, n.gid)
	if err == nil || !strings.Contains(err.Error(), "writing /data/link/passwd") || !strings.Contains(err.Error(), "link is a symbolic link") {
		t.Errorf("writing through a symbolic link the service planted: %v", err)
	}
	n.wantContent(filepath.Join(dir, "data", "my conf", "redis.conf"), "port 6381\n")
	n.wantContent(filepath.Join(dir, "data", "canary"), "canary\n")
	n.noHelpersLeft()
}

// TestTheNodeDiskCopiesListsRetainsAndRemoves backs a volume up as a tar stream, restores it
// into another instance's directory, lists, retains, purges and removes, all on the node.
func TestTheNodeDiskCopiesListsRetainsAndRemoves(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	if err := n.disk.MakeDirs(ctx, "src", []string{"/data", "/var/lib/extra"}); err != nil {
		t.Fatal(err)
	}
	n.wantWritten("src", []localdisk.VolumeFile{{Volume: "/data", Name: "dump.rdb", Content: []byte("data"), Mode: 0o600}}, true)
	var archive bytes.Buffer
	if err := n.disk.ReadVolumes(ctx, "src", []string{"/data", "/var/lib/extra", "/missing"}, &archive); err != nil {
		t.Fatal(err)
	}
	names := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(archive.Bytes()))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = hdr
	}
	if hdr := names["data/dump.rdb"]; hdr == nil || hdr.Uid != n.uid || hdr.Mode&0o777 != 0o600 {
		t.Errorf("the archive's data/dump.rdb: %+v (entries %v)", hdr, names)
	}
	if names["var/lib/extra/"] == nil {
		t.Errorf("the archive lacks var/lib/extra/: %v", names)
	}

	if err := n.disk.ReplaceVolumes(ctx, "dst", []string{"/data", "/var/lib/extra"}, &archive); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(n.disk.Dir("dst"), "data", "dump.rdb")
	if data, err := os.ReadFile(restored); err != nil || string(data) != "data" {
		t.Fatalf("restored file: %q %v", data, err)
	}
	n.wantOwned(restored, 0o600, n.uid, n.gid)
	n.wantOwned(n.disk.Dir("dst"), 0o700, 0, 0)

	for _, name := range []string{"../escaped", "etc/passwd", "data/../../escaped"} {
		var bad bytes.Buffer
		tw := tar.NewWriter(&bad)
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
		_, _ = tw.Write([]byte("x"))
		tw.Close()
		err := n.disk.ReplaceVolumes(ctx, "dst", []string{"/data"}, &bad)
		if err == nil || !strings.Contains(err.Error(), "in none of the plan's persistent volumes") {
			t.Errorf("archive entry %q: %v", name, err)
		}
	}

	ids, err := n.disk.Instances(ctx)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"dst", "src"}) {
		t.Errorf("instances with a directory: %v %v", ids, err)
	}
	if n.disk.NearlyFull(ctx, "src") {
		t.Error("the test machine's disk is said to be full")
	}

	deletedAt := time.Unix(1_700_000_000, 0)
	kept, err := n.disk.Retain(ctx, "src", deletedAt)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(kept, "data", "dump.rdb")); err != nil || string(data) != "data" {
		t.Fatalf("retained data at %s: %q %v", kept, data, err)
	}
	var purged []string
	report := func(dir string, err error) {
		if err != nil {
			t.Errorf("purging %s: %v", dir, err)
		}
		purged = append(purged, dir)
	}
	n.disk.PurgeRetained(ctx, deletedAt.Add(-time.Second), report)
	if len(purged) > 0 {
		t.Errorf("purged before the cutoff: %v", purged)
	}
	n.disk.PurgeRetained(ctx, deletedAt, report)
	if !slices.Equal(purged, []string{kept}) {
		t.Errorf("purged %v, want %s", purged, kept)
	}
	if _, err := os.Stat(kept); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("retained data still there after its purge: %v", err)
	}

	if err := n.disk.Remove(ctx, "dst"); err != nil {
		t.Fatal(err)
	}
	if exists, err := n.disk.Exists(ctx, "dst"); err != nil || exists {
		t.Errorf("the directory remains after its removal: %v %v", exists, err)
	}
	n.noHelpersLeft()
}

// TestACancelledOperationLeavesNoHelper cancels a backup while its helper streams.
func TestACancelledOperationLeavesNoHelper(t *testing.T) {
	n := newNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := n.disk.MakeDirs(ctx, "c", []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	err := n.disk.ReadVolumes(ctx, "c", []string{"/data"}, cancelling{cancel})
	if err == nil {
		t.Fatal("a cancelled copy succeeded")
	}
	n.noHelpersLeft()
}

// cancelling is a writer that cancels the operation at its first write.
type cancelling struct{ cancel context.CancelFunc }

func (c cancelling) Write([]byte) (int, error) {
	c.cancel()
	return 0, context.Canceled
}

func TestAHelperImageTheNodeLacksIsNamed(t *testing.T) {
	n := newNode(t)
	disk, err := nodedisk.New(nodedisk.OnEngine(n.d.Engine, n.root, "", "nd-absent:1"))
	if err != nil {
		t.Fatal(err)
	}
	err = disk.MakeDirs(context.Background(), "x", nil)
	if err == nil || !strings.Contains(err.Error(), "nd-absent:1") {
		t.Errorf("a missing helper image: %v", err)
	}
}

// helpers counts the helper containers on the node.
func (n *node) helpers() []dockerengine.Container {
	n.t.Helper()
	list, err := n.d.Engine.ListContainers(context.Background(), map[string]string{nodedisk.LabelHelper: "true"})
	if err != nil {
		n.t.Fatal(err)
	}
	return list
}

// TestAKeptHelperServesTheNodesOperations keeps one helper, which Warm starts, for the
// operations on a node's data directory, whose network namespace the one-shot helpers join,
// replaces it when it is gone, and Close removes it.
func TestAKeptHelperServesTheNodesOperations(t *testing.T) {
	n := newNode(t)
	cfg := nodedisk.OnEngine(n.d.Engine, n.root, n.retention, planImage)
	cfg.KeepHelpers = true
	disk, err := nodedisk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Warmed before any operation, as the broker does at its start.
	if err := disk.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	warmed := n.helpers()
	if len(warmed) != 1 || !warmed[0].Running {
		t.Fatalf("%d helpers after Warm, want one running", len(warmed))
	}
	if err := disk.MakeDirs(ctx, "k", []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	if err := disk.WriteSecrets(ctx, "k", map[string][]byte{"secrets/password": []byte("pw")}); err != nil {
		t.Fatal(err)
	}
	if err := disk.Chown(ctx, "k", []string{"data", "secrets/password"}, n.uid, n.gid); err != nil {
		t.Fatal(err)
	}
	kept := n.helpers()
	if len(kept) != 1 || !kept[0].Running || kept[0].ID != warmed[0].ID {
		t.Fatalf("%d helpers after three operations, want the one Warm started, kept running", len(kept))
	}

	// Removed behind the disk's back (an engine restart stops it too): replaced.
	if err := n.d.Engine.RemoveContainer(ctx, kept[0].ID); err != nil {
		t.Fatal(err)
	}
	if exists, err := disk.Exists(ctx, "k"); err != nil || !exists {
		t.Fatalf("after the kept helper went: %v %v", exists, err)
	}
	again := n.helpers()
	if len(again) != 1 || again[0].ID == kept[0].ID {
		t.Fatalf("helpers after the replacement: %d", len(again))
	}
	// Also for a one-shot helper, which joins the kept helper's network namespace.
	if err := n.d.Engine.RemoveContainer(ctx, again[0].ID); err != nil {
		t.Fatal(err)
	}
	files := []localdisk.VolumeFile{{Volume: "/data", Name: "redis.conf", Content: []byte("port 6379\n"), Mode: 0o600}}
	if _, err := disk.WriteFiles(ctx, "k", files, n.uid, n.gid); err != nil {
		t.Fatal(err)
	}
	n.wantContent(filepath.Join(disk.Dir("k"), "data", "redis.conf"), "port 6379\n")
	// Close waits for the one-shot helper's removal, which the write did not.
	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	n.noHelpersLeft()
}

func TestAnInstanceWithoutANodeHasNoDirectoryToRemove(t *testing.T) {
	notPlaced := func(_ context.Context, id string) (nodedisk.Engine, error) {
		return nil, fmt.Errorf("instance %s: %w", id, nodedisk.ErrNotPlaced)
	}
	disk, err := nodedisk.New(nodedisk.Config{
		Root: "/store/instances", Image: planImage, EngineOf: notPlaced,
		Nodes: func(context.Context) ([]nodedisk.Engine, error) { return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if exists, err := disk.Exists(ctx, "i1"); exists || err != nil {
		t.Errorf("Exists = %v, %v; want false: a provision that failed before its placement made no directory", exists, err)
	}
	if err := disk.Remove(ctx, "i1"); err != nil {
		t.Errorf("Remove = %v; want nothing to do", err)
	}
	if err := disk.MakeDirs(ctx, "i1", []string{"data"}); !errors.Is(err, nodedisk.ErrNotPlaced) {
		t.Errorf("MakeDirs = %v; want ErrNotPlaced: directories go on the instance's node only", err)
	}
}

// TestTheHelpersOfAKilledBrokerAreSweptAtStart: a disk that was never closed (its broker was
// killed) leaves its kept helper running; the next broker's disk removes it.
func TestTheHelpersOfAKilledBrokerAreSweptAtStart(t *testing.T) {
	n := newNode(t)
	cfg := nodedisk.OnEngine(n.d.Engine, n.root, n.retention, planImage)
	cfg.KeepHelpers = true
	killed, err := nodedisk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := killed.MakeDirs(ctx, "s", []string{"/data"}); err != nil {
		t.Fatal(err)
	}
	if left := n.helpers(); len(left) != 1 {
		t.Fatalf("%d helpers kept, want 1", len(left))
	}
	next, err := nodedisk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := next.Sweep(ctx); err != nil || removed != 1 {
		t.Errorf("Sweep = %d, %v; want the one helper removed", removed, err)
	}
	n.noHelpersLeft()
}
