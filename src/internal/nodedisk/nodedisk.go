// Package nodedisk keeps instances' directories on the disk of the node whose engine runs the
// instance, which is not the broker's (a swarm's node): every operation is done by a helper
// container on that node, with no network, through an exec whose input and output stream. The
// work on the data directory (directories, ownership, secret files, removal, retention, listing,
// free space) shares one helper per node, kept between operations when Config.KeepHelpers says
// so; what writes into a service's volumes (the plan's files, a restore) or reads them (a backup)
// gets a one-shot helper that mounts those volumes or the instance's directory alone, so that no
// symbolic link the service planted reaches the node's other files. One-shot helpers are
// removed when the operation ends, also on error or cancellation (where the node keeps a
// helper, without the operation waiting: Close does). Nothing crosses over SSH, and
// the broker's own disk is never touched. The layout is the broker's local one
// (package localdisk) on each node: <root>/cf-<id>, deleted ones in <retention>/cf-<id>-<time>.
//
// The helper image must be on every node and hold a POSIX shell, coreutils and GNU tar. There
// is no registry to pull one from, so it is one of the images the docker job already pulls or
// preloads on every node (images.pull, images.preload_dir): a plan's image with a shell (most
// service images are Debian-based; the stand-ins are Debian's minbase). An instance's own plan
// image is on its node too, but it would do for that instance's directory only: listing
// directories and purging retained data concern no plan, and a plan's image may lack a shell.
package nodedisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
)

// Engine is what a node disk asks of a node's engine.
type Engine interface {
	CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	RemoveContainer(ctx context.Context, id string) error
	ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error)
	CreateExec(ctx context.Context, idOrName string, e dockerengine.Exec) (string, error)
	StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error)
}

// ErrNotPlaced is what Config.EngineOf returns (wrapped) for an instance that has no node yet,
// and so no directory anywhere: it exists nowhere, and removing it does nothing.
var ErrNotPlaced = errors.New("the instance has no node yet")

// LabelHelper marks the helper containers, so that an operator tells them from the instances'.
const LabelHelper = "docker-broker.disk-helper"

// Config says where the directories are on every node and how to reach the nodes.
type Config struct {
	// Root is the data directory on every node; Retention, when set, receives the directories
	// of deleted instances. Paths on the nodes, not on the broker's machine.
	Root, Retention string
	// Image is the helper containers' image, present on every node (see the package comment).
	Image string
	// EngineOf is the engine of the node that holds (or will hold) the instance's directory;
	// an error wrapping ErrNotPlaced when the instance has no node yet.
	EngineOf func(ctx context.Context, instanceID string) (Engine, error)
	// Nodes are the engines of every node, for what concerns them all: listing directories and
	// purging retained data.
	Nodes func(ctx context.Context) ([]Engine, error)
	// KeepHelpers keeps one helper per node for the data directory from the node's first
	// operation until Close, else each operation has a helper of its own. Starting a helper
	// costs several times what the operation does (0.5 to 0.8s against 0.1s here), and a
	// provision does several: one idle container per node buys the platform's users that time.
	KeepHelpers bool
}

// Disk is the instances' directories on their nodes (broker.Disk).
type Disk struct {
	cfg Config
	// mount is the directory bound into a helper for the data and retention directories: their
	// nearest common ancestor, so that retaining an instance's data is a rename, not a copy.
	mount string

	mu sync.Mutex
	// kept are the node helpers that wait for the next operation, by node (KeepHelpers).
	kept map[Engine]*keptHelper
	// removing counts the removals of helpers that no operation waits for, removed signals the
	// end of each and removeErrs holds how those done failed: Close waits for them and reports
	// the failures. (Operations may run during Close, which a WaitGroup does not allow.)
	removing   int
	removed    *sync.Cond // on mu
	removeErrs []error
}

// New returns the node disk of cfg.
func New(cfg Config) (*Disk, error) {
	switch {
	case !filepath.IsAbs(cfg.Root):
		return nil, fmt.Errorf("the node disk's data directory %q must be an absolute path on the nodes", cfg.Root)
	case cfg.Retention != "" && !filepath.IsAbs(cfg.Retention):
		return nil, fmt.Errorf("the node disk's retention directory %q must be an absolute path on the nodes", cfg.Retention)
	case cfg.Image == "":
		return nil, errors.New("the node disk needs a helper image with a shell that every node has: set one of the images the docker job pulls or preloads")
	case cfg.EngineOf == nil || cfg.Nodes == nil:
		return nil, errors.New("the node disk needs the engine of an instance's node and the engines of all nodes")
	}
	mount := filepath.Clean(cfg.Root)
	if cfg.Retention != "" {
		mount = commonAncestor(mount, filepath.Clean(cfg.Retention))
	}
	d := &Disk{cfg: cfg, mount: mount, kept: map[Engine]*keptHelper{}}
	d.removed = sync.NewCond(&d.mu)
	return d, nil
}

