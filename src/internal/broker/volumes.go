package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instanceDir is where an instance's persistent volumes live, as its engine sees it.
func (b *Broker) instanceDir(instanceID string) string {
	return b.disk.Dir(instanceID)
}

// hasDirectory says whether the instance has a directory on its disk; one that cannot be
// looked at counts as none.
func (b *Broker) hasDirectory(ctx context.Context, instanceID string) bool {
	exists, err := b.disk.Exists(ctx, instanceID)
	return err == nil && exists
}

// volumeDir is the host directory of the container path vol ("/data" → <instance dir>/data).
// Ids and volumes are validated (no "..", absolute volume paths), so it stays inside the
// instance's directory.
func (b *Broker) volumeDir(instanceID, vol string) string {
	return filepath.Join(b.instanceDir(instanceID), vol)
}

// createVolumes creates the instance's volume directories. The instance directory is private
// to root; each volume is handed to the container's user by chownAll.
func (b *Broker) createVolumes(ctx context.Context, instanceID string, vols []string) error {
	if err := b.disk.MakeDirs(ctx, instanceID, vols); err != nil {
		return volumeError(err)
	}
	return nil
}

// volumeError tells the platform's user why an instance got no data directory, without the
// host's paths.
func volumeError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return forUser(err, "the service host's data disk is full: ask the operator to free or grow it")
	}
	return forUser(err, "the service's data directory could not be created on the service host: ask the operator, who finds the reason in the broker's log")
}

// containerOwner is the uid and gid of the user the container runs as, which host paths mounted
// into it (its volume directories, its secret files, the plan's files) are given to; the ancestor
// made them world-writable instead. A user given by name is looked up in the image's own
// /etc/passwd, read from the created container. Root-run images (most database images start as
// root and hand their data directory to their service user themselves) keep root's ownership:
// -1, -1 changes nothing.
func (b *Broker) containerOwner(ctx context.Context, containerID, user string) (uid, gid int, err error) {
	if user == "" || user == "root" || user == "0" {
		return -1, -1, nil
	}
	return b.resolveUser(ctx, containerID, user)
}

// chownAll gives the paths rels of the instance's directory to uid:gid (containerOwner).
func (b *Broker) chownAll(ctx context.Context, instanceID string, rels []string, uid, gid int) error {
	if uid == -1 && gid == -1 {
		return nil
	}
	return b.disk.Chown(ctx, instanceID, rels, uid, gid)
}

// resolveUser turns "name", "uid", "name:group" or "uid:gid" into numeric ids, reading names
// from the container's /etc/passwd and /etc/group.
func (b *Broker) resolveUser(ctx context.Context, containerID, user string) (int, int, error) {
	name, group, hasGroup := strings.Cut(user, ":")
	uid, gid := -1, -1
	if n, err := strconv.Atoi(name); err == nil {
		uid = n
	} else {
		passwd, err := b.engine.ReadFile(ctx, containerID, "/etc/passwd")
		if err != nil {
			return 0, 0, fmt.Errorf("looking up container user %q: %w", name, err)
		}
		fields, ok := lookupColonFile(passwd, name)
		if !ok || len(fields) < 4 {
			return 0, 0, fmt.Errorf("container user %q is not in the image's /etc/passwd", name)
		}
		uid, _ = strconv.Atoi(fields[2])
		gid, _ = strconv.Atoi(fields[3])
	}
	if hasGroup {
		if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else {
			groups, err := b.engine.ReadFile(ctx, containerID, "/etc/group")
			if err != nil {
				return 0, 0, fmt.Errorf("looking up container group %q: %w", group, err)
			}
			fields, ok := lookupColonFile(groups, group)
			if !ok || len(fields) < 3 {
				return 0, 0, fmt.Errorf("container group %q is not in the image's /etc/group", group)
			}
			gid, _ = strconv.Atoi(fields[2])
		}
	}
	return uid, gid, nil
}

// lookupColonFile finds the line of a passwd- or group-style file whose first field is name.
func lookupColonFile(data []byte, name string) ([]string, bool) {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), ":")
		if fields[0] == name {
			return fields, true
		}
	}
	return nil, false
}

// removeVolumes deletes the instance's directory, or moves it where deleted instances' data
// waits out the retention period, when retention is configured.
func (b *Broker) removeVolumes(ctx context.Context, instanceID string) error {
	if !b.hasDirectory(ctx, instanceID) {
		return nil
	}
	if b.cfg.Retention <= 0 {
		if err := b.disk.Remove(ctx, instanceID); err != nil {
			return fmt.Errorf("removing the instance's data: %w", err)
		}
		return nil
	}
	kept, err := b.disk.Retain(ctx, instanceID, b.clock.Now())
	if err != nil {
		return fmt.Errorf("moving the instance's data to the retention directory: %w", err)
	}
	b.log.Info("instance data kept for the retention period", "instance_id", instanceID, "directory", kept, "until", b.clock.Now().Add(b.cfg.Retention).Format(time.RFC3339))
	return nil
}

// purgeRetention deletes retained instance directories older than the retention period.
func (b *Broker) purgeRetention(ctx context.Context) {
	if b.cfg.Retention <= 0 {
		return
	}
	b.disk.PurgeRetained(ctx, b.clock.Now().Add(-b.cfg.Retention), func(dir string, err error) {
		if err != nil {
			b.log.Error("retained instance data could not be purged", "directory", dir, "error", err.Error())
			return
		}
		b.log.Info("retained instance data purged", "directory", dir)
	})
}
