// Package localdisk keeps instances' directories on the broker's own disk, beside the plain
// engine that bind-mounts them: <root>/cf-<id>, as the original broker laid them out (so its
// data can be adopted in place), and deleted ones in <retention>/cf-<id>-<unix time>.
package localdisk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Disk is a data directory and a retention directory on the broker's file system.
type Disk struct {
	root, retention string
}

// New returns the disk of the data directory root; retention, when not empty, receives the
// directories of deleted instances.
func New(root, retention string) *Disk {
	return &Disk{root: root, retention: retention}
}

// DirName is the name of an instance's directory in the data directory.
func DirName(instanceID string) string { return "cf-" + instanceID }

// InstanceOf is the instance whose directory has the name, if any.
func InstanceOf(name string) (string, bool) { return strings.CutPrefix(name, "cf-") }

// RetainedName is the name of a deleted instance's directory in the retention directory.
func RetainedName(instanceID string, at time.Time) string {
	return fmt.Sprintf("%s-%d", DirName(instanceID), at.Unix())
}

// RetainedBefore says whether name is a retained directory that was deleted before cutoff.
func RetainedBefore(name string, cutoff time.Time) bool {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return false
	}
	deleted, err := strconv.ParseInt(name[i+1:], 10, 64)
	return err == nil && deleted <= cutoff.Unix()
}

// Dir is the instance's directory.
func (d *Disk) Dir(instanceID string) string {
	return filepath.Join(d.root, DirName(instanceID))
}

// path is rel, a path relative to the instance's directory, on this disk. Ids and relative
// paths are validated by the catalog and the broker (no ".."), so it stays inside the directory.
func (d *Disk) path(instanceID, rel string) string {
	return filepath.Join(d.Dir(instanceID), rel)
}

// Exists says whether the instance has a directory.
func (d *Disk) Exists(_ context.Context, instanceID string) (bool, error) {
	_, err := os.Stat(d.Dir(instanceID))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// MakeDirs creates the instance's directory, private to root, and the directories rels in it.
func (d *Disk) MakeDirs(_ context.Context, instanceID string, rels []string) error {
	if err := os.MkdirAll(d.Dir(instanceID), 0o700); err != nil {
		return fmt.Errorf("creating the instance directory: %w", err)
	}
	for _, rel := range rels {
		if err := os.MkdirAll(d.path(instanceID, rel), 0o750); err != nil {
			return fmt.Errorf("creating the directory %s: %w", rel, err)
		}
	}
	return nil
}

// Chown gives the paths rels of the instance's directory to uid:gid (-1 keeps an id).
func (d *Disk) Chown(_ context.Context, instanceID string, rels []string, uid, gid int) error {
	for _, rel := range rels {
		if err := os.Chown(d.path(instanceID, rel), uid, gid); err != nil {
			return fmt.Errorf("giving %s to the container's user %d:%d: %w", rel, uid, gid, err)
		}
	}
	return nil
}

// WriteSecrets writes the files of secrets (values by path relative to the instance's
// directory), readable by their owner only, in directories private to root.
func (d *Disk) WriteSecrets(_ context.Context, instanceID string, secrets map[string][]byte) error {
	for _, rel := range slices.Sorted(maps.Keys(secrets)) {
		if err := d.writeSecret(instanceID, rel, secrets[rel]); err != nil {
			return err
		}
	}
	return nil
}

// writeSecret writes value to the file rel of the instance's directory (WriteSecrets).
func (d *Disk) writeSecret(instanceID, rel string, value []byte) error {
	p := d.path(instanceID, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("creating the directory of the secret file %s: %w", rel, err)
	}
	if err := os.WriteFile(p, value, 0o600); err != nil {
		return fmt.Errorf("writing the secret file %s: %w", rel, err)
	}
	// WriteFile keeps the mode of a file that exists.
	return os.Chmod(p, 0o600)
}

// Remove deletes the instance's directory, if any.
func (d *Disk) Remove(_ context.Context, instanceID string) error {
	return os.RemoveAll(d.Dir(instanceID))
}

// Retain moves the instance's directory into the retention directory and says where it is.
func (d *Disk) Retain(_ context.Context, instanceID string, at time.Time) (string, error) {
	if d.retention == "" {
		return "", errors.New("no retention directory is configured")
	}
	if err := os.MkdirAll(d.retention, 0o700); err != nil {
		return "", fmt.Errorf("creating the retention directory: %w", err)
	}
	kept := filepath.Join(d.retention, RetainedName(instanceID, at))
	if err := os.Rename(d.Dir(instanceID), kept); err != nil {
		return "", err
	}
	return kept, nil
}

// PurgeRetained deletes the retained directories deleted before cutoff and tells purged of
// each, with the error of its removal, if any.
func (d *Disk) PurgeRetained(_ context.Context, cutoff time.Time, purged func(dir string, err error)) {
	if d.retention == "" {
		return
	}
	entries, err := os.ReadDir(d.retention)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !RetainedBefore(e.Name(), cutoff) {
			continue
		}
		p := filepath.Join(d.retention, e.Name())
		purged(p, os.RemoveAll(p))
	}
}

// Instances lists the instances that have a directory.
func (d *Disk) Instances(context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var ids []string
	for _, e := range entries {
		if id, ok := InstanceOf(e.Name()); ok && e.IsDir() {
			ids = append(ids, id)
		}
	}
	return ids, err
}

// NearlyFull says whether the file system of the data directory has under 1% free.
func (d *Disk) NearlyFull(context.Context, string) bool {
	var fs syscall.Statfs_t
	if syscall.Statfs(d.root, &fs) != nil || fs.Blocks == 0 {
		return false
	}
	return fs.Bavail*100 < fs.Blocks
}