// OnEngine is the Config of a single node: every instance on engine.
func OnEngine(engine Engine, root, retention, image string) Config {
	return Config{
		Root: root, Retention: retention, Image: image,
		EngineOf: func(context.Context, string) (Engine, error) { return engine, nil },
		Nodes:    func(context.Context) ([]Engine, error) { return []Engine{engine}, nil },
	}
}

// commonAncestor is the longest directory both absolute, clean paths lie in.
func commonAncestor(a, b string) string {
	for !within(b, a) {
		a = filepath.Dir(a)
	}
	return a
}

// within says whether p is dir or lies in it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// In a helper, the common ancestor of the data and retention directories is at nodeMount; an
// instance's directory at workMount, or its volumes at workMount/0, workMount/1...
const (
	nodeMount = "/node"
	workMount = "/work"
)

// inNode is where the node path p (below d.mount) is inside a helper that mounts d.mount.
func (d *Disk) inNode(p string) string {
	rel, _ := filepath.Rel(d.mount, p)
	return filepath.Join(nodeMount, rel)
}

// Dir is the instance's directory on its node.
func (d *Disk) Dir(instanceID string) string {
	return filepath.Join(d.cfg.Root, localdisk.DirName(instanceID))
}

// helper is a one-shot helper container on a node, running only to have commands executed.
type helper struct {
	engine Engine
	id     string
}

// withHelper runs work with a one-shot helper on engine's node that bind-mounts binds, and
// removes the helper whatever work did, also when ctx ended. Where the node keeps a helper
// (Config.KeepHelpers), the one-shot helper joins its network namespace, which has no network
// either: making one of its own is about half of a helper's start; and the operation does not
// wait for the engine to tear the one-shot helper down (Close does).
func (d *Disk) withHelper(ctx context.Context, engine Engine, binds []string, work func(h helper) error) error {
	if !d.cfg.KeepHelpers {
		return d.withOneShot(ctx, engine, binds, work)
	}
	return d.withNodeHelper(ctx, engine, func(kept helper) error {
		h, err := d.startHelper(ctx, engine, binds, "container:"+kept.id)
		if errors.Is(err, errNetworkGone) {
			return fmt.Errorf("%w: %w", errHelperGone, err)
		}
		if err != nil {
			return err
		}
		defer d.removeInBackground(h)
		return work(h)
	})
}

// errNetworkGone is a helper that could not start for the container whose network namespace it
// joins being gone or stopped. Nothing of its work ran.
var errNetworkGone = errors.New("the container whose network the helper joins is gone")

// withOneShot runs work with a helper of its own on engine's node that bind-mounts binds, and
// removes the helper whatever work did, also when ctx ended.
func (d *Disk) withOneShot(ctx context.Context, engine Engine, binds []string, work func(h helper) error) error {
	h, err := d.startHelper(ctx, engine, binds, "none")
	if err != nil {
		return err
	}
	return errors.Join(work(h), d.removeHelper(h))
}

// startHelper creates and starts a helper on engine's node in the network mode network that
// bind-mounts binds.
func (d *Disk) startHelper(ctx context.Context, engine Engine, binds []string, network string) (helper, error) {
	id, err := engine.CreateContainer(ctx, dockerengine.ContainerSpec{
		Image: d.cfg.Image,
		// A shell as the first process, which waits until the helper is removed; the commands
		// come as execs, with their input and output streamed.
		Entrypoint:  []string{"sh", "-c", "while :; do sleep 3600; done"},
		User:        "0:0",
		Labels:      map[string]string{LabelHelper: "true"},
		Binds:       binds,
		NetworkMode: network,
	})
	if err != nil {
		return helper{}, fmt.Errorf("creating a helper container of image %s on the node (the node disk's helper image must be on every node): %w", d.cfg.Image, err)
	}
	h := helper{engine: engine, id: id}
	if err := engine.StartContainer(ctx, id); err != nil {
		if network != "none" && (dockerengine.IsNotFound(err) || dockerengine.IsConflict(err)) {
			err = fmt.Errorf("%w: %w", errNetworkGone, err)
		}
		return helper{}, errors.Join(fmt.Errorf("starting a helper container on the node: %w", err), d.removeHelper(h))
	}
	return h, nil
}

