package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instanceDir is where an instance's persistent volumes live: <data_dir>/cf-<id>, as the
// original broker laid them out (so its data can be adopted in place).
func (b *Broker) instanceDir(instanceID string) string {
	return filepath.Join(b.cfg.DataDir, containerName(instanceID))
}

// hasDirectory says whether the instance has a directory in the data directory.
func (b *Broker) hasDirectory(instanceID string) bool {
	_, err := os.Stat(b.instanceDir(instanceID))
	return err == nil
}

// volumeDir is the host directory of the container path vol ("/data" → <instance dir>/data).
// Ids and volumes are validated (no "..", absolute volume paths), so it stays inside DataDir.
func (b *Broker) volumeDir(instanceID, vol string) string {
	return filepath.Join(b.instanceDir(instanceID), vol)
}

// createVolumes creates the instance's volume directories. The instance directory is private
// to root; each volume is handed to the container's user by chownForContainer.
func (b *Broker) createVolumes(instanceID string, vols []string) error {
	if err := os.MkdirAll(b.instanceDir(instanceID), 0o700); err != nil {
		return volumeError(fmt.Errorf("creating the instance directory: %w", err))
	}
	for _, vol := range vols {
		if err := os.MkdirAll(b.volumeDir(instanceID, vol), 0o750); err != nil {
			return volumeError(fmt.Errorf("creating the directory of volume %s: %w", vol, err))
		}
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

// chownAll gives paths to uid:gid (containerOwner).
func chownAll(paths []string, uid, gid int) error {
	if uid == -1 && gid == -1 {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("giving %s to the container's user %d:%d: %w", filepath.Base(p), uid, gid, err)
		}
	}
	return nil
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

// removeVolumes deletes the instance's directory, or moves it into the retention directory
// (named <id>-<unix time>) when retention is configured.
func (b *Broker) removeVolumes(instanceID string) error {
	dir := b.instanceDir(instanceID)
	if !b.hasDirectory(instanceID) {
		return nil
	}
	if b.cfg.RetentionDir == "" {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the instance's data: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(b.cfg.RetentionDir, 0o700); err != nil {
		return fmt.Errorf("creating the retention directory: %w", err)
	}
	kept := filepath.Join(b.cfg.RetentionDir, fmt.Sprintf("%s-%d", containerName(instanceID), b.clock.Now().Unix()))
	if err := os.Rename(dir, kept); err != nil {
		return fmt.Errorf("moving the instance's data to the retention directory: %w", err)
	}
	b.log.Info("instance data kept for the retention period", "instance_id", instanceID, "directory", kept, "until", b.clock.Now().Add(b.cfg.Retention).Format(time.RFC3339))
	return nil
}

// purgeRetention deletes retained instance directories older than the retention period.
func (b *Broker) purgeRetention() {
	if b.cfg.RetentionDir == "" {
		return
	}
	entries, err := os.ReadDir(b.cfg.RetentionDir)
	if err != nil {
		return
	}
	cutoff := b.clock.Now().Add(-b.cfg.Retention).Unix()
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		deleted, err := strconv.ParseInt(e.Name()[i+1:], 10, 64)
		if i < 0 || err != nil || deleted > cutoff {
			continue
		}
		path := filepath.Join(b.cfg.RetentionDir, e.Name())
		if err := os.RemoveAll(path); err != nil {
			b.log.Error("retained instance data could not be purged", "directory", path, "error", err.Error())
			continue
		}
		b.log.Info("retained instance data purged", "directory", path)
	}
}
