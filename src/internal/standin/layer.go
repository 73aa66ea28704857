package standin

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// whiteoutPrefix marks, in a layer, a name that the layers below have and this one deletes
// (the OCI image spec's and Docker's whiteout files).
const whiteoutPrefix = ".wh."

// entry is what a layer says about one path: everything but the modification time, which a
// rebuild of the same file changes and nothing running in a container relies on.
type entry struct {
	typ          byte
	mode         int64 // the permission bits, with setuid, setgid and sticky
	uid, gid     int
	size         int64
	linkname     string // of a symbolic link
	devmaj, devm int64
	xattrs       string // sorted "name=value\x00" pairs
	sum          [32]byte
}

// same tells whether a path with entry e in the lower layer and u in the tree is unchanged.
// Directories compare without size; symbolic links without mode (Linux has none for them).
func (e entry) same(u entry) bool {
	if e.typ != u.typ || e.uid != u.uid || e.gid != u.gid || e.xattrs != u.xattrs {
		return false
	}
	switch e.typ {
	case tar.TypeSymlink:
		return e.linkname == u.linkname
	case tar.TypeChar, tar.TypeBlock:
		return e.mode == u.mode && e.devmaj == u.devmaj && e.devm == u.devm
	case tar.TypeReg:
		return e.mode == u.mode && e.size == u.size
	default:
		return e.mode == u.mode
	}
}

// diffLayer writes the changes of the tree at root against the layer lowerTar as a layer to
// out: what is new or changed in the tree (with its parent directories, so that the engine
// keeps their ownership and mode), and a whiteout for what the tree no longer has. It returns
// the diff ids of lowerTar and of the new layer.
func diffLayer(ctx context.Context, lowerTar, root, out string) (lowerID, diffID string, err error) {
	lower, lowerID, err := readLayer(lowerTar)
	if err != nil {
		return "", "", err
	}
	members, whiteouts, err := diffTree(lower, root)
	if err != nil {
		return "", "", err
	}
	// The whiteouts are empty files in the tree (which has nothing of that name: it is a
	// work copy): tar packs them as it packs the rest.
	for _, w := range whiteouts {
		if err := os.WriteFile(filepath.Join(root, w), nil, 0o644); err != nil {
			return "", "", err
		}
	}
	members = append(members, whiteouts...)
	slices.Sort(members) // parents before their children
	list := out + ".list"
	if err := os.WriteFile(list, []byte(strings.Join(members, "\x00")), 0o644); err != nil {
		return "", "", err
	}
	defer os.Remove(list)
	diffID, err = gnuTar(ctx, root, out, []string{"--no-recursion", "--null", "--verbatim-files-from", "--files-from=" + list})
	return lowerID, diffID, err
}

// readLayer reads a layer tar into its entries by path and returns them with its diff id.
func readLayer(layerPath string) (map[string]entry, string, error) {
	f, err := os.Open(layerPath)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	digest := sha256.New()
	tr := tar.NewReader(io.TeeReader(f, digest))
	entries := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("layer %s: %w", layerPath, err)
		}
		name := path.Clean(h.Name)
		if h.Typeflag == tar.TypeLink { // another name of a file before it
			target, ok := entries[path.Clean(h.Linkname)]
			if !ok {
				return nil, "", fmt.Errorf("layer %s: hard link %s to %s, which it lacks", layerPath, h.Name, h.Linkname)
			}
			entries[name] = target
			continue
		}
		e := entry{
			typ: h.Typeflag, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid,
			size: h.Size, linkname: h.Linkname, devmaj: h.Devmajor, devm: h.Devminor,
		}
		var xattrs []string
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				xattrs = append(xattrs, name+"="+v+"\x00")
			}
		}
		slices.Sort(xattrs)
		e.xattrs = strings.Join(xattrs, "")
		if h.Typeflag == tar.TypeReg {
			s := sha256.New()
			if _, err := io.Copy(s, tr); err != nil {
				return nil, "", err
			}
			copy(e.sum[:], s.Sum(nil))
		}
		entries[name] = e
	}
	// The rest of the file (tar's end padding) is part of the diff id too.
	if _, err := io.Copy(digest, f); err != nil {
		return nil, "", err
	}
	return entries, "sha256:" + hex.EncodeToString(digest.Sum(nil)), nil
}

