package localdisk

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// ReadVolumes writes the persistent volumes vols of the instance's directory to w as a tar
// archive, with owners, modes and symbolic links as they are: each entry is named by the
// volume's path without its leading '/' ("data/dump.rdb"). A volume without a directory is
// left out.
func (d *Disk) ReadVolumes(_ context.Context, instanceID string, vols []string, w io.Writer) error {
	dir := d.Dir(instanceID)
	tw := tar.NewWriter(w)
	for _, vol := range vols {
		root := filepath.Join(dir, vol)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			return addToArchive(tw, p, filepath.ToSlash(rel), d)
		})
		if err != nil {
			return fmt.Errorf("archiving volume %s: %w", vol, err)
		}
	}
	return tw.Close()
}

// addToArchive writes one file, directory or symbolic link to tw under name.
func addToArchive(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err) // a socket or device: no data of a service
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	// Numeric owners only: the host's user names are not the container's.
	hdr.Uname, hdr.Gname = "", ""
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// ReplaceVolumes replaces the persistent volumes vols of the instance's directory by those of
// a tar archive that ReadVolumes wrote. Every entry must lie in one of vols; nothing is
// written outside dir, nor through a symbolic link the archive holds.
func (d *Disk) ReplaceVolumes(_ context.Context, instanceID string, vols []string, r io.Reader) error {
	dir := d.Dir(instanceID)
	for _, vol := range vols {
		if err := os.RemoveAll(filepath.Join(dir, vol)); err != nil {
			return fmt.Errorf("emptying volume %s: %w", vol, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive of the volumes: %w", err)
		}
		name, err := CheckEntry(hdr, vols)
		if err != nil {
			return err
		}
		if err := extractEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("restoring %s: %w", name, err)
		}
	}
}

// CheckEntry returns the cleaned name of an entry of a volumes archive, or why it may not be
// restored: it must be a file, directory or symbolic link in one of vols.
func CheckEntry(hdr *tar.Header, vols []string) (string, error) {
	name := path.Clean(hdr.Name)
	if !inVolumes(name, vols) {
		return "", fmt.Errorf("the archive holds %q, which is in none of the plan's persistent volumes", hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink:
		return name, nil
	}
	return "", fmt.Errorf("restoring %s: entry type %q is not a file, directory or symbolic link", name, hdr.Typeflag)
}

// inVolumes says whether name (relative, cleaned) is a volume or lies in one.
func inVolumes(name string, vols []string) bool {
	for _, vol := range vols {
		v := strings.Trim(path.Clean(vol), "/")
		if name == v || strings.HasPrefix(name, v+"/") {
			return true
		}
	}
	return false
}

// extractEntry creates one entry of the archive (CheckEntry) below root, with its owner and mode.
func extractEntry(root *os.Root, name string, hdr *tar.Header, content io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeSymlink:
		// Created as it was; the Root never follows it, wherever it points.
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return root.Lchown(name, hdr.Uid, hdr.Gid)
	default: // a regular file (CheckEntry)
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, content)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return err
		}
	}
	if err := root.Chown(name, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	return root.Chmod(name, mode) // the umask narrowed what Mkdir and OpenFile set
}
