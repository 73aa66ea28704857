package localdisk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// VolumeFile is a file to write into one of an instance's volumes (Disk.WriteFiles).
type VolumeFile struct {
	Volume  string // the volume's container path, "/data"
	Name    string // relative to the volume, "conf/redis.conf"
	Content []byte
	Mode    fs.FileMode
	// Once leaves the file alone when anything has its name.
	Once bool
}

// Path is the file's container path, which errors name.
func (f VolumeFile) Path() string { return path.Join(f.Volume, f.Name) }

// Failed is the error of f's write that failed with err, for every disk.
func (f VolumeFile) Failed(err error) error { return fmt.Errorf("writing %s: %w", f.Path(), err) }

// WriteFiles writes files below the instance's volume directories, owned by uid:gid (-1 keeps
// root's), and says which it wrote: a file written once is left alone when anything has its
// name. A volume belongs to the service, which may have planted a symbolic link in it for the
// broker, root on the host, to write through: every path is resolved inside its volume
// (os.Root) and through no symbolic link, and a file is replaced by a rename, never written
// through whatever has its name. The first failure ends the writes.
func (d *Disk) WriteFiles(_ context.Context, instanceID string, files []VolumeFile, uid, gid int) ([]bool, error) {
	written := make([]bool, len(files))
	for i, f := range files {
		var err error
		if written[i], err = writeVolumeFile(d.path(instanceID, f.Volume), f, uid, gid); err != nil {
			return nil, f.Failed(err)
		}
	}
	return written, nil
}

// writeVolumeFile writes f below volumeDir and says whether it did.
func writeVolumeFile(volumeDir string, f VolumeFile, uid, gid int) (bool, error) {
	root, err := os.OpenRoot(volumeDir)
	if err != nil {
		return false, err
	}
	defer root.Close()
	name := f.Name
	if err := makeParents(root, name, uid, gid); err != nil {
		return false, err
	}
	switch info, err := root.Lstat(name); {
	case err == nil && f.Once:
		return false, nil
	case err == nil && info.IsDir():
		return false, errors.New("a directory has its name")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	dir, base := path.Split(name)
	temp := dir + "." + base + ".docker-broker"
	// What an interrupted write left, or whatever the service put there: it goes (a symbolic
	// link is removed, not followed).
	if err := root.Remove(temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := writeNewFile(root, temp, f, uid, gid); err != nil {
		_ = root.Remove(temp)
		return false, err
	}
	defer func() { _ = root.Remove(temp) }()
	if f.Once {
		// A link, unlike a rename, keeps whatever took the name meanwhile.
		err := root.Link(temp, name)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return err == nil, err
	}
	return true, root.Rename(temp, name)
}

// writeNewFile creates name, which must not exist (O_EXCL refuses a symbolic link too), with
// f's content, owner and mode, on disk before it gets its real name: a file written once and
// found empty after a crash would stay empty.
func writeNewFile(root *os.Root, name string, f VolumeFile, uid, gid int) error {
	file, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(f.Content)
	if err == nil && (uid != -1 || gid != -1) {
		err = file.Chown(uid, gid)
	}
	if err == nil {
		err = file.Chmod(f.Mode) // after the chown, and whatever the umask
	}
	if err == nil {
		err = file.Sync()
	}
	return errors.Join(err, file.Close())
}

// makeParents creates the missing directories above name, owned like the volume, and refuses a
// symbolic link among those that exist.
func makeParents(root *os.Root, name string, uid, gid int) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		info, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(p, 0o750); err != nil {
				return err
			}
			if uid != -1 || gid != -1 {
				if err := root.Lchown(p, uid, gid); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link, which the broker does not follow", p)
		case !info.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		}
	}
	return nil
}