// run executes script with sh in the helper, its positional parameters args, stdin as its
// input and its output into stdout; a non-zero exit status is an error with its standard error.
func (h helper) run(ctx context.Context, script string, args []string, stdin io.Reader, stdout io.Writer) error {
	execID, err := h.engine.CreateExec(ctx, h.id, dockerengine.Exec{Cmd: append([]string{"sh", "-c", "set -eu; " + script, "sh"}, args...), Stdin: stdin != nil})
	if dockerengine.IsNotFound(err) || dockerengine.IsConflict(err) {
		return fmt.Errorf("%w: %w", errHelperGone, err)
	}
	if err != nil {
		return err
	}
	if stdout == nil {
		stdout = io.Discard
	}
	res, err := h.engine.StreamExec(ctx, execID, stdin, stdout)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit status %d: %s", res.ExitCode, strings.TrimSpace(string(res.Output)))
	}
	return nil
}

// output runs script as run does and returns its output.
func (h helper) output(ctx context.Context, script string, args ...string) (string, error) {
	var out bytes.Buffer
	err := h.run(ctx, script, args, nil, &out)
	return out.String(), err
}

// onNode runs script with a node helper (withNodeHelper) on the instance's node and returns
// its output.
func (d *Disk) onNode(ctx context.Context, instanceID, script string, args ...string) (string, error) {
	var out string
	err := d.atNode(ctx, instanceID, func(h helper) (err error) {
		out, err = h.output(ctx, script, args...)
		return err
	})
	return out, err
}

// atNode runs work with a node helper (withNodeHelper) on the instance's node.
func (d *Disk) atNode(ctx context.Context, instanceID string, work func(h helper) error) error {
	engine, err := d.cfg.EngineOf(ctx, instanceID)
	if err != nil {
		return err
	}
	return d.withNodeHelper(ctx, engine, work)
}

// inInstanceDir runs work with a one-shot helper on the instance's node that mounts the
// instance's directory at workMount.
func (d *Disk) inInstanceDir(ctx context.Context, instanceID string, work func(h helper) error) error {
	return d.inInstanceDirs(ctx, instanceID, []string{d.Dir(instanceID) + ":" + workMount}, work)
}

// inInstanceDirs runs work with a one-shot helper on the instance's node that mounts binds,
// directories of the instance's.
func (d *Disk) inInstanceDirs(ctx context.Context, instanceID string, binds []string, work func(h helper) error) error {
	engine, err := d.cfg.EngineOf(ctx, instanceID)
	if err != nil {
		return err
	}
	return d.withHelper(ctx, engine, binds, work)
}

// Exists says whether the instance has a directory on its node.
func (d *Disk) Exists(ctx context.Context, instanceID string) (bool, error) {
	out, err := d.onNode(ctx, instanceID, `if [ -d "$1" ]; then echo yes; fi`, d.inNode(d.Dir(instanceID)))
	if errors.Is(err, ErrNotPlaced) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for the directory of instance %s on its node: %w", instanceID, err)
	}
	return strings.TrimSpace(out) == "yes", nil
}

// MakeDirs creates the instance's directory, private to root, and the directories rels in it.
func (d *Disk) MakeDirs(ctx context.Context, instanceID string, rels []string) error {
	dir := d.inNode(d.Dir(instanceID))
	_, err := d.onNode(ctx, instanceID, `dir=$1; shift; mkdir -p -m 700 "$dir"; cd "$dir"; for rel; do mkdir -p -m 750 -- "$rel"; done`, append([]string{dir}, relPaths(rels)...)...)
	if err != nil {
		return fmt.Errorf("creating the directories of instance %s on its node: %w", instanceID, err)
	}
	return nil
}

// relPaths are paths relative to a directory, without the leading '/' a volume's has.
func relPaths(paths []string) []string {
	rels := make([]string, len(paths))
	for i, p := range paths {
		rels[i] = strings.TrimPrefix(filepath.Clean("/"+p), "/")
	}
	return rels
}

// owner is chown's owner argument for uid:gid, "" when both are -1 (nothing changes).
func owner(uid, gid int) string {
	switch {
	case uid == -1 && gid == -1:
		return ""
	case gid == -1:
		return strconv.Itoa(uid)
	case uid == -1:
		return ":" + strconv.Itoa(gid)
	}
	return strconv.Itoa(uid) + ":" + strconv.Itoa(gid)
}