// diffTree compares the tree at root with the layer's entries (the tree's paths relative to
// root, without the contents of excludedDirs, as layerTar packs them): members are the tree's
// paths a layer on top of lower must have, whiteouts the names of whiteout files for what
// lower has and the tree does not.
func diffTree(lower map[string]entry, root string) (members, whiteouts []string, err error) {
	emit := map[string]bool{}
	seen := map[string]bool{}
	dirs := map[string]bool{".": true} // the tree's directories
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), whiteoutPrefix) {
			return fmt.Errorf("%s: a name a layer cannot hold (it means a deletion)", rel)
		}
		u, ok, err := treeEntry(p)
		if err != nil || !ok {
			return err
		}
		seen[rel] = true
		if u.typ == tar.TypeDir && !slices.Contains(excludedDirs, rel) {
			dirs[rel] = true
		}
		l, inLower := lower[rel]
		switch {
		case !inLower || !l.same(u):
			emit[rel] = true
		case u.typ == tar.TypeReg:
			sum, err := fileSum(p)
			if err != nil {
				return err
			}
			if sum != l.sum {
				emit[rel] = true
			}
		}
		if d.IsDir() && slices.Contains(excludedDirs, rel) {
			return fs.SkipDir // the engine mounts its own
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for p := range lower {
		// A deleted name whose parent is gone too, or is no directory any more, goes with
		// its parent.
		if parent := path.Dir(p); !seen[p] && dirs[parent] {
			whiteouts = append(whiteouts, path.Join(parent, whiteoutPrefix+path.Base(p)))
		}
	}
	// Every parent of a member is a member too.
	for _, p := range append(slices.Collect(maps.Keys(emit)), whiteouts...) {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			emit[d] = true
		}
	}
	members = slices.Collect(maps.Keys(emit))
	slices.Sort(whiteouts)
	return members, whiteouts, nil
}

// treeEntry is the entry of the file at p as a layer would hold it; ok is false for what tar
// does not pack (sockets).
func treeEntry(p string) (e entry, ok bool, err error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return entry{}, false, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	e = entry{mode: int64(st.Mode & 0o7777), uid: int(st.Uid), gid: int(st.Gid)}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		e.typ, e.size = tar.TypeReg, st.Size
	case syscall.S_IFDIR:
		e.typ = tar.TypeDir
	case syscall.S_IFLNK:
		e.typ = tar.TypeSymlink
		if e.linkname, err = os.Readlink(p); err != nil {
			return entry{}, false, err
		}
		return e, true, nil // xattrs of the link's target are not the link's
	case syscall.S_IFCHR, syscall.S_IFBLK:
		e.typ = tar.TypeChar
		if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
			e.typ = tar.TypeBlock
		}
		e.devmaj, e.devm = int64((st.Rdev>>8)&0xfff|(st.Rdev>>32)&^0xfff), int64(st.Rdev&0xff|(st.Rdev>>12)&^0xff)
	case syscall.S_IFIFO:
		e.typ = tar.TypeFifo
	default:
		return entry{}, false, nil
	}
	e.xattrs, err = xattrsOf(p)
	return e, true, err
}

// xattrsOf returns the extended attributes of the file at p as entry.xattrs holds them.
func xattrsOf(p string) (string, error) {
	names, err := xattrGet(func(b []byte) (int, error) { return syscall.Listxattr(p, b) })
	if err == syscall.ENOTSUP || len(names) == 0 {
		return "", nil
	}
	if err != nil {
		return "", &os.PathError{Op: "listxattr", Path: p, Err: err}
	}
	var out []string
	for _, name := range strings.Split(strings.TrimRight(string(names), "\x00"), "\x00") {
		val, err := xattrGet(func(b []byte) (int, error) { return syscall.Getxattr(p, name, b) })
		if err != nil {
			return "", &os.PathError{Op: "getxattr " + name, Path: p, Err: err}
		}
		out = append(out, name+"="+string(val)+"\x00")
	}
	slices.Sort(out)
	return strings.Join(out, ""), nil
}

func fileSum(p string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(p)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// xattrGet calls get (listxattr or getxattr) with a buffer large enough for its answer.
func xattrGet(get func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := get(nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		m, err := get(buf)
		if err == syscall.ERANGE { // grew in between
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:m], nil
	}
}
