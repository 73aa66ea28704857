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

// WriteFile writes content to name below the instance's volume directory vol, owned by
// uid:gid (-1 keeps root's), with mode, and says whether it did: a file written once is left
// alone when anything has its name. A volume belongs to the service, which may have planted a
// symbolic link in it for the broker, root on the host, to write through: every path is resolved
// inside its volume (os.Root) and through no symbolic link, and a file is replaced by a rename,
// never written through whatever has its name.
func (d *Disk) WriteFile(_ context.Context, instanceID, vol, name string, content []byte, mode fs.FileMode, once bool, uid, gid int) (bool, error) {
	return writeVolumeFile(d.path(instanceID, vol), volumeFile{name: name, content: content, mode: mode, once: once}, uid, gid)
}

// volumeFile is a file to write into a volume.
type volumeFile struct {
	name    string // relative to the volume
	content []byte
	mode    fs.FileMode
	once    bool
}

// writeVolumeFile writes f below volumeDir and says whether it did.
func writeVolumeFile(volumeDir string, f volumeFile, uid, gid int) (bool, error) {
	root, err := os.OpenRoot(volumeDir)
	if err != nil {
		return false, err
	}
	defer root.Close()
	name := f.name
	if err := makeParents(root, name, uid, gid); err != nil {
		return false, err
	}
	switch info, err := root.Lstat(name); {
	case err == nil && f.once:
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
	if f.once {
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
func writeNewFile(root *os.Root, name string, f volumeFile, uid, gid int) error {
	file, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(f.content)
	if err == nil && (uid != -1 || gid != -1) {
		err = file.Chown(uid, gid)
	}
	if err == nil {
		err = file.Chmod(f.mode) // after the chown, and whatever the umask
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
