package standin

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// cleanup lists what every image drops after debootstrap (globs relative to the root file
// system): package caches and lists, documentation, translations, logs of the build.
var cleanup = []string{
	"var/cache/apt/*.bin",
	"var/cache/apt/archives/*.deb",
	"var/cache/apt/archives/partial/*",
	"var/cache/debconf/*-old",
	"var/lib/apt/lists/*_*",
	"var/lib/dpkg/*-old",
	"var/log/*.log",
	"var/log/apt/*",
	"usr/share/doc/*",
	"usr/share/man/*",
	"usr/share/info/*",
	"usr/share/locale/*/LC_MESSAGES",
	"tmp/*",
	"var/tmp/*",
	"run/adduser",
}

// excludedDirs keep their directory but not their contents in the layer: the engine mounts
// its own.
var excludedDirs = []string{"dev", "proc", "sys"}

// build copies the base's root file system into a work directory under dir, installs the
// recipe's packages into it, and writes the image archive to path (through a temporary file
// in dir and an atomic rename): the base's layer, then the recipe's changes to it.
func (r Recipe) build(ctx context.Context, dir, path string, b base, log *slog.Logger) (err error) {
	script, err := r.entrypoint()
	if err != nil {
		return err
	}
	key, err := r.key()
	if err != nil {
		return err
	}
	if err := checkBuildTools(); err != nil {
		return err
	}

	work, err := os.MkdirTemp(dir, workPrefix(r.Name))
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := removeWorkDir(work); rmErr != nil {
			log.Warn("removing the build's work directory", "path", work, "error", rmErr)
			if err == nil {
				err = rmErr
			}
		}
	}()

	rootfs := filepath.Join(work, "rootfs")
	logPath := filepath.Join(work, "build.log")
	start := time.Now()
	// A copy, not hard links: dpkg and maintainer scripts write some files in place
	// (/var/log/dpkg.log, debconf's database), which would change the base under every
	// other build.
	if err := run(ctx, logPath, "cp", "-a", "--reflink=auto", "--", b.rootfs(), rootfs); err != nil {
		return err
	}
	log.Debug("base copied", "image", r.Name, "duration", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := install(ctx, logPath, rootfs, b, r.Packages); err != nil {
		return err
	}
	log.Info("packages installed", "image", r.Name, "duration", time.Since(start).Round(time.Millisecond))
	// The mounts were private to the install's namespace; make sure, before anything walks
	// the tree.
	if mounts, err := mountsUnder(rootfs); err != nil {
		return err
	} else if len(mounts) > 0 {
		return fmt.Errorf("the install left %s mounted", mounts[0])
	}

	if err := prepareRootfs(rootfs, r, script); err != nil {
		return err
	}
	layer := filepath.Join(work, "layer.tar")
	start = time.Now()
	baseLayer, diffID, err := diffLayer(ctx, b.layer(), rootfs, layer)
	if err != nil {
		return err
	}
	log.Debug("layer written", "image", r.Name, "duration", time.Since(start).Round(time.Millisecond))
	if err := removeWorkDir(rootfs); err != nil { // free the space before writing the archive
		return err
	}

	tmp, err := os.CreateTemp(dir, tmpPrefix(r.Name)+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	layers := []layerFile{{b.layer(), baseLayer}, {layer, diffID}}
	if err := writeArchive(tmp, r, key, layers, time.Now().UTC()); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// install installs packages (and what they depend on, not what they recommend, as
// debootstrap --include did) into rootfs, a copy of the base. The packages are downloaded
// into the base's shared directory of packages, one build at a time (apt locks the directory,
// without waiting); the install itself, the long part, runs in parallel with other builds'
// from hard links to them (never written: dpkg only reads them).
func install(ctx context.Context, logPath, rootfs string, b base, packages []string) error {
	return isolated(ctx, logPath, rootfs, `
debs=$1; debs_lock=$2; shift 2
copy_resolv_conf
archives="$root/var/cache/apt/archives"
mount --bind "$debs" "$archives"
flock "$debs_lock" chroot "$root" apt-get install --download-only -y --no-install-recommends -- "$@"
umount "$archives"
find "$debs" -maxdepth 1 -name '*.deb' -exec ln -t "$archives" -- {} +
chroot "$root" apt-get install -y --no-install-recommends -- "$@"
`, append([]string{b.debs(), b.debsLock()}, packages...)...)
}

// mirror is the Debian archive debootstrap downloads from.
func mirror() string {
	if m := os.Getenv("DEBIAN_MIRROR"); m != "" {
		return m
	}
	return DefaultMirror
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanRootfs turns a root file system as debootstrap or apt left it into the one of the
// images: the cleanup, the files only the build needs, the removals, and no trace of the
// build host's name or resolver.
func cleanRootfs(rootfs string, remove []string) error {
	patterns := append(append(slices.Clone(cleanup), slices.Sorted(maps.Keys(buildOnly))...), remove...)
	for _, pattern := range patterns {
		if err := removeGlob(rootfs, pattern); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{"etc/resolv.conf": "", "etc/hostname": "localhost\n"} {
		p := filepath.Join(rootfs, name)
		if err := checkInside(rootfs, p); err != nil {
			return err
		}
		_ = os.Remove(p) // may be a symlink into the build host
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// prepareRootfs turns a root file system with the recipe's packages into the image's: as
// cleanRootfs with the recipe's removals, plus the recipe's files and entrypoint.
func prepareRootfs(rootfs string, r Recipe, script []byte) error {
	if err := cleanRootfs(rootfs, r.Remove); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(r.Files)) {
		if err := writeFile(rootfs, name, r.Files[name]); err != nil {
			return err
		}
	}
	ep := filepath.Join(rootfs, EntrypointPath)
	if err := checkInside(rootfs, ep); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(ep), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(ep, script, 0o755); err != nil {
		return err
	}
	return os.Chmod(ep, 0o755) // whatever the umask
}

// writeFile writes one of the recipe's files (name relative to rootfs), creating its parent
// directories. checkInside first: no existing parent is a symbolic link, so neither the
// directories MkdirAll creates nor the file land outside the tree.
func writeFile(rootfs, name, content string) error {
	if name == "" || filepath.IsAbs(name) || strings.Contains(name, "..") {
		return fmt.Errorf("file %q must be relative to the root file system", name)
	}
	p := filepath.Join(rootfs, name)
	if err := checkInside(rootfs, p); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	_ = os.Remove(p) // a symbolic link is replaced, not followed
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Chmod(p, 0o644) // whatever the umask
}

// removeGlob removes what pattern (relative to rootfs) matches.
func removeGlob(rootfs, pattern string) error {
	if filepath.IsAbs(pattern) || strings.Contains(pattern, "..") {
		return fmt.Errorf("removal pattern %q must be relative to the root file system", pattern)
	}
	matches, err := filepath.Glob(filepath.Join(rootfs, pattern))
	if err != nil {
		return fmt.Errorf("removal pattern %q: %w", pattern, err)
	}
	for _, m := range matches {
		if err := checkInside(rootfs, m); err != nil {
			return err
		}
		if err := os.RemoveAll(m); err != nil {
			return err
		}
	}
	return nil
}

// checkInside refuses a path whose parent directories inside rootfs include a symbolic link:
// in the build's tree an absolute link (var/run -> /run) points into the build host.
func checkInside(rootfs, path string) error {
	rel, err := filepath.Rel(rootfs, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is not inside %s", path, rootfs)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	p := rootfs
	for _, part := range parts[:len(parts)-1] {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("refusing to touch %s: %s is a symbolic link", rel, p)
		}
	}
	return nil
}

// layerTar writes the root file system as an image layer and returns its diff id, the
// sha256 of the tar.
func layerTar(ctx context.Context, rootfs, out string) (string, error) {
	entries, err := os.ReadDir(rootfs)
	if err != nil {
		return "", err
	}
	args := []string{"--sort=name", "--anchored"}
	for _, d := range excludedDirs {
		args = append(args, "--exclude="+d+"/*")
	}
	args = append(args, "--")
	for _, e := range entries {
		args = append(args, e.Name())
	}
	return gnuTar(ctx, rootfs, out, args)
}

// gnuTar writes the members args name (relative to dir) as an image layer with GNU tar, which
// keeps numeric ownership, extended attributes, hard and symbolic links right, and returns
// its diff id.
func gnuTar(ctx context.Context, dir, out string, args []string) (string, error) {
	cmd := exec.CommandContext(ctx, "tar", append([]string{
		"--create", "--file=" + out, "--directory=" + dir,
		"--numeric-owner", "--xattrs", "--format=posix",
		"--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
	}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tar of the root file system: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return fileDigest(out)
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// imageConfig is the image configuration of the Docker image / OCI image specs.
type imageConfig struct {
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Created      time.Time       `json:"created"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
	History      []history       `json:"history"`
}

type containerConfig struct {
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment,omitempty"`
}

// manifestEntry is one image of a `docker save` archive's manifest.json.
type manifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// layerFile is one layer of an image: its tar and that tar's sha256.
type layerFile struct {
	path, diffID string
}

// config returns the image configuration of the recipe's image with the given layers: the
// base's, then the recipe's.
func (r Recipe) config(key string, diffIDs []string, created time.Time) imageConfig {
	ports := map[string]struct{}{}
	for _, p := range r.ExposedPorts {
		ports[p] = struct{}{}
	}
	if len(ports) == 0 {
		ports = nil
	}
	return imageConfig{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      created,
		Config: containerConfig{
			Entrypoint:   []string{EntrypointPath},
			Cmd:          r.Cmd,
			Env:          r.Env,
			ExposedPorts: ports,
			WorkingDir:   r.WorkingDir,
			StopSignal:   r.StopSignal,
			Labels:       map[string]string{LabelName: r.Name, LabelKey: key[:12]},
		},
		RootFS: rootFS{Type: "layers", DiffIDs: diffIDs},
		History: []history{{
			Created:   created,
			CreatedBy: "debootstrap --variant=minbase " + Suite,
			Comment:   "docker-broker stand-in images' base",
		}, {
			Created: created,
			CreatedBy: fmt.Sprintf("apt-get install --no-install-recommends %s; add %s as %s",
				strings.Join(r.Packages, " "), r.Entrypoint, EntrypointPath),
			Comment: "docker-broker stand-in image " + r.Name,
		}},
	}
}

// writeArchive writes a `docker save` archive of one image: the image config (<sha256 of the
// config>.json), the layers (<layer id>/layer.tar, in order) and manifest.json.
func writeArchive(w io.Writer, r Recipe, key string, layers []layerFile, created time.Time) error {
	var diffIDs, layerNames []string
	for _, l := range layers {
		diffIDs = append(diffIDs, l.diffID)
		layerNames = append(layerNames, strings.TrimPrefix(l.diffID, "sha256:")+"/layer.tar")
	}
	config, err := json.Marshal(r.config(key, diffIDs, created))
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	tags := append([]string{}, r.Tags...)
	manifest, err := json.Marshal([]manifestEntry{{Config: configName, RepoTags: tags, Layers: layerNames}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := file(configName, config); err != nil {
		return err
	}
	for i, l := range layers {
		layerID := strings.TrimSuffix(layerNames[i], "/layer.tar")
		if err := tw.WriteHeader(&tar.Header{Name: layerID + "/", Mode: 0o755, ModTime: created, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
		if err := file(layerID+"/VERSION", []byte("1.0")); err != nil {
			return err
		}
		if err := copyLayer(tw, layerNames[i], l.path, created); err != nil {
			return err
		}
	}
	if err := file("manifest.json", manifest); err != nil {
		return err
	}
	return tw.Close()
}

// copyLayer adds the layer tar at path to the archive as name.
func copyLayer(tw *tar.Writer, name, path string, created time.Time) error {
	layer, err := os.Open(path)
	if err != nil {
		return err
	}
	defer layer.Close()
	fi, err := layer.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), ModTime: created, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if n, err := io.Copy(tw, layer); err != nil {
		return err
	} else if n != fi.Size() {
		return fmt.Errorf("layer %s changed while being archived", path)
	}
	return nil
}
