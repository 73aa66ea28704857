package broker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// volumeFile is one of the plan's files as rendered for an instance.
type volumeFile struct {
	catalog.File
	content []byte
}

// renderFiles renders the plan's files for inst: its facts and its credentials, which a file in
// the instance's volume may hold (the engine reads its secret from no file of its own).
func renderFiles(plan catalog.Plan, inst store.Instance, facts catalog.InstanceFacts) ([]volumeFile, error) {
	fileFacts := catalog.FileFacts{InstanceFacts: facts, Username: inst.Credentials.Username, Password: inst.Credentials.Password, DBName: inst.Credentials.DBName}
	var files []volumeFile
	for _, f := range plan.Container.Files {
		content, err := f.Render(fileFacts)
		if err != nil {
			return nil, fmt.Errorf("container.files %s: %w", f.Path, err)
		}
		files = append(files, volumeFile{File: f, content: content})
	}
	return files, nil
}

// fileDigest is what of a file the container spec's digest covers: the content only where the
// broker rewrites it, since a file written once stays as the service left it.
type fileDigest struct {
	Path    string
	Mode    fs.FileMode
	Once    bool
	Content []byte `json:",omitempty"`
}

func digestOfFiles(files []volumeFile) []fileDigest {
	var digests []fileDigest
	for _, f := range files {
		d := fileDigest{Path: f.Path, Mode: f.Mode, Once: f.Once}
		if !f.Once {
			d.Content = f.content
		}
		digests = append(digests, d)
	}
	return digests
}

// writeFiles writes the plan's files into the instance's volumes, owned by uid:gid (-1 keeps
// root's), before the container starts. A volume belongs to the service, which may have planted
// a symbolic link in it for the broker, root on the host, to write through: every path is
// resolved inside its volume (os.Root) and through no symbolic link, and a file is replaced by
// a rename, never written through whatever has its name.
func (b *Broker) writeFiles(instanceID string, files []volumeFile, uid, gid int) error {
	for _, f := range files {
		written, err := writeVolumeFile(b.volumeDir(instanceID, f.Volume), f, uid, gid)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return volumeError(err)
			}
			return forUser(fmt.Errorf("writing %s: %w", f.Path, err), "the service's file %s could not be written into its data directory: ask the operator, who finds the reason in the broker's log", f.Path)
		}
		if written {
			b.log.Info("file written into the instance's volume", "instance_id", instanceID, "path", f.Path)
		}
	}
	return nil
}

// writeVolumeFile writes f below volumeDir, the host directory of f.Volume, and says whether it
// did: a file written once is left alone when anything has its name.
func writeVolumeFile(volumeDir string, f volumeFile, uid, gid int) (bool, error) {
	root, err := os.OpenRoot(volumeDir)
	if err != nil {
		return false, err
	}
	defer root.Close()
	name := strings.TrimPrefix(f.Path, f.Volume+"/")
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