// Chown gives the paths rels of the instance's directory to uid:gid (-1 keeps an id).
func (d *Disk) Chown(ctx context.Context, instanceID string, rels []string, uid, gid int) error {
	own := owner(uid, gid)
	if own == "" || len(rels) == 0 {
		return nil
	}
	err := d.atNode(ctx, instanceID, func(h helper) error {
		return h.run(ctx, `own=$1 dir=$2; shift 2; cd "$dir"; chown -- "$own" "$@"`, append([]string{own, d.inNode(d.Dir(instanceID))}, relPaths(rels)...), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("giving the files of instance %s to the container's user %d:%d on its node: %w", instanceID, uid, gid, err)
	}
	return nil
}

// WriteSecrets writes the files of secrets (values by path relative to the instance's
// directory), readable by their owner only, in directories private to root, in one exec. The
// values go through the exec's standard input, one after the other (head -c, as for the plan's
// files), never its command line.
func (d *Disk) WriteSecrets(ctx context.Context, instanceID string, secrets map[string][]byte) error {
	rels := slices.Sorted(maps.Keys(secrets))
	args := []string{d.inNode(d.Dir(instanceID))}
	var values bytes.Buffer
	for _, rel := range rels {
		args = append(args, relPaths([]string{rel})[0], strconv.Itoa(len(secrets[rel])))
		values.Write(secrets[rel])
	}
	err := d.atNode(ctx, instanceID, func(h helper) error {
		return h.run(ctx, `umask 077; cd "$1"; shift
while [ $# -gt 0 ]; do
	mkdir -p -- "$(dirname -- "$1")"; head -c "$2" > "$1.new"; chmod 600 "$1.new"; mv -f -- "$1.new" "$1"
	shift 2
done`, args, &values, nil)
	})
	if err != nil {
		return fmt.Errorf("writing the secret files %s of instance %s on its node: %w", strings.Join(rels, ", "), instanceID, err)
	}
	return nil
}

// Remove deletes the instance's directory on its node, if any.
func (d *Disk) Remove(ctx context.Context, instanceID string) error {
	_, err := d.onNode(ctx, instanceID, `rm -rf -- "$1"`, d.inNode(d.Dir(instanceID)))
	if err != nil && !errors.Is(err, ErrNotPlaced) {
		return fmt.Errorf("removing the directory of instance %s on its node: %w", instanceID, err)
	}
	return nil
}

// Retain moves the instance's directory into the retention directory of its node.
func (d *Disk) Retain(ctx context.Context, instanceID string, at time.Time) (string, error) {
	if d.cfg.Retention == "" {
		return "", errors.New("no retention directory is configured on the nodes")
	}
	kept := filepath.Join(d.cfg.Retention, localdisk.RetainedName(instanceID, at))
	_, err := d.onNode(ctx, instanceID, `mkdir -p -m 700 "$(dirname -- "$2")"; mv -- "$1" "$2"`, d.inNode(d.Dir(instanceID)), d.inNode(kept))
	if err != nil {
		return "", fmt.Errorf("on the node of instance %s: %w", instanceID, err)
	}
	return kept, nil
}

// PurgeRetained deletes, on every node, the retained directories deleted before cutoff.
func (d *Disk) PurgeRetained(ctx context.Context, cutoff time.Time, purged func(dir string, err error)) {
	if d.cfg.Retention == "" {
		return
	}
	retention := d.inNode(d.cfg.Retention)
	_ = d.onEveryNode(ctx, func(h helper) error {
		names, err := h.output(ctx, `if [ -d "$1" ]; then ls -1A -- "$1"; fi`, retention)
		if err != nil {
			return err
		}
		for _, name := range strings.Fields(names) {
			if localdisk.RetainedBefore(name, cutoff) {
				purged(filepath.Join(d.cfg.Retention, name), h.run(ctx, `rm -rf -- "$1"`, []string{filepath.Join(retention, name)}, nil, nil))
			}
		}
		return nil
	})
}

// onEveryNode runs work with a node helper (withNodeHelper) on every node.
func (d *Disk) onEveryNode(ctx context.Context, work func(h helper) error) error {
	nodes, err := d.cfg.Nodes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, engine := range nodes {
		errs = append(errs, d.withNodeHelper(ctx, engine, work))
	}
	return errors.Join(errs...)
}

// Instances lists the instances that have a directory on any node.
func (d *Disk) Instances(ctx context.Context) ([]string, error) {
	var ids []string
	err := d.onEveryNode(ctx, func(h helper) error {
		names, err := h.output(ctx, `cd "$1" 2>/dev/null || exit 0; for d in cf-*; do if [ -d "$d" ] && [ ! -L "$d" ]; then echo "$d"; fi; done`, d.inNode(d.cfg.Root))
		for _, name := range strings.Fields(names) {
			if id, ok := localdisk.InstanceOf(name); ok {
				ids = append(ids, id)
			}
		}
		return err
	})
	return ids, err
}

// NearlyFull says whether the file system of the data directory on the instance's node has
// under 1% free.
func (d *Disk) NearlyFull(ctx context.Context, instanceID string) bool {
	out, err := d.onNode(ctx, instanceID, `stat -f -c '%b %a' "$1"`, d.inNode(d.cfg.Root))
	if err != nil {
		return false
	}
	var blocks, avail uint64
	if _, err := fmt.Sscan(out, &blocks, &avail); err != nil || blocks == 0 {
		return false
	}
	return avail*100 < blocks
}
